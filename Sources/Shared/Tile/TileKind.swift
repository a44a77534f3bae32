/// A tile kind with its type erased: what the loader, the layout, `check`
/// and the supervisor need to know about a kind without naming its type.
/// It stores the type and nothing else; every property and call goes to
/// the type's own declaration (see `Tile` for what each means).
public struct TileKind: Sendable {
    @usableFromInline package let type: any Tile.Type
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

    /// The kind's name (`T.kind`).
    public var kind: String { type.kind }
    package var summary: String { type.summary }
    package var options: [TileOption] { type.options }
    package var maxCount: Int { type.maxCount }
    package var inputs: ClosedRange<Int> { type.inputs }
    package var outputs: ClosedRange<Int> { type.outputs }
    package var burst: Int { type.burst }
    package var schema: MetricSchema { type.schema }
    package var openedInSandbox: Int { type.openedInSandbox }
    package var memoryAllowance: Int { type.memoryAllowance }
    package var seccompPolicy: SeccompPolicy { type.seccompPolicy }
    package var descriptorRoles: [DescriptorRole] { type.descriptorRoles }
    package var requiredBecause: String? { type.requiredBecause }
    package var floating: Bool { type.floating }
    package func graphLabel(_ tile: TileSpec) -> String? { type.graphLabel(tile) }
    package func scratchFootprint(_ tile: TileSpec) -> Int { type.scratchFootprint(tile) }
    package func preflight(_ tile: TileSpec, _ topology: Topology) throws { try type.preflight(tile, in: topology) }
    package func validate(_ tile: TileSpec, _ topology: Topology) -> TopologyIssue? { type.validate(tile, in: topology) }
    /// Runs a tile of this kind in the current process; never returns.
    package func boot(_ ctx: TileContext) -> Never { run(ctx) }
}

/// Every tile kind the binary knows, by name.
public struct TileKinds: Sendable {
    /// The kinds, in registration order (the order `check` lists them).
    public let all: [TileKind]

    /// The binary's kinds. Two kinds with one name is a programming error
    /// (precondition failure at start).
    public init(_ kinds: [TileKind]) {
        precondition(Set(kinds.map(\.kind)).count == kinds.count, "duplicate tile kinds")
        all = kinds
    }

    package subscript(kind: String) -> TileKind? { all.first { $0.kind == kind } }

    package var names: [String] { all.map(\.kind) }
}
