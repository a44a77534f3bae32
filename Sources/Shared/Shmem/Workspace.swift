#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A mapped range of a workspace. Whoever joined it leaves it.
public struct WorkspaceMapping: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let length: Int
    public let writable: Bool

    /// munmap; the mapping must not be used afterwards.
    public func leave() { munmap(base, length) }

    public func slots(at offset: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(offset >= 0 && offset % 8 == 0 && offset < length)
        return (base + offset).assumingMemoryBound(to: UInt64.self)
    }
}

/// Workspace lifecycle: `create` (new + map, by the supervisor), `join`
/// (map a range, by anyone), `WorkspaceMapping.leave`, `delete` (unlink).
/// The memory outlives the file name until the last mapping is gone.
public enum Workspace {
    /// Creates the backing file (it must not exist), sizes it, allocates
    /// every page now so a shortage fails here with a clear message and not
    /// later with SIGBUS, and maps it read-write. New pages read as zero.
    public static func create(_ spec: WorkspaceSpec) throws -> WorkspaceMapping {
        let fd = try FileDescriptor.open(spec.path, O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
        defer { fd.close() }
        do {
            try Sys.retry("ftruncate(\(spec.path), \(spec.footprint))", ftruncate(fd.rawValue, off_t(spec.footprint)))
            try Sys.retry("fallocate(\(spec.path), \(spec.footprint))",
                          cshim_fallocate(fd.rawValue, 0, Int64(spec.footprint)))
            return try map(fd, spec, offset: 0, length: spec.footprint, writable: true)
        } catch let e as SystemCallError {
            unlink(spec.path)
            if spec.pageSize != .normal && (e.errno == ENOSPC || e.errno == ENOMEM) {
                throw WorkspaceError.notEnoughPages(spec)
            }
            throw e
        }
    }

    /// Maps `[offset, offset + length)` of an existing workspace. A
    /// read-only join opens the file read-only, so the mapping can never be
    /// made writable later (mprotect fails with EACCES).
    public static func join(_ spec: WorkspaceSpec, offset: Int = 0, length: Int? = nil,
                            writable: Bool) throws -> WorkspaceMapping {
        let fd = try FileDescriptor.open(spec.path, writable ? O_RDWR : O_RDONLY)
        defer { fd.close() }
        return try map(fd, spec, offset: offset, length: length ?? spec.footprint - offset, writable: writable)
    }

    /// Unlinks the backing file; a file that is already gone is not an error.
    public static func delete(_ spec: WorkspaceSpec) {
        unlink(spec.path)
    }

    private static func map(_ fd: FileDescriptor, _ spec: WorkspaceSpec, offset: Int, length: Int,
                            writable: Bool) throws -> WorkspaceMapping {
        precondition(offset % spec.pageSize.bytes == 0 && length > 0 && length % spec.pageSize.bytes == 0,
                     "mapping of \(spec.name) not page-aligned")
        let prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        let p = mmap(nil, length, prot, MAP_SHARED, fd.rawValue, off_t(offset))
        guard let p, p != MAP_FAILED else {
            let e = errno
            if spec.pageSize != .normal && e == ENOMEM { throw WorkspaceError.notEnoughPages(spec) }
            throw SystemCallError("mmap(\(spec.path), offset \(offset), \(length) bytes, \(writable ? "rw" : "ro"))", errno: e)
        }
        return WorkspaceMapping(base: p, length: length, writable: writable)
    }

    /// Removes every workspace file of topology `name` in `directories`: the
    /// leftovers of a run that was killed before it could clean up. Only
    /// called while holding the topology's lock, so no live run owns them.
    @discardableResult
    public static func removeLeftovers(topologyName name: String, directories: [String]) -> [String] {
        let prefix = TopologyLayout.filePrefix(name)
        var removed: [String] = []
        for dir in directories {
            guard let d = opendir(dir) else { continue }
            defer { closedir(d) }
            while let entry = readdir(d) {
                let file = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if file.hasPrefix(prefix) && file.hasSuffix(".wksp") {
                    let path = "\(dir)/\(file)"
                    if unlink(path) == 0 { removed.append(path) }
                }
            }
        }
        return removed
    }
}

public enum WorkspaceError: Error, CustomStringConvertible {
    case notEnoughPages(WorkspaceSpec)

    public var description: String { description(config: "<file>") }

    public func description(config: String) -> String {
        switch self {
        case .notEnoughPages(let w):
            "not enough free \(w.pageSize.label) pages for workspace \(w.name) (\(w.pageCount) needed); "
                + "reserve them with `sudo tilectl configure init --config \(config)`"
        }
    }
}
