import CShim

/// What a tile's sandbox will be, known before the tile exists: `tilectl
/// check --sandbox` prints it and `Sandbox.enter` enforces it, from the same
/// value.
package struct SandboxProfile: Sendable {
    package let kind: String
    /// Every descriptor the tile keeps, at the number it keeps it under.
    /// The numbers are fixed by role, so the filter `check` prints is the
    /// filter the tile loads: stderr 2 (a pipe to the supervisor, which
    /// relays its lines to the terminal and the log file), the death pipe 3,
    /// then the kind's own roles from 5 in the order it declares them (4
    /// carries the topology at exec and is closed before). 0 and 1 are
    /// closed.
    package let descriptors: [DescriptorRole: FileDescriptor]
    /// Descriptors the tile opens inside its sandbox (accepted connections).
    package let openedInSandbox: Int
    /// RLIMIT_NOFILE: exactly room for `openedInSandbox` more descriptors
    /// besides the kept ones (a new descriptor takes the lowest free number).
    package let fileLimit: UInt64
    /// Address space and data the tile may take beyond what is mapped when
    /// it enters its sandbox (its binary, libraries, workspaces, heap so far).
    package let memoryAllowance: UInt64
    package let policy: SeccompPolicy

    package init(kind: TileKind, topology: Topology) {
        self.kind = kind.kind
        var d: [DescriptorRole: FileDescriptor] = [.stderr: .standardError, .deathPipe: Self.deathPipe]
        for (i, role) in kind.descriptorRoles.enumerated() { d[role] = FileDescriptor(rawValue: Self.firstKindDescriptor + Int32(i)) }
        descriptors = d
        openedInSandbox = kind.openedInSandbox
        fileLimit = Self.fileLimit(keeping: Set(d.values.map(\.rawValue)), opening: kind.openedInSandbox)
        memoryAllowance = UInt64(kind.memoryAllowance)
        policy = kind.seccompPolicy
    }

    package static let deathPipe = FileDescriptor(rawValue: 3)
    /// Where the reaper puts the sealed topology for `run1`, which reads and
    /// closes it before anything else opens.
    package static let topologyHandoff = FileDescriptor(rawValue: 4)
    package static let firstKindDescriptor: Int32 = 5

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
    package var descriptorList: [(DescriptorRole, FileDescriptor)] {
        descriptors.sorted { $0.value.rawValue < $1.value.rawValue }.map { ($0.key, $0.value) }
    }

    /// The filter the tile loads, compiled for its descriptor numbers.
    package func filter() throws -> SeccompFilter {
        try SeccompFilter(policy, descriptors: descriptors, descriptorLimit: fileLimit)
    }

    /// Namespaces a tile gets of its own, in the order `unshare` creates
    /// them. Every tile has its own network namespace: a socket bound
    /// before the unshare keeps accepting, and nothing can be connected to.
    package static let unsharedNamespaces = ["user", "mount", "ipc", "uts", "cgroup", "network"]

    /// Every limit the tile runs under, `mapped` and `data` being what it
    /// has mapped (VmSize) and its data segment with private writable
    /// mappings (VmData) when it enters the sandbox; nil when not known yet
    /// (`check`).
    /// `keptFiles`: the sizes of the regular files it keeps (a log file,
    /// stderr redirected to a file); nil when not known yet (`check`).
    package func resourceLimits(mapped: UInt64?, data: UInt64?, keptFiles: [UInt64]? = nil) -> [ResourceLimit] {
        ResourceLimit.sandbox(
            fileLimit: fileLimit, addressSpace: mapped.map { $0 + memoryAllowance },
            data: data.map { $0 + memoryAllowance }, allowance: memoryAllowance,
            fileSize: keptFiles.map { sizes in sizes.max().map { $0 + Self.logAllowance } ?? 0 })
    }

    /// How much a tile may grow a regular file it keeps (none, now that its
    /// lines go through the supervisor; kept for a kind that writes one).
    /// Beyond it, SIGXFSZ kills the tile and the supervisor names it.
    package static let logAllowance: UInt64 = 256 << 20
}

/// One resource limit the sandbox sets, with why.
package struct ResourceLimit: Sendable {
    package let resource: Int32
    package let name: String
    /// The limit (soft and hard); nil: left as inherited.
    package let value: UInt64?
    /// How `value` is derived, for a limit only known at entry.
    package let derivation: String?
    package let reason: String

    /// Every limit a sandboxed tile runs under: the declared descriptor
    /// count, its memory at entry plus a declared allowance, zero for what
    /// a tile never needs, and unchanged only where a zero would break the
    /// tile.
    package static func sandbox(
        fileLimit: UInt64, addressSpace: UInt64?, data: UInt64?, allowance: UInt64,
        fileSize: UInt64?
    ) -> [ResourceLimit] {
        memory(addressSpace: addressSpace, data: data, allowance: allowance, at: "entry")
            + [
                ResourceLimit(
                    resource: CSHIM_RLIMIT_NOFILE, name: "RLIMIT_NOFILE", value: fileLimit, derivation: nil,
                    reason: "room for exactly the descriptors the tile opens inside its sandbox")
            ]
            + denied([
                (CSHIM_RLIMIT_NPROC, "RLIMIT_NPROC", "no new process or thread"),
                (CSHIM_RLIMIT_CORE, "RLIMIT_CORE", "no core dump of tile memory"),
                (CSHIM_RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", "no locked memory"),
                (CSHIM_RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", "no POSIX message queues"),
                (CSHIM_RLIMIT_NICE, "RLIMIT_NICE", "no raised priority"),
                (CSHIM_RLIMIT_RTPRIO, "RLIMIT_RTPRIO", "no real-time priority"),
                (CSHIM_RLIMIT_RTTIME, "RLIMIT_RTTIME", "no real-time CPU time"),
                (CSHIM_RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", "no queued signals"),
                (CSHIM_RLIMIT_LOCKS, "RLIMIT_LOCKS", "no file locks"),
            ])
            + [
                ResourceLimit(
                    resource: CSHIM_RLIMIT_FSIZE, name: "RLIMIT_FSIZE", value: fileSize,
                    derivation: "largest regular file kept + \(formatBytes(Int(SandboxProfile.logAllowance))), or 0",
                    reason: "no file it could fill: its log lines go through the supervisor")
            ]
            + [
                (CSHIM_RLIMIT_STACK, "RLIMIT_STACK", "unchanged: the main thread's stack grows on demand (within RLIMIT_AS)"),
                (CSHIM_RLIMIT_CPU, "RLIMIT_CPU", "unchanged: a tile runs as long as the topology"),
            ].map {
                ResourceLimit(resource: $0.0, name: $0.1, value: nil, derivation: nil, reason: $0.2)
            }
    }

    /// RLIMIT_AS and RLIMIT_DATA: what the process holds when it is
    /// confined (`at`), plus `allowance`; nil values until known.
    package static func memory(addressSpace: UInt64?, data: UInt64?, allowance: UInt64, at: String) -> [ResourceLimit] {
        let plus = "+ \(formatBytes(Int(allowance)))"
        return [
            ResourceLimit(
                resource: CSHIM_RLIMIT_AS, name: "RLIMIT_AS", value: addressSpace, derivation: "mapped at \(at) \(plus)",
                reason: "address space: what is mapped at \(at) plus an allowance"),
            ResourceLimit(
                resource: CSHIM_RLIMIT_DATA, name: "RLIMIT_DATA", value: data, derivation: "data at \(at) \(plus)",
                reason: "heap and private memory: what it holds at \(at) plus an allowance"),
        ]
    }

    /// Limits set to 0, with why.
    package static func denied(_ list: [(Int32, String, String)]) -> [ResourceLimit] {
        list.map { ResourceLimit(resource: $0.0, name: $0.1, value: 0, derivation: nil, reason: $0.2) }
    }
}
