#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Confines a process of tilectl's own that has done its privileged work
/// and only waits from then on: the reaper once every tile is started, the
/// supervisor once the reaper is. It keeps its uid (root owns what the
/// supervisor cleans up), but loses every capability, may reach only the
/// directories listed (Landlock), may make only the calls its policy lists
/// (seccomp, default: kill the process), gains nothing through execve and
/// cannot be ptraced by anyone but root with CAP_SYS_PTRACE.
public struct Confinement {
    /// A directory (or file) the process may still touch, how, and why.
    /// The rule owns `fd`: `enter` closes it.
    public struct FilesystemRule {
        public let fd: FileDescriptor
        public let access: UInt64
        public let what: String
        public init(_ fd: FileDescriptor, _ access: UInt64, _ what: String) {
            self.fd = fd
            self.access = access
            self.what = what
        }
    }

    public let name: String
    public let policy: SeccompPolicy
    public let descriptors: [DescriptorRole: FileDescriptor]
    public let filesystem: [FilesystemRule]

    public init(_ name: String, policy: SeccompPolicy, descriptors: [DescriptorRole: FileDescriptor],
                filesystem: [FilesystemRule] = []) {
        self.name = name
        self.policy = policy
        self.descriptors = descriptors
        self.filesystem = filesystem
    }

    /// The filter `enter` loads.
    public func filter() throws -> SeccompFilter { try SeccompFilter(policy, descriptors: descriptors) }

    /// Irreversible. Returns the Landlock ABI enforced, nil when this
    /// kernel has none (then the filesystem is limited by the filter and
    /// file permissions only).
    @discardableResult
    public func enter() throws -> Int32? {
        func step(_ what: String, _ rc: Int32) throws {
            if rc < 0 { throw SandboxError(step: "\(name): \(what)", message: Errno.describe(errno)) }
        }
        defer { filesystem.forEach { $0.fd.close() } }
        let filter = try filter()  // compiled before anything is taken away
        var abi: Int32? = nil
        let ruleset = cshim_landlock_ruleset_fs()
        if ruleset >= 0 {
            for rule in filesystem {
                try step("landlock rule for \(rule.what)", cshim_landlock_allow_beneath(ruleset, rule.fd.rawValue, rule.access))
            }
            try step("landlock_restrict_self", cshim_landlock_enforce(ruleset))
            abi = cshim_landlock_abi_version()
        } else if errno != ENOSYS && errno != EOPNOTSUPP {
            throw SandboxError(step: "\(name): landlock_create_ruleset", message: Errno.describe(errno))
        }
        try Capabilities.dropAll(step: "\(name): capabilities")
        try step("prctl(PR_SET_NO_NEW_PRIVS)", cshim_prctl_set_no_new_privs())
        try step("prctl(PR_SET_DUMPABLE, 0)", cshim_prctl_set_dumpable(0))
        try filter.load()
        return abi
    }
}
