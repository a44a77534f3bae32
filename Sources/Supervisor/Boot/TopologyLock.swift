#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import Shared

/// Where tilectl keeps what only it may write: `/run/tilectl` when run as
/// root (`$XDG_RUNTIME_DIR/tilectl`, or `/tmp/tilectl-<uid>`, otherwise),
/// owned by the user, reached without following a link (`TrustedDirectory`).
/// Inside: one directory per topology name (`<name>/`, mode 0700) holding
/// its lock, and `uid/` for the locks of the tile uids runs have reserved.
enum RuntimeRoot {
    static var path: String {
        let uid = geteuid()
        if uid == 0 { return "/run/tilectl" }
        // $XDG_RUNTIME_DIR only when it is this user's (a variable left
        // over from another user's session is not).
        var st = stat()
        if let xdg = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], xdg.hasPrefix("/"),
            lstat(xdg, &st) == 0, st.st_uid == uid, st.st_mode & S_IFMT == S_IFDIR
        {
            return xdg + "/tilectl"
        }
        return "/tmp/tilectl-\(uid)"
    }

    static func open(create: Bool) throws -> TrustedDirectory {
        do {
            return try TrustedDirectory.open(path, create: create ? (geteuid() == 0 ? 0o755 : 0o700) : nil)
        } catch let e as RuntimeError where e.path != nil {
            throw e.within("the runtime directory")
        }
    }

    /// `<root>/<name>/`, the topology's own directory.
    /// `<root>/<name>/`, the topology's own directory, with the root.
    static func topology(_ name: String, create: Bool) throws -> (root: TrustedDirectory, directory: TrustedDirectory) {
        let root = try open(create: create)
        do {
            return (root, try root.subdirectory(name, create: create ? 0o700 : nil))
        } catch let e as RuntimeError where e.path != nil {
            root.close()
            throw e.within("the topology's runtime directory")
        }
    }
}

/// One run per topology name: an exclusive flock on `<runtime>/<name>/lock`,
/// which the kernel drops when the holder dies however it dies. Holding it
/// is what makes removing a previous run's leftover workspaces safe.
///
/// The file also describes the run for `tilectl monitor`: the supervisor's
/// pid on the first line, then the resolved topology and layout (JSON).
/// Only the user who runs the topology can write it (its directory is 0700),
/// so what `monitor` reads there, paths included, is what the supervisor
/// wrote.
struct TopologyLock {
    let root: TrustedDirectory
    let directory: TrustedDirectory
    let name: String
    let fd: FileDescriptor
    static let file = "lock"

    static func path(for name: String) -> String { "\(RuntimeRoot.path)/\(name)/\(file)" }

    static func acquire(_ name: String) throws -> TopologyLock {
        var attempts = 0
        var (root, dir) = try RuntimeRoot.topology(name, create: true)
        while true {
            let fd: FileDescriptor
            do {
                fd = try dir.openChecked(file, O_RDWR | O_CREAT, mode: 0o600)
            } catch let e as RuntimeError where e.path != nil && e.errno == ENOENT && attempts < 10 {
                // The run before us removed the directory as we opened it.
                attempts += 1
                dir.close()
                root.close()
                (root, dir) = try RuntimeRoot.topology(name, create: true)
                continue
            } catch let e as RuntimeError where e.path != nil {
                dir.close()
                root.close()
                throw e.within("the topology lock")
            }
            if flock(fd.rawValue, LOCK_EX | LOCK_NB) != 0 {
                let e = errno
                let bytes: [UInt8] = (try? fd.readToEnd(limit: 1 << 26, what: file)) ?? []
                let owner = String(decoding: bytes.prefix { byte in byte != 0x0A }, as: UTF8.self).trimmingWhitespace
                fd.close()
                dir.close()
                root.close()
                if e == EWOULDBLOCK {
                    throw RuntimeError(
                        "topology \"\(name)\" is already running"
                            + (owner.isEmpty ? "" : " (supervisor pid \(owner))")
                            + "; stop it first, or give this topology another name")
                }
                throw RuntimeError(call: "flock(\(dir.path)/\(file))", errno: e)
            }
            // The previous holder may have unlinked the file between our open
            // and our lock: then we locked an orphan inode. Try again.
            var a = stat()
            if fstat(fd.rawValue, &a) == 0, let b = dir.lstat(file), a.st_ino == b.st_ino, a.st_dev == b.st_dev {
                return TopologyLock(root: root, directory: dir, name: name, fd: fd)
            }
            fd.close()
        }
    }

    /// What the previous run (killed before its cleanup) left described in
    /// the lock file, read before this run overwrites it.
    func previousRun() -> TopologyHandoff? {
        guard let bytes = try? fd.readToEnd(limit: 1 << 26, what: Self.file) else { return nil }
        return RunDescriptor.parse(bytes)?.handoff
    }

    /// Writes the supervisor's pid, then (once known) the run's description.
    func describe(_ handoff: TopologyHandoff?) throws {
        var text = Array("\(getpid())\n".utf8)
        if let handoff {
            text += try JSONEncoder().encode(handoff)
            text.append(0x0A)
        }
        // `monitor` and the next run read this file: a short write would
        // describe a run that is not this one.
        let path = "\(directory.path)/\(Self.file)"
        try Sys.check("ftruncate(\(path), 0)", ftruncate(fd.rawValue, 0))
        let written = try Sys.retry(
            "pwrite(\(path), \(text.count) bytes)",
            text.withUnsafeBytes { pwrite(fd.rawValue, $0.baseAddress, $0.count, 0) })
        guard written == text.count else {
            throw RuntimeError(call: "pwrite(\(path), \(text.count) bytes) wrote \(written)", errno: ENOSPC)
        }
    }

    /// Unlinks the file, drops the lock, and removes the topology's
    /// directory (unless another run is already in it).
    func release() {
        directory.remove(Self.file)
        fd.close()
        directory.close()
        _ = unlinkat(root.fd.rawValue, name, CSHIM_AT_REMOVEDIR)
        root.close()
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
        /// The runtime directory or lock file is not one tilectl made.
        case untrusted(String)
    }

    /// Reads the description of topology `name`, if a supervisor holds its
    /// lock (seen in /proc/locks, so looking never takes the lock itself).
    /// The directory and the file are checked as the supervisor checks them:
    /// no link followed, owned by root or by the caller, writable by no one
    /// else.
    static func find(_ name: String) -> Lookup {
        let dir: TrustedDirectory
        do {
            dir = try TrustedDirectory.open(RuntimeRoot.path + "/" + name)
        } catch let e as RuntimeError where e.path != nil {
            return e.errno == ENOENT ? .notRunning : .untrusted("\(e)")
        } catch {
            return .notRunning
        }
        defer { dir.close() }
        let fd: FileDescriptor
        do {
            fd = try dir.openChecked(TopologyLock.file, O_RDONLY)
        } catch let e as RuntimeError where e.path != nil {
            return e.errno == ENOENT ? .notRunning : .untrusted("\(e)")
        } catch {
            return .notRunning
        }
        defer { fd.close() }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0, st.st_uid == dir.owner, isLocked(device: st.st_dev, inode: st.st_ino),
            let bytes = try? fd.readToEnd(limit: 1 << 26, what: TopologyLock.file)
        else { return .notRunning }
        return parse(bytes).map { .running($0) } ?? .starting
    }

    static func parse(_ bytes: [UInt8]) -> RunDescriptor? {
        guard let nl = bytes.firstIndex(of: 0x0A),
            let pid = Int32(String(decoding: bytes[..<nl], as: UTF8.self).trimmingWhitespace),
            let handoff = try? JSONDecoder().decode(TopologyHandoff.self, from: Data(bytes[(nl + 1)...]))
        else { return nil }
        return RunDescriptor(supervisorPid: pid, handoff: handoff)
    }

    /// Whether /proc/locks lists a lock on that file: `1: FLOCK ADVISORY WRITE 123 00:1a:4567 0 EOF`.
    static func isLocked(device: dev_t, inode: ino_t) -> Bool {
        guard let locks = try? Files.read("/proc/locks") else { return false }
        let major = (device >> 8) & 0xFFF, minor = (device & 0xFF) | ((device >> 12) & 0xFFF00)
        let want = String(format: "%02x:%02x:%lu", UInt(major), UInt(minor), UInt(inode))
        return locks.split(separator: "\n").contains { $0.split(separator: " ").contains { $0 == want } }
    }
}
