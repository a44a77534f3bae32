#if canImport(Glibc)
import Glibc
#endif
import CCap
import CShim

/// Sandbox entry: run by every tile after privileged init and before it
/// touches any input, single-threaded, in this order. Each step that fails
/// throws; the runner makes that fatal, so a tile never runs half-sandboxed.
///
/// | step                    | before                 | because
/// |-------------------------|------------------------|------------------------------------------------
/// | check descriptors       | pivot_root             | reads /proc/self/fd
/// | switch uid/gid          | unshare(CLONE_NEWUSER) | the namespaces then belong to the unprivileged user
/// | clear supplementary gids| unshare(CLONE_NEWUSER) | setgroups(2) is refused inside a user namespace
/// | unshare namespaces      | nested user namespace  | the nested namespace must have no power over them
/// | nested user namespace   | pivot_root             | the new mount namespace it gets is the one we pivot in
/// | pivot_root              | drop capabilities      | mounting needs CAP_SYS_ADMIN (in the tile's namespace)
/// | rlimits                 | drop capabilities      | lowering a hard limit is allowed; afterwards nothing can raise it
/// | drop capabilities       | no_new_privs, Landlock | nothing regained through exec or files afterwards
/// | Landlock                | seccomp                | creating a ruleset needs syscalls the filter forbids
/// | seccomp                 | last                   | everything above needs syscalls the filter forbids
public enum Sandbox {
    /// - Parameters:
    ///   - keep: every descriptor the tile keeps, by role; anything else open is an error.
    ///   - switchUser: false when the supervisor itself runs unprivileged (in
    ///     its own user namespace, where no other uid is mapped).
    public static func enter(_ profile: SandboxProfile, keep: [DescriptorRole: FileDescriptor], switchUser: Bool) throws {
        // 1. An empty environment: nothing the launcher set leaks in.
        guard clearenv() == 0 else { throw SandboxError(step: "1 clearenv", message: "failed") }

        // 2. Exactly the declared descriptors are open; a stray one is an error, never closed silently.
        try checkDescriptors(keep)

        // 3. A fresh session keyring and a new session without a controlling
        //    terminal (no TIOCSTI injection into the operator's shell).
        if cshim_keyctl_join_session_keyring() < 0 && errno != ENOSYS {
            throw SandboxError(step: "3 keyctl(KEYCTL_JOIN_SESSION_KEYRING)", message: Errno.describe(errno))
        }
        try step("3 setsid()", setsid())

        // 4. The unprivileged user. Changing credentials resets the dumpable
        //    flag, which would make /proc/self root-owned and the uid maps
        //    below unwritable: it is set again, and cleared in step 11.
        if switchUser {
            try step("4 setgroups(0)", setgroups(0, nil))
            try step("4 setresgid(\(profile.user.gid))", cshim_setresgid(profile.user.gid))
            try step("4 setresuid(\(profile.user.uid))", cshim_setresuid(profile.user.uid))
        }
        try step("4 prctl(PR_SET_DUMPABLE, 1)", cshim_prctl_set_dumpable(1))

        // 5. Namespaces: a user namespace owned by that user, then every other
        //    one inside it, then a nested user namespace with creation of
        //    any further namespace disabled.
        try Namespaces.enterUserNamespace(step: "5 user namespace")
        var flags = CSHIM_CLONE_NEWNS | CSHIM_CLONE_NEWIPC | CSHIM_CLONE_NEWUTS | CSHIM_CLONE_NEWCGROUP
        if !profile.keepsNetwork { flags |= CSHIM_CLONE_NEWNET }
        try step("5 unshare(mount, ipc, uts, cgroup\(profile.keepsNetwork ? "" : ", network"))", cshim_unshare(flags))
        try Namespaces.denyFurtherNamespaces(step: "5 deny namespaces")
        try Namespaces.enterUserNamespace(step: "5 nested user namespace", nested: true)

        // 6. An empty, read-only root.
        try Namespaces.pivotToEmptyRoot(step: "6 pivot_root")

        // 7. Resource limits.
        for limit in profile.resourceLimits {
            guard let v = limit.value else { continue }
            try step("7 setrlimit(\(limit.name), \(v))", cshim_setrlimit(limit.resource, v))
        }

        // 8. No capability in any set, and no way back to one.
        try Capabilities.dropAll(step: "8 capabilities")

        // 9. No privilege through execve, ever.
        try step("9 prctl(PR_SET_NO_NEW_PRIVS)", cshim_prctl_set_no_new_privs())

        // 10. Landlock: no filesystem access, no TCP bind/connect, no signal
        //     or abstract socket beyond the tile itself.
        if cshim_landlock_restrict_all() < 0 && errno != ENOSYS && errno != EOPNOTSUPP {
            throw SandboxError(step: "10 landlock", message: Errno.describe(errno))
        }

        // 11. Not dumpable: no ptrace attach by another process of the same user.
        try step("11 prctl(PR_SET_DUMPABLE, 0)", cshim_prctl_set_dumpable(0))

        // 12. The seccomp allowlist, last.
        try SeccompFilter(profile.policy, descriptors: keep).load()
    }

    @inline(__always)
    static func step(_ name: @autoclosure () -> String, _ rc: Int32) throws {
        if rc < 0 { throw SandboxError(step: name(), message: Errno.describe(errno)) }
    }

    /// Compares the open descriptors (from /proc/self/fd) with the declared ones.
    static func checkDescriptors(_ keep: [DescriptorRole: FileDescriptor], open openNow: [Int32]? = nil) throws {
        let open = Set(try openNow ?? openDescriptors())
        let declared = Dictionary(keep.map { ($0.value.rawValue, $0.key) }, uniquingKeysWith: { a, _ in a })
        for fd in open.sorted() where declared[fd] == nil {
            throw SandboxError(step: "2 descriptors",
                               message: "descriptor \(fd) (\(describeDescriptor(fd))) is open but not declared; "
                                   + "declared: " + declared.keys.sorted().map { "\($0) \(declared[$0]!)" }.joined(separator: ", "))
        }
        for (fd, role) in declared where !open.contains(fd) {
            throw SandboxError(step: "2 descriptors", message: "the \(role) (descriptor \(fd)) is declared but not open")
        }
    }

    /// What /proc says a descriptor is: a path, `socket:[123]`, `pipe:[456]`.
    public static func describeDescriptor(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { readlink("/proc/self/fd/\(fd)", $0.baseAddress!, $0.count - 1) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : "unknown"
    }
}

enum Namespaces {
    /// unshare(CLONE_NEWUSER) and a one-line map of our ids to 1 inside.
    /// The first namespace maps the tile's user; the nested one maps 1 to 1.
    static func enterUserNamespace(step name: String, nested: Bool = false) throws {
        let uid = getuid(), gid = getgid()
        try Sandbox.step("\(name): unshare(CLONE_NEWUSER)", cshim_unshare(CSHIM_CLONE_NEWUSER))
        do {
            // setgroups must be denied before an unprivileged gid_map write.
            try Files.write("/proc/self/setgroups", "deny")
            try Files.write("/proc/self/uid_map", "1 \(uid) 1\n")
            try Files.write("/proc/self/gid_map", "1 \(gid) 1\n")
        } catch {
            throw SandboxError(step: name, message: "\(error)")
        }
    }

    /// In the current (first) user namespace: at most one more user
    /// namespace (the nested one) and one more mount namespace (the one
    /// pivot_root uses), none of any other kind. These limits count in this
    /// namespace and every one below it, and the nested namespace cannot
    /// raise them.
    static func denyFurtherNamespaces(step name: String) throws {
        let limits = [("user", "1"), ("mnt", "2"), ("cgroup", "0"), ("ipc", "0"), ("net", "0"), ("pid", "0"),
                      ("uts", "0"), ("time", "0")]
        for (kind, value) in limits {
            let path = "/proc/sys/user/max_\(kind)_namespaces"
            if kind == "time" && !Files.exists(path) { continue }  // kernels before 5.6
            do { try Files.write(path, value) } catch { throw SandboxError(step: name, message: "\(error)") }
        }
    }

    /// A new mount namespace whose root is an empty read-only tmpfs: the
    /// host's filesystem is no longer reachable by any path. Nothing is
    /// created on the host (the tmpfs lives only in this namespace).
    static func pivotToEmptyRoot(step name: String) throws {
        let dir = "/tmp"
        try Sandbox.step("\(name): unshare(CLONE_NEWNS)", cshim_unshare(CSHIM_CLONE_NEWNS))
        try Sandbox.step("\(name): mount(/, MS_REC|MS_PRIVATE)", mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil))
        try Sandbox.step("\(name): mount(tmpfs, \(dir))",
                         mount("tilectl-empty", dir, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC),
                               "mode=0555,size=4k,nr_inodes=2"))
        try Sandbox.step("\(name): chdir(\(dir))", chdir(dir))
        try Sandbox.step("\(name): pivot_root(., .)", cshim_pivot_root(".", "."))
        // The old root now sits on top of the new one: detach it, whole.
        try Sandbox.step("\(name): umount2(., MNT_DETACH)", umount2(".", Int32(MNT_DETACH)))
        try Sandbox.step("\(name): chdir(/)", chdir("/"))
        try Sandbox.step("\(name): remount / read-only",
                         mount(nil, "/", nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), nil))
    }
}

enum Capabilities {
    /// With libcap: securebits locked, the bounding set emptied, the
    /// effective, permitted and inheritable sets emptied, ambient cleared.
    /// The first two need CAP_SETPCAP, so they come before the capset.
    static func dropAll(step name: String) throws {
        try Sandbox.step("\(name): cap_set_secbits", cap_set_secbits(CSHIM_SECUREBITS_LOCKED_DOWN))
        let last = cap_max_bits()
        for cap in 0..<last {
            try Sandbox.step("\(name): cap_drop_bound(\(cap))", cap_drop_bound(cap_value_t(cap)))
        }
        guard let empty = cap_init() else { throw SandboxError(step: "\(name): cap_init", message: Errno.describe(errno)) }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        try Sandbox.step("\(name): cap_set_proc(empty)", cap_set_proc(empty))
        try Sandbox.step("\(name): cap_reset_ambient", cap_reset_ambient())
    }
}
