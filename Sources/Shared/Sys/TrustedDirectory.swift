#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A directory reached from `/` one component at a time, never through a
/// symbolic link, each component a directory owned by root or by us: what
/// root opens inside it is what it meant to open. The directory itself is
/// writable by nobody else (unless the caller accepts that for a file it
/// checks on its own), so no other user can plant a name in it.
///
/// Any local user can create symlinks and files in world-writable places
/// (/dev/shm, /tmp): a root process that opens `/dev/shm/x` by path can be
/// made to write wherever the planted link points. Everything tilectl
/// creates or opens as root goes through a `TrustedDirectory` and then
/// `openat` with `O_NOFOLLOW` and an owner check.
package struct TrustedDirectory: Sendable {
    package let path: String
    /// Open on the directory (O_PATH: it names the directory without
    /// reading it, so a Landlock domain needs no right on it); owned by
    /// whoever opened it.
    package let fd: FileDescriptor
    /// The directory's owner.
    package let owner: uid_t

    /// Walks `path` from `/`. Missing components are created when `create`
    /// gives a mode (intermediate ones 0755), else missing is an error.
    /// - Parameter sharedLast: accept a last component writable by others
    ///   (sticky or not); its files must then be opened with `openChecked`.
    package static func open(_ path: String, create mode: mode_t? = nil, sharedLast: Bool = false) throws -> TrustedDirectory {
        guard path.hasPrefix("/") else { throw RuntimeError(path: path, "is not an absolute path") }
        let parts = path.split(separator: "/").map(String.init)
        guard !parts.contains(".."), !parts.contains(".") else {
            throw RuntimeError(path: path, "contains \".\" or \"..\"")
        }
        var dir = try openComponent(at: AT_FDCWD, "/", shown: "/", last: parts.isEmpty, sharedLast: sharedLast)
        var sofar = ""
        for (i, part) in parts.enumerated() {
            sofar += "/" + part
            let last = i == parts.count - 1
            let next: (FileDescriptor, uid_t)
            do {
                next = try openComponent(at: dir.0.rawValue, part, shown: sofar, last: last, sharedLast: sharedLast)
            } catch let e as RuntimeError where e.path != nil && e.errno == ENOENT && mode != nil {
                do {
                    try makeDirectory(in: dir.0.rawValue, part, mode: last ? mode! : 0o755, shown: sofar)
                } catch {
                    dir.0.close()
                    throw error
                }
                do {
                    next = try openComponent(at: dir.0.rawValue, part, shown: sofar, last: last, sharedLast: sharedLast)
                } catch {
                    dir.0.close()
                    throw error
                }
            } catch {
                dir.0.close()
                throw error
            }
            dir.0.close()
            dir = next
        }
        return TrustedDirectory(path: path == "/" ? "/" : sofar, fd: dir.0, owner: dir.1)
    }

    /// One component, opened relative to its parent without following a
    /// link, and checked.
    private static func openComponent(
        at parent: Int32, _ name: String, shown: String, last: Bool,
        sharedLast: Bool
    ) throws -> (FileDescriptor, uid_t) {
        let fd = openat(parent, name, CSHIM_O_PATH | CSHIM_O_DIRECTORY | CSHIM_O_NOFOLLOW | CSHIM_O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw RuntimeError(path: shown, whyNot(parent, name, e, expecting: "a directory"), errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw RuntimeError(path: shown, "cannot be examined (\(Errno.describe(e)))", errno: e)
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            Glibc.close(fd)
            throw RuntimeError(path: shown, "is not a directory", errno: ENOTDIR)
        }
        let me = geteuid()
        guard st.st_uid == 0 || st.st_uid == me else {
            Glibc.close(fd)
            throw RuntimeError(path: shown, "is owned by uid \(st.st_uid), not by root\(me == 0 ? "" : " or uid \(me)")")
        }
        if last && !sharedLast && st.st_mode & 0o022 != 0 {
            Glibc.close(fd)
            throw RuntimeError(
                path: shown,
                "is writable by \(st.st_mode & 0o002 != 0 ? "every user" : "group \(st.st_gid)") "
                    + "(mode \(String(st.st_mode & 0o7777, radix: 8)))")
        }
        return (FileDescriptor(rawValue: fd), st.st_uid)
    }

    package func close() { fd.close() }

    /// Creates directory `name` in `parent` with exactly `mode`. An
    /// existing name (another process got there first, maybe with a link)
    /// is left alone for the caller's checks: mkdirat never follows a link,
    /// and the mode is set only on what mkdirat made, through a descriptor
    /// opened without following one (never `fchmodat` by name, which
    /// follows links: a link swapped in after the mkdirat would make root
    /// chmod its target).
    static func makeDirectory(in parent: Int32, _ name: String, mode: mode_t, shown: String) throws {
        guard mkdirat(parent, name, mode) == 0 else {
            if errno == EEXIST { return }
            throw RuntimeError(path: shown, "cannot be created (\(Errno.describe(errno)))", errno: errno)
        }
        let fd = openat(parent, name, O_RDONLY | CSHIM_O_DIRECTORY | CSHIM_O_NOFOLLOW | CSHIM_O_CLOEXEC)
        guard fd >= 0 else { return }  // already swapped: the caller's checks refuse it
        defer { Glibc.close(fd) }
        var st = stat()
        // What the umask took away, and only on a directory that is ours.
        if fstat(fd, &st) == 0, st.st_uid == geteuid() { _ = fchmod(fd, mode) }
    }

    /// Why opening `name` in `parent` failed, as a user reads it: what is
    /// there (a link, something else) comes before the errno.
    static func whyNot(_ parent: Int32, _ name: String, _ e: Int32, expecting: String) -> String {
        var st = stat()
        if fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK { return "is a symbolic link" }
            if type != (expecting == "a directory" ? S_IFDIR : S_IFREG) { return "is not \(expecting)" }
        } else if e == ENOENT {
            return "does not exist"
        }
        return "cannot be opened (\(Errno.describe(e)))"
    }

    /// A subdirectory, checked like every component.
    package func subdirectory(_ name: String, create mode: mode_t? = nil) throws -> TrustedDirectory {
        precondition(!name.contains("/") && name != ".." && name != ".")
        let shown = path == "/" ? "/" + name : path + "/" + name
        do {
            let (fd, owner) = try Self.openComponent(at: fd.rawValue, name, shown: shown, last: true, sharedLast: false)
            return TrustedDirectory(path: shown, fd: fd, owner: owner)
        } catch let e as RuntimeError where e.path != nil && e.errno == ENOENT && mode != nil {
            try Self.makeDirectory(in: fd.rawValue, name, mode: mode!, shown: shown)
            let (fd, owner) = try Self.openComponent(at: fd.rawValue, name, shown: shown, last: true, sharedLast: false)
            return TrustedDirectory(path: shown, fd: fd, owner: owner)
        }
    }

    /// Opens the file `name` in this directory without following a link
    /// (`O_NOFOLLOW`, and `O_NONBLOCK` until it is known to be a regular
    /// file: a planted FIFO must not hang root). An existing file must be a
    /// regular file owned by us with one link (a hard link to someone
    /// else's file is refused) and not writable by others.
    package func openChecked(_ name: String, _ flags: Int32, mode: mode_t = 0o600) throws -> FileDescriptor {
        precondition(!name.contains("/"))
        let shown = path == "/" ? "/" + name : path + "/" + name
        let fd = openat(fd.rawValue, name, flags | O_NONBLOCK | CSHIM_O_NOFOLLOW | CSHIM_O_CLOEXEC, mode)
        guard fd >= 0 else {
            let e = errno
            throw RuntimeError(path: shown, Self.whyNot(self.fd.rawValue, name, e, expecting: "a regular file"), errno: e)
        }
        var st = stat()
        let problem: String?
        if fstat(fd, &st) != 0 {
            problem = "cannot be examined (\(Errno.describe(errno)))"
        } else if st.st_mode & S_IFMT != S_IFREG {
            problem = "is not a regular file"
        } else if st.st_uid != geteuid() {
            problem = "is owned by uid \(st.st_uid), not by uid \(geteuid())"
        } else if st.st_nlink != 1 {
            problem = "has \(st.st_nlink) hard links"
        } else if st.st_mode & 0o022 != 0 {
            problem = "is writable by others (mode \(String(st.st_mode & 0o7777, radix: 8)))"
        } else {
            problem = nil
        }
        if let problem {
            Glibc.close(fd)
            throw RuntimeError(path: shown, problem + "; something else created it: remove it")
        }
        let fl = fcntl(fd, F_GETFL)
        _ = cshim_fcntl_int(fd, F_SETFL, fl & ~O_NONBLOCK)
        return FileDescriptor(rawValue: fd)
    }

    /// Unlinks `name` (a file) in this directory; a missing one is fine.
    @discardableResult
    package func remove(_ name: String) -> Bool { unlinkat(fd.rawValue, name, 0) == 0 }

    /// Removes the subdirectory `name` and the files in it (one level:
    /// tilectl's directories hold files only); a link is removed, never
    /// followed.
    package func removeTree(_ name: String) {
        let sub = openat(fd.rawValue, name, CSHIM_O_PATH | CSHIM_O_DIRECTORY | CSHIM_O_NOFOLLOW | CSHIM_O_CLOEXEC)
        if sub >= 0 {
            for entry in Self.entries(sub) { _ = unlinkat(sub, entry, 0) }
            Glibc.close(sub)
            _ = unlinkat(fd.rawValue, name, CSHIM_AT_REMOVEDIR)
        } else {
            _ = unlinkat(fd.rawValue, name, 0)
        }
    }

    /// Removes the empty directory at `path`, through its checked parent.
    @discardableResult
    package static func removeEmpty(_ path: String) -> Bool {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex || path.count > 1 else { return false }
        guard let parent = try? open(slash == path.startIndex ? "/" : String(path[..<slash]), sharedLast: true) else { return false }
        defer { parent.close() }
        return unlinkat(parent.fd.rawValue, String(path[path.index(after: slash)...]), CSHIM_AT_REMOVEDIR) == 0
    }

    /// Names in this directory (not `.` and `..`).
    package func entries() -> [String] { Self.entries(fd.rawValue) }

    static func entries(_ fd: Int32, consuming: Bool = false) -> [String] {
        let dup = consuming ? fd : openat(fd, ".", O_RDONLY | CSHIM_O_DIRECTORY | CSHIM_O_CLOEXEC)
        guard dup >= 0, let d = fdopendir(dup) else {
            if dup >= 0 { Glibc.close(dup) }
            return []
        }
        defer { closedir(d) }
        var out: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// The file's owner and mode, without following a link; nil when absent.
    package func lstat(_ name: String) -> stat? {
        var st = stat()
        return fstatat(fd.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    /// `/proc/self/fd/N`: a path naming exactly this directory, for calls
    /// that take only a path (mount(2)).
    package var procPath: String { "/proc/self/fd/\(fd.rawValue)" }
}
