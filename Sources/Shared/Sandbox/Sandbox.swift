#if canImport(Glibc)
import Glibc
#endif
import CCap
import CShim

/// Sandbox entry: run by every tile after privileged init and before it
/// touches any input, single-threaded, in this order. Each step that fails
/// throws; the runner makes that fatal, so a tile never runs half-sandboxed.
///
/// | step                        | before                 | because
/// |-----------------------------|------------------------|------------------------------------------------
/// | check descriptors           | pivot_root             | reads /proc/self/fd
/// | clear supplementary gids    | unshare(CLONE_NEWUSER) | setgroups(2) is refused inside a user namespace
/// | user namespace, then uid    | other namespaces       | they then belong to the tile's namespace, not the host's
/// | uid switch                  | anything a tile reads  | from here on the tile is never dumpable (no ptrace window)
/// | unshare namespaces          | nested user namespace  | the nested namespace must have no power over them
/// | nested user namespace       | pivot_root             | the new mount namespace it gets is the one we pivot in
/// | TracerPid check, VmSize     | pivot_root             | read from /proc
/// | Landlock                    | rlimits                | creating a ruleset takes a descriptor (RLIMIT_NOFILE may be 0)
/// | rlimits                     | drop capabilities      | lowering a hard limit is allowed; afterwards nothing can raise it
/// | drop capabilities           | no_new_privs           | nothing regained through exec or files afterwards
/// | seccomp                     | last                   | everything above needs syscalls the filter forbids
package enum Sandbox {
    /// What `enter` measured, for the tile's log.
    package struct Report: Sendable {
        package var landlockABI: Int32?
        package var addressSpaceLimit: UInt64?
        package var dataLimit: UInt64?
    }

    /// - Parameters:
    ///   - keep: every descriptor the tile keeps, by role, at the numbers
    ///     the profile gives them; anything else open is an error.
    ///   - identity: the user the tile becomes; nil when the supervisor runs
    ///     unprivileged (in its own user namespace, where no other uid is
    ///     mapped) and the tile stays the invoking user.
    @discardableResult
    package static func enter(_ profile: SandboxProfile, keep: [DescriptorRole: FileDescriptor], identity: TileUser?) throws -> Report {
        var report = Report()
        // 1. An empty environment, and the bytes of the one we were started
        //    with zeroed: /proc/PID/environ reads the original block.
        try Environment.clearAndZero()

        // 2. Exactly the declared descriptors are open, each once, at the
        //    number the filter is compiled for; a stray one is an error,
        //    never closed silently.
        try checkDescriptors(keep, expected: profile.descriptors)

        // 3. A fresh session keyring and a new session without a controlling
        //    terminal (no TIOCSTI injection into the operator's shell).
        if cshim_keyctl_join_session_keyring() < 0 && errno != ENOSYS {
            throw RuntimeError(sandboxStep: "3 keyctl(KEYCTL_JOIN_SESSION_KEYRING)", errno: errno)
        }
        try step("3 setsid()", setsid())

        // 4-5. Who the tile is, and its namespaces.
        if let identity {
            try Identity.become(identity)
        } else {
            try Namespaces.enterUserNamespace(step: "4 user namespace")
        }
        try step(
            "5 unshare(mount, ipc, uts, cgroup, network)",
            cshim_unshare(CSHIM_CLONE_NEWNS | CSHIM_CLONE_NEWIPC | CSHIM_CLONE_NEWUTS | CSHIM_CLONE_NEWCGROUP | CSHIM_CLONE_NEWNET))
        try Namespaces.denyFurtherNamespaces(step: "5 deny namespaces")
        if identity != nil {
            try Identity.enterNestedNamespace()
        } else {
            try Namespaces.enterUserNamespace(step: "5 nested user namespace", nested: true)
        }
        // Whatever the kernel did with dumpable on the way, it is off now.
        try step("5 prctl(PR_SET_DUMPABLE, 0)", cshim_prctl_set_dumpable(0))
        let status = try ProcessStatus.read()
        guard status.tracerPid == 0 else {
            throw RuntimeError(sandboxStep: "5 TracerPid", "process \(status.tracerPid) is tracing this tile; refusing to go on")
        }

        // 6. An empty, read-only root.
        try Namespaces.pivotToEmptyRoot(step: "6 pivot_root")

        // 7. Landlock: no filesystem access, no TCP bind/connect, no signal
        //    or abstract socket beyond the tile itself.
        let abi = Landlock.restrictAll()
        if abi < 0 {
            guard errno == ENOSYS || errno == EOPNOTSUPP else { throw RuntimeError(sandboxStep: "7 landlock", errno: errno) }
            Log.warning(
                "Landlock is not available on this kernel (\(Errno.name(errno))): the tile runs without its "
                    + "filesystem, network and signal scoping layer; the other layers still hold")
        } else {
            report.landlockABI = abi
        }

        // 8. Resource limits, memory from what is mapped now.
        let files = keep.values.compactMap { fd -> UInt64? in
            var st = stat()
            return fstat(fd.rawValue, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? UInt64(st.st_size) : nil
        }
        for limit in profile.resourceLimits(mapped: status.vmSize, data: status.vmData, keptFiles: files) {
            guard let v = limit.value else { continue }
            try step("8 setrlimit(\(limit.name), \(v))", cshim_setrlimit(limit.resource, v))
            if limit.resource == CSHIM_RLIMIT_AS { report.addressSpaceLimit = v }
            if limit.resource == CSHIM_RLIMIT_DATA { report.dataLimit = v }
        }

        // 9. No capability in any set, and no way back to one.
        try Capabilities.dropAll(step: "9 capabilities")

        // 10. No privilege through execve, ever.
        try step("10 prctl(PR_SET_NO_NEW_PRIVS)", cshim_prctl_set_no_new_privs())

        // 11. The seccomp allowlist, last.
        try SeccompFilter(profile.policy, descriptors: keep, descriptorLimit: profile.fileLimit).load()
        return report
    }

    @inline(__always)
    static func step(_ name: @autoclosure () -> String, _ rc: Int32) throws {
        if rc < 0 { throw RuntimeError(sandboxStep: name(), errno: errno) }
    }

    /// Compares the open descriptors (from /proc/self/fd) with the declared
    /// ones: no descriptor declared twice or negative, each at the number
    /// the profile gives its role, each open, nothing else open.
    static func checkDescriptors(
        _ keep: [DescriptorRole: FileDescriptor], expected: [DescriptorRole: FileDescriptor]? = nil,
        open openNow: [Int32]? = nil
    ) throws {
        var declared: [Int32: DescriptorRole] = [:]
        for (role, fd) in keep.sorted(by: { $0.key.name < $1.key.name }) {
            guard fd.rawValue >= 0 else {
                throw RuntimeError(sandboxStep: "2 descriptors", "the \(role) is declared as descriptor \(fd.rawValue), which is negative")
            }
            if let other = declared[fd.rawValue] {
                throw RuntimeError(
                    sandboxStep: "2 descriptors", "descriptor \(fd.rawValue) is declared twice, as the \(other) and the \(role)")
            }
            declared[fd.rawValue] = role
        }
        if let expected {
            for (role, fd) in keep where expected[role] != fd {
                throw RuntimeError(
                    sandboxStep: "2 descriptors",
                    "the \(role) is descriptor \(fd.rawValue), but its filter is compiled for "
                        + (expected[role].map { "descriptor \($0.rawValue)" } ?? "no such descriptor"))
            }
            for (role, fd) in expected where keep[role] == nil {
                throw RuntimeError(sandboxStep: "2 descriptors", "the \(role) (descriptor \(fd.rawValue)) is in the profile but not kept")
            }
        }
        let open = Set(try openNow ?? openDescriptors())
        for fd in open.sorted() where declared[fd] == nil {
            throw RuntimeError(
                sandboxStep: "2 descriptors",
                "descriptor \(fd) (\(describeDescriptor(fd))) is open but not declared; "
                    + "declared: " + declared.keys.sorted().map { "\($0) \(declared[$0]!)" }.joined(separator: ", "))
        }
        for (fd, role) in declared.sorted(by: { $0.key < $1.key }) where !open.contains(fd) {
            throw RuntimeError(sandboxStep: "2 descriptors", "the \(role) (descriptor \(fd)) is declared but not open")
        }
    }

    /// What /proc says a descriptor is: a path, `socket:[123]`, `pipe:[456]`.
    package static func describeDescriptor(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { readlink("/proc/self/fd/\(fd)", $0.baseAddress!, $0.count - 1) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : "unknown"
    }
}

/// The process's environment.
enum Environment {
    /// Zeroes every `NAME=value` string (the block execve placed on the
    /// stack, which /proc/PID/environ reads for as long as the process
    /// lives), then empties the environment.
    static func clearAndZero() throws {
        // environ is NULL when a process was started with no environment.
        if var p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>(bitPattern: UInt(bitPattern: cshim_environ())) {
            while let s = p.pointee {
                memset(s, 0, strlen(s))
                p += 1
            }
        }
        guard clearenv() == 0 else { throw RuntimeError(sandboxStep: "1 clearenv", "failed") }
    }
}

/// Lines of /proc/self/status the sandbox reads.
struct ProcessStatus {
    var tracerPid: Int = 0
    /// Bytes.
    var vmSize: UInt64 = 0
    var vmData: UInt64 = 0

    static func read() throws -> ProcessStatus {
        let text: String
        do { text = try Files.read("/proc/self/status") } catch { throw RuntimeError(sandboxStep: "5 /proc/self/status", error) }
        var s = ProcessStatus()
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2 else { continue }
            switch f[0] {
            case "TracerPid:": s.tracerPid = Int(f[1]) ?? -1
            case "VmSize:": s.vmSize = (UInt64(f[1]) ?? 0) * 1024
            case "VmData:": s.vmData = (UInt64(f[1]) ?? 0) * 1024
            default: break
            }
        }
        return s
    }
}

enum Namespaces {
    /// unshare(CLONE_NEWUSER) and a one-line map of our ids to 1 inside,
    /// written by the process itself (allowed for its own ids). Only used
    /// when the tile runs as the invoking user, which owns it anyway.
    static func enterUserNamespace(step name: String, nested: Bool = false) throws {
        let uid = getuid(), gid = getgid()
        try Sandbox.step("\(name): unshare(CLONE_NEWUSER)", cshim_unshare(CSHIM_CLONE_NEWUSER))
        do {
            // setgroups must be denied before an unprivileged gid_map write.
            try Files.write("/proc/self/setgroups", "deny")
            try Files.write("/proc/self/uid_map", "1 \(uid) 1\n")
            try Files.write("/proc/self/gid_map", "1 \(gid) 1\n")
        } catch {
            throw RuntimeError(sandboxStep: name, error)
        }
    }

    /// In the current (first) user namespace: at most one more user
    /// namespace (the nested one) and one more mount namespace (the one
    /// pivot_root uses), none of any other kind. These limits count in this
    /// namespace and every one below it, and the nested namespace cannot
    /// raise them.
    static func denyFurtherNamespaces(step name: String) throws {
        let limits = [
            ("user", "1"), ("mnt", "2"), ("cgroup", "0"), ("ipc", "0"), ("net", "0"), ("pid", "0"),
            ("uts", "0"), ("time", "0"),
        ]
        for (kind, value) in limits {
            let path = "/proc/sys/user/max_\(kind)_namespaces"
            if kind == "time" && !Files.exists(path) { continue }  // kernels before 5.6
            do { try Files.write(path, value) } catch { throw RuntimeError(sandboxStep: name, error) }
        }
    }

    /// A new mount namespace whose root is an empty read-only tmpfs: the
    /// host's filesystem is no longer reachable by any path. Nothing is
    /// created on the host (the tmpfs lives only in this namespace).
    static func pivotToEmptyRoot(step name: String) throws {
        let dir = "/tmp"
        try Sandbox.step("\(name): unshare(CLONE_NEWNS)", cshim_unshare(CSHIM_CLONE_NEWNS))
        try Sandbox.step("\(name): mount(/, MS_REC|MS_PRIVATE)", mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil))
        try Sandbox.step(
            "\(name): mount(tmpfs, \(dir))",
            mount(
                "tilectl-empty", dir, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC),
                "mode=0555,size=4k,nr_inodes=2"))
        try Sandbox.step("\(name): chdir(\(dir))", chdir(dir))
        try Sandbox.step("\(name): pivot_root(., .)", cshim_pivot_root(".", "."))
        // The old root now sits on top of the new one: detach it, whole.
        try Sandbox.step("\(name): umount2(., MNT_DETACH)", umount2(".", Int32(MNT_DETACH)))
        try Sandbox.step("\(name): chdir(/)", chdir("/"))
        try Sandbox.step(
            "\(name): remount / read-only",
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
        guard let empty = cap_init() else { throw RuntimeError(sandboxStep: "\(name): cap_init", errno: errno) }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        try Sandbox.step("\(name): cap_set_proc(empty)", cap_set_proc(empty))
        try Sandbox.step("\(name): cap_reset_ambient", cap_reset_ambient())
    }
}
