#if canImport(Glibc)
import Glibc
#endif

/// hugetlbfs mounts: where workspaces backed by huge pages live.
public enum Hugetlbfs {
    /// The mount point for `size` under the topology's hugetlbfs directory.
    public static func mountPoint(base: String, _ size: PageSize) -> String {
        size.directory(hugetlbfsBase: base)
    }

    /// Whether a hugetlbfs of page size `size` is mounted exactly at `path`.
    public static func isMounted(at path: String, pageSize size: PageSize) -> Bool {
        guard let mounts = try? Files.read("/proc/self/mounts") else { return false }
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 4, f[2] == "hugetlbfs" else { continue }
            // Mount points escape blanks as octal (\040).
            let point = String(f[1]).replacing("\\040", with: " ")
            guard point == path else { continue }
            let opts = f[3].split(separator: ",")
            let pagesize = opts.first { $0.hasPrefix("pagesize=") }.map { $0.dropFirst("pagesize=".count) }
            return pagesize.map { String($0) == size.mountOption } ?? (size == .huge)
        }
        return false
    }

    /// Creates the mount point and mounts hugetlbfs of `size` on it. Needs
    /// CAP_SYS_ADMIN in the initial namespace.
    public static func mount(at path: String, pageSize size: PageSize) throws {
        try Files.makeDirectories(path, mode: 0o755)
        let opts = "pagesize=\(size.mountOption!),mode=0755"
        try Sys.check("mount(hugetlbfs, \(path), \(opts))", Glibc.mount("none", path, "hugetlbfs", 0, opts))
    }

    public static func unmount(at path: String) throws {
        try Sys.check("umount(\(path))", umount2(path, 0))
        rmdir(path)
    }
}

/// The kernel's pool of huge pages of one size.
public struct HugepagePool: Sendable, Equatable {
    public let pageSize: PageSize
    /// nr_hugepages: pages reserved for hugetlbfs.
    public let total: Int
    /// free_hugepages: not backing any file.
    public let free: Int
    /// resv_hugepages: free, but promised to mappings already made.
    public let reserved: Int

    /// Pages a new workspace can still get.
    public var available: Int { max(0, free - reserved) }

    public static func read(_ size: PageSize) throws -> HugepagePool {
        guard let dir = size.sysfsPool else { preconditionFailure("normal pages have no pool") }
        return HugepagePool(
            pageSize: size,
            total: try Files.readInt("\(dir)/nr_hugepages"),
            free: try Files.readInt("\(dir)/free_hugepages"),
            reserved: try Files.readInt("\(dir)/resv_hugepages"))
    }

    /// Asks the kernel for `total` pages of `size` and returns how many it
    /// now has (fewer when memory is too fragmented to assemble them).
    @discardableResult
    public static func setTotal(_ size: PageSize, _ total: Int) throws -> Int {
        guard let dir = size.sysfsPool else { preconditionFailure("normal pages have no pool") }
        try Files.write("\(dir)/nr_hugepages", "\(max(0, total))\n")
        return try Files.readInt("\(dir)/nr_hugepages")
    }

    /// Whether this kernel offers pages of `size` at all.
    public static func supported(_ size: PageSize) -> Bool {
        size.sysfsPool.map { Files.exists($0) } ?? true
    }
}
