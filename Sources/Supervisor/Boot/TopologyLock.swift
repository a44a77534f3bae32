#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shared

/// One run per topology name: an exclusive flock on
/// `/dev/shm/tilectl.<name>.lock`, which the kernel drops when the holder
/// dies however it dies. Holding it is what makes removing a previous run's
/// leftover workspaces safe.
///
/// The file also describes the run for `tilectl monitor`: the supervisor's
/// pid on the first line, then the resolved topology and layout (JSON).
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
                let bytes: [UInt8] = (try? fd.readToEnd(limit: 1 << 26, what: path)) ?? []
                let owner = String(decoding: bytes.prefix { byte in byte != 0x0A }, as: UTF8.self).trimmingWhitespace
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

    /// Writes the run's description after the pid line.
    func describe(_ handoff: TopologyHandoff) throws {
        let json = try JSONEncoder().encode(handoff)
        var text = Array("\(getpid())\n".utf8)
        text += json
        text.append(0x0A)
        _ = ftruncate(fd.rawValue, 0)
        _ = text.withUnsafeBytes { pwrite(fd.rawValue, $0.baseAddress, $0.count, 0) }
    }

    /// Unlinks the file, then drops the lock.
    func release() {
        unlink(path)
        fd.close()
    }
}

/// A running topology as `monitor` finds it, from its lock file.
struct RunDescriptor {
    let supervisorPid: Int32
    let handoff: TopologyHandoff

    enum Lookup {
        case running(RunDescriptor)
        /// The lock is held, but the description is not written yet.
        case starting
        case notRunning
    }

    /// Reads the description of topology `name`, if a supervisor holds its
    /// lock (seen in /proc/locks, so looking never takes the lock itself).
    static func find(_ name: String) -> Lookup {
        let path = TopologyLock.path(for: name)
        var st = stat()
        guard stat(path, &st) == 0, isLocked(device: st.st_dev, inode: st.st_ino),
              let text = try? Files.read(path, limit: 1 << 26) else { return .notRunning }
        let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard lines.count == 2, let pid = Int32(String(lines[0]).trimmingWhitespace) else { return .starting }
        guard let handoff = try? JSONDecoder().decode(TopologyHandoff.self, from: Data(lines[1].utf8)) else { return .starting }
        return .running(RunDescriptor(supervisorPid: pid, handoff: handoff))
    }

    /// Whether /proc/locks lists a lock on that file: `1: FLOCK ADVISORY WRITE 123 00:1a:4567 0 EOF`.
    static func isLocked(device: dev_t, inode: ino_t) -> Bool {
        guard let locks = try? Files.read("/proc/locks") else { return false }
        let major = (device >> 8) & 0xFFF, minor = (device & 0xFF) | ((device >> 12) & 0xFFF00)
        let want = String(format: "%02x:%02x:%lu", UInt(major), UInt(minor), UInt(inode))
        return locks.split(separator: "\n").contains { $0.split(separator: " ").contains { $0 == want } }
    }
}
