#if canImport(Glibc)
import Glibc
#endif

/// What a tile is given at boot: the topology, where its own objects are,
/// and the means to join what it reads of others'. Built by `run1` before
/// privileged init; every mapping it makes happens before the sandbox.
public struct TileContext {
    public let topology: Topology
    public let layout: TopologyLayout
    public let kinds: TileKinds
    public let tile: TileSpec
    /// The tile's own workspace, mapped read-write.
    public let workspace: WorkspaceMapping
    public let metrics: MetricsWriter
    /// The death pipe's write end, inherited from the supervisor.
    public let deathPipe: FileDescriptor
    /// False only under `run --no-sandbox` (debugging).
    public let sandboxed: Bool

    public var memory: TileMemory { layout.tiles[tile.index] }

    /// Joins the tile's own workspace and checks the supervisor formatted it
    /// for this tile.
    public init(topology: Topology, layout: TopologyLayout, kinds: TileKinds, tile: TileSpec,
                deathPipe: FileDescriptor, sandboxed: Bool) throws {
        guard let kind = kinds[tile.kind] else { throw TileBootError("this binary has no tile kind \(tile.kind)") }
        let memory = layout.tiles[tile.index]
        let spec = layout.workspaces[memory.workspace]
        let mapping = try Workspace.join(spec, writable: true)
        let header = mapping.slots(at: 0)
        guard header[TileHeader.magicSlot] == TileHeader.magic, header[TileHeader.tileIndexSlot] == UInt64(tile.index) else {
            mapping.leave()
            throw TileBootError("workspace \(spec.path) is not formatted for tile \(tile.name)")
        }
        self.topology = topology
        self.layout = layout
        self.kinds = kinds
        self.tile = tile
        self.workspace = mapping
        self.metrics = MetricsWriter(base: mapping.slots(at: memory.metricsOffset), layout: memory.metrics,
                                     kindSchema: kind.schema)
        self.deathPipe = deathPipe
        self.sandboxed = sandboxed
    }

    /// The halt word the supervisor sets for an orderly stop.
    var haltSlot: UnsafeMutablePointer<UInt64> { workspace.slots(at: 0) + TileHeader.haltSlot }

    /// The tile's scratch parts, placed by the same code that computed the
    /// footprint; a layout that outgrew its footprint stops the boot.
    public func scratch<T: Tile>(_ type: T.Type) throws -> (base: UnsafeMutableRawPointer, parts: T.Scratch) {
        var l = LayoutBuilder()
        let parts = T.layoutScratch(tile, &l)
        guard l.footprint() <= memory.scratchSize else {
            throw TileBootError("scratch overflow: \(T.kind) needs \(l.footprint()) bytes, has \(memory.scratchSize)")
        }
        return (workspace.base + memory.scratchOffset, parts)
    }

    /// Maps `other`'s header and metrics region read-only: a write through
    /// it faults.
    public func joinMetricsReadOnly(of other: TileSpec) throws -> (mapping: WorkspaceMapping, reader: MetricsReader) {
        let m = layout.tiles[other.index]
        let mapping = try Workspace.join(layout.workspaces[m.workspace], offset: 0, length: m.metricsSpan, writable: false)
        let base = UnsafePointer(mapping.slots(at: m.metricsOffset))
        return (mapping, MetricsReader(base: base, layout: m.metrics))
    }
}

/// A boot step that failed in a way no syscall names.
public struct TileBootError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Sleeps until the monotonic clock reads `deadline` (ns).
public func sleepUntil(monotonicNanos deadline: Int64) {
    var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
    _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
}
