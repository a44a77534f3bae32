#if canImport(Glibc)
import Glibc
#endif
import Shared

/// One run per topology name: an exclusive flock on
/// `/dev/shm/tilectl.<name>.lock`, which the kernel drops when the holder
/// dies however it dies. Holding it is what makes removing a previous run's
/// leftover workspaces safe.
struct TopologyLock {
    let path: String
    let fd: FileDescriptor

    static func path(for name: String) -> String { "/dev/shm/tilectl.\(name).lock" }

    static func acquire(_ name: String) throws -> TopologyLock {
        let path = Self.path(for: name)
        while true {
            let fd = try FileDescriptor.open(path, O_RDWR | O_CREAT, mode: 0o600)
            if flock(fd.rawValue, LOCK_EX | LOCK_NB) != 0 {
                let e = errno
                let owner = (try? fd.readToEnd(limit: 64, what: path)).map { String(decoding: $0, as: UTF8.self).trimmingWhitespace } ?? ""
                fd.close()
                if e == EWOULDBLOCK {
                    throw RuntimeFailure("topology \"\(name)\" is already running"
                        + (owner.isEmpty ? "" : " (supervisor pid \(owner))")
                        + "; stop it first, or give this topology another name")
                }
                throw SystemCallError("flock(\(path))", errno: e)
            }
            // The previous holder may have unlinked the file between our open
            // and our lock: then we locked an orphan inode. Try again.
            var a = stat(), b = stat()
            if fstat(fd.rawValue, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev {
                _ = ftruncate(fd.rawValue, 0)
                _ = pwrite(fd.rawValue, "\(getpid())\n", "\(getpid())\n".utf8.count, 0)
                return TopologyLock(path: path, fd: fd)
            }
            fd.close()
        }
    }

    /// Unlinks the file, then drops the lock.
    func release() {
        unlink(path)
        fd.close()
    }
}
