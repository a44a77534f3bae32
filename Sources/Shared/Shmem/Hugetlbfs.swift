#if canImport(Glibc)
import Glibc
#endif
import CShim

/// hugetlbfs mounts: where workspaces backed by huge pages live.
package enum Hugetlbfs {
    /// The mount point for `size` under the topology's hugetlbfs directory.
    package static func mountPoint(base: String, _ size: PageSize) -> String {
        size.directory(hugetlbfsBase: base)
    }

    /// Whether a hugetlbfs of page size `size` is mounted exactly at `path`.
    package static func isMounted(at path: String, pageSize size: PageSize) -> Bool {
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
    /// CAP_SYS_ADMIN in the initial namespace. The mount point is reached
    /// without following a link and must be root's alone, and the mount is
    /// made on the directory's descriptor, so a link planted on the way
    /// cannot send root's mount anywhere else.
    package static func mount(at path: String, pageSize size: PageSize) throws {
        let dir = try TrustedDirectory.open(path, create: 0o755)
        defer { dir.close() }
        let opts = "pagesize=\(size.mountOption!),mode=0755"
        try Sys.check("mount(hugetlbfs, \(path), \(opts))", Glibc.mount("none", dir.procPath, "hugetlbfs", 0, opts))
    }

    /// Unmounts it (the mount point itself, never through a link) and
    /// removes the then empty directory.
    package static func unmount(at path: String) throws {
        try Sys.check("umount(\(path))", umount2(path, Int32(UMOUNT_NOFOLLOW)))
        TrustedDirectory.removeEmpty(path)
    }
}

/// The kernel's pool of huge pages of one size: the system's, or one NUMA
/// node's share of it (its pages count in the system's too).
package struct HugepagePool: Sendable, Equatable {
    package let pageSize: PageSize
    /// The node whose share this is; nil for the system's pool.
    package let node: Int?
    /// nr_hugepages: pages reserved for hugetlbfs.
    package let total: Int
    /// free_hugepages: not backing any file.
    package let free: Int
    /// resv_hugepages: free, but promised to mappings already made (the
    /// kernel keeps no per-node count: 0 for a node).
    package let reserved: Int
    /// surplus_hugepages: in use, but already given back: each returns to
    /// the kernel when its last mapping goes.
    package let surplus: Int

    /// Pages a new workspace can still get.
    package var available: Int { max(0, free - reserved) }
    /// The pool's size once every surplus page has gone back.
    package var persistent: Int { max(0, total - surplus) }

    /// The NUMA nodes (those with memory, `NumaNodes.host`) with a pool of
    /// `size`; none without NUMA support.
    package static func nodes(_ size: PageSize) -> [Int] {
        NumaNodes.host.withMemory.sorted().filter { Files.exists(directory(size, node: $0)) }
    }

    /// Where the kernel keeps the pool's counts.
    package static func directory(_ size: PageSize, node: Int?) -> String {
        guard let dir = size.sysfsPool else { preconditionFailure("normal pages have no pool") }
        guard let node else { return dir }
        return "/sys/devices/system/node/node\(node)/hugepages/" + dir.split(separator: "/").last!
    }

    package static func read(_ size: PageSize, node: Int? = nil) throws -> HugepagePool {
        let dir = directory(size, node: node)
        return HugepagePool(
            pageSize: size, node: node,
            total: try Files.readInt("\(dir)/nr_hugepages"),
            free: try Files.readInt("\(dir)/free_hugepages"),
            reserved: node == nil ? try Files.readInt("\(dir)/resv_hugepages") : 0,
            surplus: try Files.readInt("\(dir)/surplus_hugepages"))
    }

    /// Asks the kernel for `count` more free pages than `pool` (just read)
    /// has, in the same pool. Returns how many persistent pages the pool
    /// gained, what to `shrink` by later, and the pool as it is now. The
    /// gain can be fewer than asked (memory short or fragmented), or more:
    /// the kernel first turns surplus pages, still mapped by someone, back
    /// into persistent ones, and those are this caller's to give back too.
    package static func grow(_ pool: HugepagePool, by count: Int) throws -> (gained: Int, now: HugepagePool) {
        try setTarget(pool.pageSize, node: pool.node, pool.total + count)
        let now = try read(pool.pageSize, node: pool.node)
        return (max(0, now.persistent - pool.persistent), now)
    }

    /// Gives `count` persistent pages back to the kernel, from the pool
    /// they were added to. Free pages go at once; pages still mapped (a
    /// `monitor` watching the workspaces, a process not yet gone) become
    /// surplus and go when they are unmapped. (Shrinking only by the free
    /// ones would keep the rest reserved for good.)
    package static func shrink(_ size: PageSize, node: Int? = nil, by count: Int) throws {
        let pool = try read(size, node: node)
        try setTarget(size, node: node, pool.persistent - count)
    }

    /// Writes nr_hugepages: the persistent pages the kernel is to keep.
    private static func setTarget(_ size: PageSize, node: Int?, _ pages: Int) throws {
        try Files.write("\(directory(size, node: node))/nr_hugepages", "\(max(0, pages))\n")
    }

    /// Whether this kernel offers pages of `size` at all.
    package static func supported(_ size: PageSize) -> Bool {
        size.sysfsPool.map { Files.exists($0) } ?? true
    }
}
