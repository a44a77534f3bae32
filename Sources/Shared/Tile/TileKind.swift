/// A tile kind with its type erased: what the loader, the layout, `check`
/// and the supervisor need to know about a kind without naming its type.
public struct TileKind: Sendable {
    public let kind: String
    public let summary: String
    public let options: [TileOption]
    public let maxCount: Int
    public let inputs: ClosedRange<Int>
    public let outputs: ClosedRange<Int>
    public let burst: Int
    public let schema: MetricSchema
    public let openedInSandbox: Int
    public let memoryAllowance: Int
    public let seccompPolicy: SeccompPolicy
    public let descriptorRoles: [DescriptorRole]
    public let scratchFootprint: @Sendable (TileSpec) -> Int
    public let preflight: @Sendable (TileSpec, Topology) throws -> Void
    public let validate: @Sendable (TileSpec, Topology) -> TopologyIssue?
    /// Runs a tile of this kind in the current process; never returns.
    public let boot: @Sendable (TileContext) -> Never

    public init<T: Tile>(_ type: T.Type) {
        kind = T.kind
        summary = T.summary
        options = T.options
        maxCount = T.maxCount
        inputs = T.inputs
        outputs = T.outputs
        burst = T.burst
        schema = T.schema
        openedInSandbox = T.openedInSandbox
        memoryAllowance = T.memoryAllowance
        seccompPolicy = T.seccompPolicy
        descriptorRoles = T.descriptorRoles
        scratchFootprint = { T.scratchFootprint($0) }
        preflight = { try T.preflight($0, in: $1) }
        validate = { T.validate($0, in: $1) }
        boot = { TileRunner.run(T.self, $0) }
        precondition(schema.prefix == kind, "\(kind): its metric schema must use the kind as prefix")
    }
}

/// Every tile kind the binary knows, by name.
public struct TileKinds: Sendable {
    public let all: [TileKind]

    public init(_ kinds: [TileKind]) {
        precondition(Set(kinds.map(\.kind)).count == kinds.count, "duplicate tile kinds")
        all = kinds
    }

    public subscript(kind: String) -> TileKind? { all.first { $0.kind == kind } }

    public var names: [String] { all.map(\.kind) }
}
