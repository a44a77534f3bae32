/// A tile kind with its type erased: what the loader, the layout, `check`
/// and the supervisor need to know about a kind without naming its type.
/// It stores the type and nothing else; every property and call goes to
/// the type's own declaration (see `Tile` for what each means).
public struct TileKind: Sendable {
    public let type: any Tile.Type
    /// The one call that needs the concrete type (the runner is generic
    /// over it, for the stem's specialised loop).
    @usableFromInline let run: @Sendable (TileContext) -> Never

    /// Inlinable: the loop the closure runs is specialised for `T` where
    /// the kind is registered.
    @inlinable
    public init<T: Tile>(_ type: T.Type) {
        self.type = type
        run = { TileRunner.run(T.self, $0) }
        precondition(T.schema.prefix == T.kind, "\(T.kind): its metric schema must use the kind as prefix")
    }

    public var kind: String { type.kind }
    public var summary: String { type.summary }
    public var options: [TileOption] { type.options }
    public var maxCount: Int { type.maxCount }
    public var inputs: ClosedRange<Int> { type.inputs }
    public var outputs: ClosedRange<Int> { type.outputs }
    public var burst: Int { type.burst }
    public var schema: MetricSchema { type.schema }
    public var openedInSandbox: Int { type.openedInSandbox }
    public var memoryAllowance: Int { type.memoryAllowance }
    public var seccompPolicy: SeccompPolicy { type.seccompPolicy }
    public var descriptorRoles: [DescriptorRole] { type.descriptorRoles }
    public var requiredBecause: String? { type.requiredBecause }
    public var floating: Bool { type.floating }
    public func graphLabel(_ tile: TileSpec) -> String? { type.graphLabel(tile) }
    public func scratchFootprint(_ tile: TileSpec) -> Int { type.scratchFootprint(tile) }
    public func preflight(_ tile: TileSpec, _ topology: Topology) throws { try type.preflight(tile, in: topology) }
    public func validate(_ tile: TileSpec, _ topology: Topology) -> TopologyIssue? { type.validate(tile, in: topology) }
    /// Runs a tile of this kind in the current process; never returns.
    public func boot(_ ctx: TileContext) -> Never { run(ctx) }
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
