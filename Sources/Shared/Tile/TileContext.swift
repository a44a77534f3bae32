#if canImport(Glibc)
import Glibc
#endif

/// What a tile is given at boot: the topology, where its own objects are,
/// and the means to join what it reads of others'. Built by `run1` before
/// privileged init; every mapping it makes happens before the sandbox.
public struct TileContext {
    /// The whole topology, as loaded and checked.
    public let topology: Topology
    package let layout: TopologyLayout
    package let kinds: TileKinds
    /// This tile: its kind, id, name and options (`tile[option]`).
    public let tile: TileSpec
    /// Who the tile becomes in its sandbox; nil when the supervisor runs
    /// without root and the tile stays the invoking user.
    package let identity: TileUser?
    /// The tile's own workspace, mapped read-write.
    package let workspace: TileWorkspace
    /// The tile's own metrics region, to bind cells to at init.
    public let metrics: MetricsWriter
    /// The death pipe's write end, inherited from the supervisor.
    package let deathPipe: FileDescriptor
    /// False only under `run --no-sandbox` (debugging).
    public let sandboxed: Bool
    /// The links the tile consumes, in the order of its inputs.
    @usableFromInline package let inputs: [LinkReader]
    /// The links the tile produces, in the order of its outputs.
    @usableFromInline package let outputs: [LinkProducer]

    package var memory: TileMemory { layout.tiles[tile.index] }

    /// Joins the tile's own workspace and checks the supervisor formatted it
    /// for this tile.
    package init(
        topology: Topology, layout: TopologyLayout, kinds: TileKinds, tile: TileSpec, identity: TileUser?,
        deathPipe: FileDescriptor, sandboxed: Bool
    ) throws {
        guard let kind = kinds[tile.kind] else { throw RuntimeError("this binary has no tile kind \(tile.kind)") }
        let workspace = try TileWorkspace.join(layout, tile: tile.index, name: tile.name)
        self.topology = topology
        self.layout = layout
        self.kinds = kinds
        self.tile = tile
        self.identity = identity
        self.workspace = workspace
        self.metrics = workspace.metricsWriter(kindSchema: kind.schema)
        self.deathPipe = deathPipe
        self.sandboxed = sandboxed
        (inputs, outputs) = try Self.joinLinks(topology, layout, tile, workspace)
    }

    /// Maps every link the tile touches: what it consumes read-only (its
    /// fseqs are in its own workspace), what it produces read-write, with
    /// each reliable consumer's fseq mapped read-only.
    static func joinLinks(
        _ topology: Topology, _ layout: TopologyLayout, _ tile: TileSpec,
        _ own: TileWorkspace
    ) throws -> ([LinkReader], [LinkProducer]) {
        var inputs: [LinkReader] = []
        for (i, index) in tile.inLinks.enumerated() {
            let link = topology.links[index]
            let lm = layout.links[index]
            let mapping = try Workspace.join(layout.workspaces[lm.workspace], writable: false)
            guard let me = link.consumers.first(where: { $0.tile == tile.index && $0.inIndex == i }) else {
                throw RuntimeError("link \(link.label) does not list \(tile.name) as a consumer")
            }
            let fseq = me.reliable ? own.fseq(in: i) : nil
            inputs.append(LinkReader(base: UnsafeRawPointer(mapping.base), layout: lm.layout, fseq: fseq, slot: me.slot))
        }
        var outputs: [LinkProducer] = []
        var consumerSpans: [Int: TileWorkspace] = [:]
        for index in tile.outLinks {
            let link = topology.links[index]
            let lm = layout.links[index]
            let mapping = try Workspace.join(layout.workspaces[lm.workspace], writable: true)
            guard mapping.slots(at: 0)[LinkHeader.magicSlot] == LinkHeader.magic else {
                throw RuntimeError("link workspace \(layout.workspaces[lm.workspace].path) is not formatted")
            }
            var fseqs: [(fseq: UnsafePointer<UInt64>, slot: Int)] = []
            for c in link.consumers where c.reliable {
                let span: TileWorkspace
                if let m = consumerSpans[c.tile] {
                    span = m
                } else {
                    span = try TileWorkspace.joinMetrics(layout, tile: c.tile)
                    consumerSpans[c.tile] = span
                }
                fseqs.append((UnsafePointer(span.fseq(in: c.inIndex)), c.slot))
            }
            outputs.append(LinkProducer(base: mapping.base, layout: lm.layout, fseqs: fseqs))
        }
        return (inputs, outputs)
    }

    /// Moves `fd`, opened in privileged init, to the number its sandbox
    /// profile gives `role` (the number the tile's seccomp filter is
    /// compiled for), and returns it there. The tile keeps it through its
    /// sandbox; it must list `role` in `descriptorRoles`.
    public func keep(_ fd: Int32, as role: DescriptorRole) throws -> FileDescriptor {
        guard let kind = kinds[tile.kind], let i = kind.descriptorRoles.firstIndex(of: role) else {
            Glibc.close(fd)
            throw RuntimeError("\(tile.kind) keeps a descriptor as \"\(role)\" but does not declare that role")
        }
        let target = SandboxProfile.firstKindDescriptor + Int32(i)
        return try FileDescriptor(rawValue: fd).move(to: target)
    }

    /// The halt word the supervisor sets for an orderly stop.
    @usableFromInline var haltSlot: UnsafeMutablePointer<UInt64> { workspace.haltWord }

    /// The tile's scratch parts, placed by the same code that computed the
    /// footprint; a layout that outgrew its footprint stops the boot.
    public func scratch<T: Tile>(_ type: T.Type) throws -> (base: UnsafeMutableRawPointer, parts: T.Scratch) {
        var l = LayoutBuilder()
        let parts = T.layoutScratch(tile, &l)
        guard l.footprint() <= memory.scratchSize else {
            throw RuntimeError("scratch overflow: \(T.kind) needs \(l.footprint()) bytes, has \(memory.scratchSize)")
        }
        return (workspace.scratch.base, parts)
    }

    /// Maps `other`'s header and metrics region read-only: a write through
    /// it faults.
    package func joinMetricsReadOnly(of other: TileSpec) throws -> (mapping: WorkspaceMapping, reader: MetricsReader) {
        let w = try TileWorkspace.joinMetrics(layout, tile: other.index)
        return (w.mapping, w.metricsReader)
    }
}

/// Sleeps until the monotonic clock reads `deadline` (ns).
public func sleepUntil(monotonicNanos deadline: Int64) {
    var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
    _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
}
