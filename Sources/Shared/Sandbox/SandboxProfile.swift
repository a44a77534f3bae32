import CShim

/// What a tile's sandbox will be, known before the tile exists: `tilectl
/// check --sandbox` prints it and `Sandbox.enter` enforces it.
public struct SandboxProfile: Sendable {
    public let kind: String
    /// The user the tile switches to (when the supervisor runs as root).
    public let user: TileUser
    /// Serves sockets, so it keeps the host's network namespace.
    public let keepsNetwork: Bool
    /// RLIMIT_NOFILE inside the sandbox.
    public let fileLimit: UInt64
    /// Every descriptor the tile keeps open, by role.
    public let descriptorRoles: [DescriptorRole]
    public let policy: SeccompPolicy

    public init(kind: TileKind, topology: Topology) {
        self.kind = kind.kind
        user = topology.user
        keepsNetwork = kind.keepsNetworkNamespace
        fileLimit = kind.fileLimit
        descriptorRoles = [.stderr, .deathPipe] + (topology.log.path == nil ? [] : [.logFile]) + kind.descriptorRoles
        policy = kind.seccompPolicy
    }

    /// Namespaces a tile gets of its own, in the order `unshare` creates them.
    public var unsharedNamespaces: [String] {
        ["user", "mount", "ipc", "uts", "cgroup"] + (keepsNetwork ? [] : ["network"])
    }

    /// Namespaces a tile shares: the topology's PID namespace, and the
    /// host's network namespace for a tile that serves sockets.
    public var sharedNamespaces: [String] {
        ["pid (the topology's own)"] + (keepsNetwork ? ["network (the host's: it serves a socket)"] : [])
    }

    public var resourceLimits: [ResourceLimit] { ResourceLimit.sandbox(fileLimit: fileLimit) }
}

/// One resource limit the sandbox sets, with why.
public struct ResourceLimit: Sendable {
    public let resource: Int32
    public let name: String
    /// nil: left as inherited.
    public let value: UInt64?
    public let reason: String

    /// Every limit a sandboxed tile runs under: the declared descriptor
    /// count, zero for what a tile never needs, and unchanged only where a
    /// zero would break the tile.
    public static func sandbox(fileLimit: UInt64) -> [ResourceLimit] {
        func r(_ res: Int32, _ name: String, _ v: UInt64?, _ why: String) -> ResourceLimit {
            ResourceLimit(resource: res, name: name, value: v, reason: why)
        }
        return [
            r(CSHIM_RLIMIT_NOFILE, "RLIMIT_NOFILE", fileLimit, "exactly the descriptors the tile declares"),
            r(CSHIM_RLIMIT_NPROC, "RLIMIT_NPROC", 0, "no new process or thread"),
            r(CSHIM_RLIMIT_CORE, "RLIMIT_CORE", 0, "no core dump of tile memory"),
            r(CSHIM_RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", 0, "no locked memory"),
            r(CSHIM_RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 0, "no POSIX message queues"),
            r(CSHIM_RLIMIT_NICE, "RLIMIT_NICE", 0, "no raised priority"),
            r(CSHIM_RLIMIT_RTPRIO, "RLIMIT_RTPRIO", 0, "no real-time priority"),
            r(CSHIM_RLIMIT_RTTIME, "RLIMIT_RTTIME", 0, "no real-time CPU time"),
            r(CSHIM_RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", 0, "no queued signals"),
            r(CSHIM_RLIMIT_LOCKS, "RLIMIT_LOCKS", 0, "no file locks"),
            r(CSHIM_RLIMIT_FSIZE, "RLIMIT_FSIZE", nil, "unchanged: the log file grows"),
            r(CSHIM_RLIMIT_AS, "RLIMIT_AS", nil, "unchanged: the Swift runtime grows its heap on demand"),
            r(CSHIM_RLIMIT_DATA, "RLIMIT_DATA", nil, "unchanged: the Swift runtime grows its heap on demand"),
            r(CSHIM_RLIMIT_STACK, "RLIMIT_STACK", nil, "unchanged: the main thread's stack grows on demand"),
            r(CSHIM_RLIMIT_CPU, "RLIMIT_CPU", nil, "unchanged: a tile runs as long as the topology"),
        ]
    }
}
