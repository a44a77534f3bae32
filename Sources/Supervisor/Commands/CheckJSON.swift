#if canImport(Glibc)
import Glibc
#endif
import Shared

/// `check --json` (docs/schema/check.schema.json): the resolved topology,
/// its workspaces, and with `--sandbox` each kind's sandbox and the
/// supervisor's and reaper's confinement.
struct CheckJSON: Encodable {
    let schema = JSONOutput.schema("check")
    let tilectl = BuildInfo.description
    let topology: String
    let file: String
    /// `dynamic`, or the user every tile runs as.
    let user: String
    let idle: String
    let pageSize: String
    /// What the page-size decision found (the text report's notices).
    let pageSizeNotes: [String]
    let logPath: JSONOutput.OrNull<String>
    let tiles: [Tile]
    let links: [Link]
    let workspaces: [Workspace]
    let totalFootprintBytes: Int
    let warnings: [String]
    let sandbox: JSONOutput.OrNull<Sandbox>

    struct Tile: Encodable {
        let name: String
        let kind: String
        let kindId: Int
        let idle: String
        /// The CPUs it may run on (empty: any); more than one: floating.
        let cpus: [Int]
        let options: [String: JSONOutput.Value]
    }

    struct Link: Encodable {
        let name: String
        let kindId: Int
        let producer: String
        let consumers: [String]
        let depth: Int
        let mtu: Int
        let reliable: Bool
    }

    struct Workspace: Encodable {
        let name: String
        let path: String
        let footprintBytes: Int
        let pageSize: String
        let pageBytes: Int
        let pages: Int
        /// The NUMA node it is bound to, or null.
        let node: JSONOutput.OrNull<Int>
    }

    struct Sandbox: Encodable {
        /// The Landlock ABI this kernel enforces, or null without Landlock.
        let landlockAbi: JSONOutput.OrNull<Int32>
        let kinds: [Kind]
        let confinements: [Confinement]

        struct Kind: Encodable {
            let kind: String
            let tiles: [String]
            let runsAs: String
            let namespaces: [String]
            let descriptors: [Descriptor]
            let rlimits: [JSONOutput.Limit]
            let seccomp: JSONOutput.Seccomp
            let exposure: JSONOutput.Exposure
        }

        struct Descriptor: Encodable {
            let fd: Int32
            let role: String
        }

        struct Confinement: Encodable {
            let name: String
            let when: String
            let namespaces: [String]
            let filesystem: String
            let rlimits: [JSONOutput.Limit]
            let seccomp: JSONOutput.Seccomp
            let exposure: JSONOutput.Exposure
        }
    }

    init(_ t: Topology, _ plan: ShmemPlan, kinds: TileKinds, sandbox: Bool) throws {
        topology = t.name
        file = t.source
        switch t.user {
        case .dynamic: user = "dynamic"
        case .named(let u): user = u.name
        }
        idle = t.layout.idle.rawValue
        pageSize = t.shmem.pageSize.rawValue
        pageSizeNotes = plan.notices
        logPath = JSONOutput.OrNull(t.log.path)
        tiles = t.tiles.map {
            Tile(
                name: $0.name, kind: $0.kind, kindId: $0.kindId, idle: t.idle(of: $0).rawValue, cpus: $0.cpus,
                options: $0.options.mapValues { .option($0) })
        }
        links = t.links.map { link in
            Link(
                name: link.name, kindId: link.kindId, producer: t.tiles[link.producer].name,
                consumers: link.consumers.map { t.tiles[$0.tile].name }, depth: link.depth, mtu: link.mtu, reliable: link.reliable)
        }
        workspaces = plan.layout.workspaces.map {
            Workspace(
                name: $0.name, path: $0.path, footprintBytes: $0.footprint, pageSize: $0.pageSize.label, pageBytes: $0.pageSize.bytes,
                pages: $0.pageCount, node: JSONOutput.OrNull($0.node))
        }
        totalFootprintBytes = plan.layout.totalFootprint
        warnings = Affinity.sharedBySpinners(t).map { cpu, tiles in
            "CPU \(cpu) is shared by \(tiles.count) spinning tiles (\(tiles.joined(separator: ", "))): they take turns"
        }
        guard sandbox else {
            self.sandbox = JSONOutput.OrNull(nil)
            return
        }
        let (landlock, sandboxes, confinements) = try CheckCommand.sandboxes(t, kinds: kinds)
        func limits(_ l: [ResourceLimit]) -> [JSONOutput.Limit] { l.map(JSONOutput.Limit.init) }
        let report = Sandbox(
            landlockAbi: JSONOutput.OrNull(landlock),
            kinds: try sandboxes.map { k in
                Sandbox.Kind(
                    kind: k.kind, tiles: k.tiles.map(\.name), runsAs: k.who, namespaces: SandboxProfile.unsharedNamespaces,
                    descriptors: k.profile.descriptorList.map { Sandbox.Descriptor(fd: $0.1.rawValue, role: $0.0.name) },
                    rlimits: limits(k.profile.resourceLimits(mapped: nil, data: nil)),
                    seccomp: JSONOutput.Seccomp(k.profile.policy, k.filter, instructions: try k.filter.instructionCount()),
                    exposure: JSONOutput.Exposure(k.exposure))
            },
            confinements: confinements.map { c in
                Sandbox.Confinement(
                    name: c.confinement.name, when: c.when, namespaces: c.confinement.namespaces, filesystem: c.filesystem,
                    rlimits: limits(c.confinement.resourceLimits(mapped: nil, data: nil, highestDescriptor: nil)),
                    seccomp: JSONOutput.Seccomp(c.confinement.policy, try? c.confinement.filter(), instructions: nil),
                    exposure: JSONOutput.Exposure(c.confinement.exposure(landlockABI: landlock, filesystemLimited: true)))
            })
        self.sandbox = JSONOutput.OrNull(report)
    }
}
