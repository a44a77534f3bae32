#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// What the supervisor may do, decided before anything is created.
enum Privileges {
    enum Mode: Equatable {
        /// Root: tiles switch to the topology's user; huge pages can be reserved.
        case root
        /// Not root: the supervisor enters a user namespace of its own (its
        /// uid and gid mapped to themselves), where it may create the PID
        /// namespace and the tiles may create theirs. Tiles keep the
        /// invoking user; pages are normal.
        case userNamespace(uid: uid_t)
    }

    /// Returns how this run will work, or fails with the one line that
    /// names the missing privilege and how to grant it.
    static func prepare(_ topology: Topology) throws -> Mode {
        let uid = geteuid(), gid = getegid()
        if uid == 0 {
            // Under "debug" the kernel makes a process dumpable the instant
            // it switches uid; tiles clear it at once and refuse a tracer,
            // but the host should not invite one.
            if (try? Files.readInt("/proc/sys/fs/suid_dumpable")) == 1 {
                Log.warning(
                    "fs.suid_dumpable is 1 (debug): processes that switch uid are briefly ptrace-able; "
                        + "set it to 0 or 2 (sysctl -w fs.suid_dumpable=0)")
            }
            return .root
        }
        if cshim_unshare(CSHIM_CLONE_NEWUSER) != 0 {
            let e = errno
            throw RuntimeError(
                "tilectl run needs root or unprivileged user namespaces, which this host refuses "
                    + "(unshare(CLONE_NEWUSER): \(Errno.name(e))); run it as root, or allow them with "
                    + "sysctl -w user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1 or "
                    + "kernel.apparmor_restrict_unprivileged_userns=0 where those exist)", errno: e)
        }
        try RuntimeError.within("cannot set up the supervisor's user namespace") {
            try Files.write("/proc/self/setgroups", "deny")
            try Files.write("/proc/self/uid_map", "\(uid) \(uid) 1\n")
            try Files.write("/proc/self/gid_map", "\(gid) \(gid) 1\n")
        }
        let name = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)"
        let asked: String? =
            switch topology.user {
            case .dynamic: "uids of their own"
            case .named(let u): u.uid == uid ? nil : u.name
            }
        if let asked {
            Log.notice(
                "running without root: tiles run as \(name) (uid \(uid)), not \(asked) "
                    + "(only root can switch users), in user namespaces of their own")
        }
        return .userNamespace(uid: uid)
    }
}
