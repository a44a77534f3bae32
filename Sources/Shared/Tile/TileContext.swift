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
    /// Who the tile becomes in its sandbox; nil when the supervisor runs
    /// without root and the tile stays the invoking user.
    public let identity: TileUser?
    /// The tile's own workspace, mapped read-write.
    public let workspace: WorkspaceMapping
    public let metrics: MetricsWriter
    /// The death pipe's write end, inherited from the supervisor.
    public let deathPipe: FileDescriptor
    /// False only under `run --no-sandbox` (debugging).
    public let sandboxed: Bool
    /// The links the tile consumes, in the order of its inputs.
    public let inputs: [LinkReader]
    /// The links the tile produces, in the order of its outputs.
    public let outputs: [LinkProducer]

    public var memory: TileMemory { layout.tiles[tile.index] }

    /// Joins the tile's own workspace and checks the supervisor formatted it
    /// for this tile.
    public init(topology: Topology, layout: TopologyLayout, kinds: TileKinds, tile: TileSpec, identity: TileUser?,
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
        self.identity = identity
        self.workspace = mapping
        self.metrics = MetricsWriter(base: mapping.slots(at: memory.metricsOffset), layout: memory.metrics,
                                     kindSchema: kind.schema)
        self.deathPipe = deathPipe
        self.sandboxed = sandboxed
        (inputs, outputs) = try Self.joinLinks(topology, layout, tile, mapping)
    }

    /// Maps every link the tile touches: what it consumes read-only (its
    /// fseqs are in its own workspace), what it produces read-write, with
    /// each reliable consumer's fseq mapped read-only.
    static func joinLinks(_ topology: Topology, _ layout: TopologyLayout, _ tile: TileSpec,
                          _ own: WorkspaceMapping) throws -> ([LinkReader], [LinkProducer]) {
        let memory = layout.tiles[tile.index]
        var inputs: [LinkReader] = []
        for (i, index) in tile.inLinks.enumerated() {
            let link = topology.links[index]
            let lm = layout.links[index]
            let mapping = try Workspace.join(layout.workspaces[lm.workspace], writable: false)
            guard let me = link.consumers.first(where: { $0.tile == tile.index && $0.inIndex == i }) else {
                throw TileBootError("link \(link.label) does not list \(tile.name) as a consumer")
            }
            let fseq = me.reliable ? (own.base + memory.fseqOffset + 64 * i).assumingMemoryBound(to: UInt64.self) : nil
            inputs.append(LinkReader(base: UnsafeRawPointer(mapping.base), layout: lm.layout, fseq: fseq, slot: me.slot))
        }
        var outputs: [LinkProducer] = []
        var consumerSpans: [Int: WorkspaceMapping] = [:]
        for index in tile.outLinks {
            let link = topology.links[index]
            let lm = layout.links[index]
            let mapping = try Workspace.join(layout.workspaces[lm.workspace], writable: true)
            guard mapping.slots(at: 0)[LinkHeader.magicSlot] == LinkHeader.magic else {
                throw TileBootError("link workspace \(layout.workspaces[lm.workspace].path) is not formatted")
            }
            var fseqs: [(fseq: UnsafePointer<UInt64>, slot: Int)] = []
            for c in link.consumers where c.reliable {
                let cm = layout.tiles[c.tile]
                let span: WorkspaceMapping
                if let m = consumerSpans[c.tile] {
                    span = m
                } else {
                    span = try Workspace.join(layout.workspaces[cm.workspace], offset: 0, length: cm.metricsSpan, writable: false)
                    consumerSpans[c.tile] = span
                }
                fseqs.append((UnsafePointer((span.base + cm.fseqOffset + 64 * c.inIndex).assumingMemoryBound(to: UInt64.self)), c.slot))
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
            throw TileBootError("\(tile.kind) keeps a descriptor as \"\(role)\" but does not declare that role")
        }
        let target = SandboxProfile.firstKindDescriptor + Int32(i)
        return try FileDescriptor(rawValue: fd).move(to: target)
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
