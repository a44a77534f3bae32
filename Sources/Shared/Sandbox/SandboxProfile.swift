import CShim

/// What a tile's sandbox will be, known before the tile exists: `tilectl
/// check --sandbox` prints it and `Sandbox.enter` enforces it, from the same
/// value.
public struct SandboxProfile: Sendable {
    public let kind: String
    /// Every descriptor the tile keeps, at the number it keeps it under.
    /// The numbers are fixed by role, so the filter `check` prints is the
    /// filter the tile loads: stderr 2, the death pipe 3, the log file 4
    /// (when there is one), then the kind's own roles from 5 in the order
    /// it declares them. 0 and 1 are closed.
    public let descriptors: [DescriptorRole: FileDescriptor]
    /// Descriptors the tile opens inside its sandbox (accepted connections).
    public let openedInSandbox: Int
    /// RLIMIT_NOFILE: exactly room for `openedInSandbox` more descriptors
    /// besides the kept ones (a new descriptor takes the lowest free number).
    public let fileLimit: UInt64
    /// Address space and data the tile may take beyond what is mapped when
    /// it enters its sandbox (its binary, libraries, workspaces, heap so far).
    public let memoryAllowance: UInt64
    public let policy: SeccompPolicy

    public init(kind: TileKind, topology: Topology) {
        self.kind = kind.kind
        var d: [DescriptorRole: FileDescriptor] = [.stderr: .standardError, .deathPipe: Self.deathPipe]
        if topology.log.path != nil { d[.logFile] = Self.logFile }
        for (i, role) in kind.descriptorRoles.enumerated() { d[role] = FileDescriptor(rawValue: Self.firstKindDescriptor + Int32(i)) }
        descriptors = d
        openedInSandbox = kind.openedInSandbox
        fileLimit = Self.fileLimit(keeping: Set(d.values.map(\.rawValue)), opening: kind.openedInSandbox)
        memoryAllowance = UInt64(kind.memoryAllowance)
        policy = kind.seccompPolicy
    }

    public static let deathPipe = FileDescriptor(rawValue: 3)
    /// Where the reaper puts the sealed topology for `run1`, which reads and
    /// closes it before anything else opens.
    public static let topologyHandoff = FileDescriptor(rawValue: 4)
    public static let logFile = FileDescriptor(rawValue: 4)
    public static let firstKindDescriptor: Int32 = 5

    /// The smallest limit under which `opening` new descriptors fit beside
    /// the kept ones: a new descriptor gets the lowest free number, which
    /// must be below the limit.
    static func fileLimit(keeping kept: Set<Int32>, opening count: Int) -> UInt64 {
        guard count > 0 else { return 0 }
        var free = 0
        var limit: Int32 = 0
        while free < count {
            if !kept.contains(limit) { free += 1 }
            limit += 1
        }
        return UInt64(limit)
    }

    /// Kept descriptors in number order, with their roles.
    public var descriptorList: [(DescriptorRole, FileDescriptor)] {
        descriptors.sorted { $0.value.rawValue < $1.value.rawValue }.map { ($0.key, $0.value) }
    }

    /// The filter the tile loads, compiled for its descriptor numbers.
    public func filter() throws -> SeccompFilter {
        try SeccompFilter(policy, descriptors: descriptors, descriptorLimit: fileLimit)
    }

    /// Namespaces a tile gets of its own, in the order `unshare` creates
    /// them. Every tile has its own network namespace: a socket bound
    /// before the unshare keeps accepting, and nothing can be connected to.
    public static let unsharedNamespaces = ["user", "mount", "ipc", "uts", "cgroup", "network"]

    /// Every limit the tile runs under, `mapped` and `data` being what it
    /// has mapped (VmSize) and its data segment with private writable
    /// mappings (VmData) when it enters the sandbox; nil when not known yet
    /// (`check`).
    public func resourceLimits(mapped: UInt64?, data: UInt64?) -> [ResourceLimit] {
        ResourceLimit.sandbox(fileLimit: fileLimit, addressSpace: mapped.map { $0 + memoryAllowance },
                              data: data.map { $0 + memoryAllowance }, allowance: memoryAllowance)
    }
}

/// One resource limit the sandbox sets, with why.
public struct ResourceLimit: Sendable {
    public let resource: Int32
    public let name: String
    /// The limit (soft and hard); nil: left as inherited.
    public let value: UInt64?
    /// How `value` is derived, for a limit only known at entry.
    public let derivation: String?
    public let reason: String

    /// Every limit a sandboxed tile runs under: the declared descriptor
    /// count, its memory at entry plus a declared allowance, zero for what
    /// a tile never needs, and unchanged only where a zero would break the
    /// tile.
    public static func sandbox(fileLimit: UInt64, addressSpace: UInt64?, data: UInt64?, allowance: UInt64) -> [ResourceLimit] {
        func r(_ res: Int32, _ name: String, _ v: UInt64?, _ why: String, derived: String? = nil) -> ResourceLimit {
            ResourceLimit(resource: res, name: name, value: v, derivation: derived, reason: why)
        }
        let plus = "+ \(formatBytes(Int(allowance)))"
        return [
            r(CSHIM_RLIMIT_NOFILE, "RLIMIT_NOFILE", fileLimit, "room for exactly the descriptors the tile opens inside its sandbox"),
            r(CSHIM_RLIMIT_AS, "RLIMIT_AS", addressSpace, "address space: what is mapped at entry plus the kind's allowance",
              derived: "mapped at entry \(plus)"),
            r(CSHIM_RLIMIT_DATA, "RLIMIT_DATA", data, "heap and private memory: what it holds at entry plus the kind's allowance",
              derived: "data at entry \(plus)"),
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
            r(CSHIM_RLIMIT_STACK, "RLIMIT_STACK", nil, "unchanged: the main thread's stack grows on demand (within RLIMIT_AS)"),
            r(CSHIM_RLIMIT_CPU, "RLIMIT_CPU", nil, "unchanged: a tile runs as long as the topology"),
        ]
    }
}
