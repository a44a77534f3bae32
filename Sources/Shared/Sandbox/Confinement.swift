#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Confines a process of tilectl's own that has done its privileged work
/// and only waits from then on: the reaper once every tile is started, the
/// supervisor once the reaper is. It keeps its uid (root owns what the
/// supervisor cleans up) but, in this order: an empty environment (the
/// operator's, inherited, zeroed); a fresh session keyring;
/// namespaces of its own (no network, IPC, UTS or cgroup of the host's);
/// for the reaper an empty root; a Landlock domain that reaches only the
/// directories listed; memory and resource limits; no capability; no
/// privilege through execve; not dumpable; and a seccomp allowlist (default:
/// kill the process).
package struct Confinement {
    /// A directory (or file) the process may still touch, how, and why.
    /// The rule owns `fd`: `enter` closes it.
    package struct FilesystemRule {
        package let fd: FileDescriptor
        package let access: Landlock.FileAccess
        package let what: String
        package init(_ fd: FileDescriptor, _ access: Landlock.FileAccess, _ what: String) {
            self.fd = fd
            self.access = access
            self.what = what
        }
    }

    package let name: String
    package let policy: SeccompPolicy
    package let descriptors: [DescriptorRole: FileDescriptor]
    package let filesystem: [FilesystemRule]
    /// Namespaces it leaves the host's for (names as `SandboxProfile`'s).
    package let namespaces: [String]
    /// An empty read-only root (it opens no file again).
    package let emptyRoot: Bool

    /// Address space and data beyond what it holds when confined.
    package static let memoryAllowance: UInt64 = 32 << 20
    /// Descriptors it may open beyond the highest it holds (cleanup opens
    /// a few at a time).
    package static let descriptorAllowance: UInt64 = 32

    package init(
        _ name: String, policy: SeccompPolicy, descriptors: [DescriptorRole: FileDescriptor],
        filesystem: [FilesystemRule] = [], namespaces: [String], emptyRoot: Bool
    ) {
        self.name = name
        self.policy = policy
        self.descriptors = descriptors
        self.filesystem = filesystem
        self.namespaces = namespaces
        self.emptyRoot = emptyRoot
    }

    /// The filter `enter` loads.
    package func filter() throws -> SeccompFilter { try SeccompFilter(policy, descriptors: descriptors) }

    static let cloneFlags: [String: Int32] = [
        "network": CSHIM_CLONE_NEWNET, "ipc": CSHIM_CLONE_NEWIPC, "uts": CSHIM_CLONE_NEWUTS,
        "cgroup": CSHIM_CLONE_NEWCGROUP, "mount": CSHIM_CLONE_NEWNS,
    ]

    /// Irreversible. Returns the Landlock ABI enforced, nil when this
    /// kernel has none (then the filesystem is limited by the filter and
    /// file permissions only).
    @discardableResult
    package func enter() throws -> Int32? {
        func step(_ what: String, _ rc: Int32) throws {
            if rc < 0 { throw RuntimeError(sandboxStep: "\(name): \(what)", errno: errno) }
        }
        defer { filesystem.forEach { $0.fd.close() } }
        let filter = try filter()  // compiled before anything is taken away
        try Environment.clearAndZero()
        if cshim_keyctl_join_session_keyring() < 0 && errno != ENOSYS { try step("keyctl(KEYCTL_JOIN_SESSION_KEYRING)", -1) }
        // pivot_root makes the mount namespace itself.
        let flags = namespaces.filter { !(emptyRoot && $0 == "mount") }.compactMap { Self.cloneFlags[$0] }.reduce(0, |)
        if flags != 0 { try step("unshare(\(namespaces.joined(separator: ", ")))", cshim_unshare(flags)) }
        let status = try ProcessStatus.read()
        let highest = try openDescriptors().max() ?? 2
        if emptyRoot { try Namespaces.pivotToEmptyRoot(step: "\(name): pivot_root") }

        var abi: Int32? = nil
        let ruleset = Landlock.filesystemRuleset()
        if ruleset >= 0 {
            for rule in filesystem {
                try step("landlock rule for \(rule.what)", Landlock.allow(rule.access, beneath: rule.fd.rawValue, in: ruleset))
            }
            try step("landlock_restrict_self", Landlock.enforce(ruleset))
            abi = Landlock.abiVersion()
        } else if errno != ENOSYS && errno != EOPNOTSUPP {
            throw RuntimeError(sandboxStep: "\(name): landlock_create_ruleset", errno: errno)
        }
        for limit in resourceLimits(mapped: status.vmSize, data: status.vmData, highestDescriptor: UInt64(highest)) {
            guard let v = limit.value else { continue }
            try step("setrlimit(\(limit.name), \(v))", cshim_setrlimit(limit.resource, v))
        }
        try Capabilities.dropAll(step: "\(name): capabilities")
        try step("prctl(PR_SET_NO_NEW_PRIVS)", cshim_prctl_set_no_new_privs())
        try step("prctl(PR_SET_DUMPABLE, 0)", cshim_prctl_set_dumpable(0))
        try filter.load()
        return abi
    }

    /// Its limits: memory from what it holds, room for a few descriptors,
    /// no process, core dump, locked memory, queue or real-time priority.
    package func resourceLimits(mapped: UInt64?, data: UInt64?, highestDescriptor: UInt64?) -> [ResourceLimit] {
        ResourceLimit.memory(
            addressSpace: mapped.map { $0 + Self.memoryAllowance }, data: data.map { $0 + Self.memoryAllowance },
            allowance: Self.memoryAllowance, at: "confinement")
            + [
                ResourceLimit(
                    resource: CSHIM_RLIMIT_NOFILE, name: "RLIMIT_NOFILE",
                    value: highestDescriptor.map { $0 + 1 + Self.descriptorAllowance },
                    derivation: "highest held + \(1 + Self.descriptorAllowance)",
                    reason: "the descriptors it holds, and \(Self.descriptorAllowance) more for cleanup")
            ]
            + ResourceLimit.denied([
                (CSHIM_RLIMIT_NPROC, "RLIMIT_NPROC", "no new process"),
                (CSHIM_RLIMIT_CORE, "RLIMIT_CORE", "no core dump"),
                (CSHIM_RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", "no locked memory"),
                (CSHIM_RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", "no POSIX message queues"),
                (CSHIM_RLIMIT_RTPRIO, "RLIMIT_RTPRIO", "no real-time priority"),
                (CSHIM_RLIMIT_RTTIME, "RLIMIT_RTTIME", "no real-time CPU time"),
            ])
    }

    /// How exposed it is once confined (`check --sandbox`); `filesystemLimited`:
    /// whether its Landlock domain lists directories (known at run time).
    package func exposure(landlockABI: Int32?, filesystemLimited: Bool) -> ExposureReport {
        Exposure.report(
            identity: .rootWithoutCapabilities, namespaces: namespaces, emptyRoot: emptyRoot,
            filesystemLimited: filesystemLimited, policy: policy,
            argumentFilters: true, badArchitectureKills: true, landlockABI: landlockABI, memoryLimited: true,
            noExec: true, capabilitiesDropped: true, noNewPrivileges: true, notDumpable: true, ownKeyring: true,
            noTerminal: name == "reaper", environmentCleared: true, exactDescriptors: false, noRealtime: true)
    }
}
