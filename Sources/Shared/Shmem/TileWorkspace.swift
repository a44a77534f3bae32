import CShim

/// The header at offset 0 of every tile workspace, formatted by the
/// supervisor. Slots are UInt64 words.
package enum TileHeader {
    package static let size = 64
    /// Slot 0: identifies a formatted tile workspace.
    package static let magicSlot = 0
    package static let magic: UInt64 = 0x3130_4C54_4345_4C49  // "ILECTL01", little-endian
    /// Slot 1: set to 1 by the supervisor to ask the tile for an orderly stop.
    package static let haltSlot = 1
    /// Slot 2: the tile's index in the topology, for consistency checks.
    package static let tileIndexSlot = 2
}

/// Where a tile's objects live inside its workspace:
///
///     [header 64 B][metrics region][fseq per in-link, 64 B each]   padded to a page:
///                                           the part others map read-only
///     [scratch]                             page-aligned; only the tile maps it
package struct TileMemory: Codable, Sendable, Equatable {
    /// Index into `TopologyLayout.workspaces`.
    package var workspace: Int
    package var metrics: MetricsLayout
    package var metricsOffset: Int
    /// The flow-control word of in-link i is at `fseqOffset + fseqStride * i`,
    /// each on its own cache line (the producer polls it).
    package var fseqOffset: Int
    /// Bytes from offset 0 covering the header and the metrics region,
    /// rounded to the page size: the span the metric tile maps read-only.
    package var metricsSpan: Int
    package var scratchOffset: Int
    package var scratchSize: Int

    /// Bytes between two in-links' flow-control words: a cache line each.
    package static let fseqStride = 64

    /// Places the objects of a tile with `metrics` and `inLinks` in-links
    /// and `scratch` bytes of scratch on pages of `page`; returns them and
    /// the workspace's footprint. `workspace` is left for the caller.
    static func place(metrics: MetricsLayout, inLinks: Int, scratch: Int, page: PageSize) -> (TileMemory, footprint: Int) {
        var l = LayoutBuilder()
        _ = l.append(TileHeader.size, align: 64)
        let metricsOffset = l.append(metrics.footprint, align: 64)
        let fseqOffset = l.append(inLinks * fseqStride, align: 64)
        let span = alignUp(l.end, page.bytes)
        let scratchOffset = scratch > 0 ? l.append(scratch, align: page.bytes) : span
        let footprint = alignUp(max(l.end, span), page.bytes)
        let memory = TileMemory(
            workspace: -1, metrics: metrics, metricsOffset: metricsOffset, fseqOffset: fseqOffset,
            metricsSpan: span, scratchOffset: scratchOffset, scratchSize: scratch)
        return (memory, footprint)
    }
}

/// One tile's workspace, mapped: the only code that knows where its header
/// words, metrics region and flow-control words are.
///
/// Lifecycle: the supervisor creates the file (`Workspace.create`) and
/// `format`s it; the tile `join`s it, which verifies the format; the
/// supervisor asks for a stop with `halt`; the metric tile, the supervisor
/// and `monitor` read its metrics through `joinMetrics` (read-only, the
/// header and metrics region only); whoever joined it `leave`s.
package struct TileWorkspace: @unchecked Sendable {
    package let mapping: WorkspaceMapping
    package let memory: TileMemory

    package init(_ mapping: WorkspaceMapping, _ memory: TileMemory) {
        self.mapping = mapping
        self.memory = memory
    }

    /// Maps tile `index`'s whole workspace read-write (the tile itself) and
    /// checks the supervisor formatted it for that tile.
    package static func join(_ layout: TopologyLayout, tile index: Int, name: String) throws -> TileWorkspace {
        let memory = layout.tiles[index]
        let spec = layout.workspaces[memory.workspace]
        let w = TileWorkspace(try Workspace.join(spec, writable: true), memory)
        guard w.isFormatted(forTile: index) else {
            w.leave()
            throw RuntimeError("workspace \(spec.path) is not formatted for tile \(name)")
        }
        return w
    }

    /// Maps tile `index`'s header and metrics region read-only (a write
    /// through it faults): for whoever reads its metrics or its fseqs.
    package static func joinMetrics(_ layout: TopologyLayout, tile index: Int) throws -> TileWorkspace {
        let memory = layout.tiles[index]
        let mapping = try Workspace.join(
            layout.workspaces[memory.workspace], offset: 0, length: memory.metricsSpan,
            writable: false)
        return TileWorkspace(mapping, memory)
    }

    package func leave() { mapping.leave() }

    private var header: UnsafeMutablePointer<UInt64> { mapping.slots(at: 0) }

    /// Writes the header and the metrics region's own description into a
    /// new (zeroed) workspace for tile `index`. The magic goes last, with
    /// release order: a tile trusts a workspace only once it is whole.
    package func format(tileIndex index: Int) {
        header[TileHeader.tileIndexSlot] = UInt64(index)
        mapping.slots(at: memory.metricsOffset)[memory.metrics.inLinkCountSlot] = UInt64(memory.metrics.inLinkCount)
        cshim_store_release_u64(header + TileHeader.magicSlot, TileHeader.magic)
    }

    /// Whether the supervisor formatted this workspace for tile `index`.
    package func isFormatted(forTile index: Int) -> Bool {
        cshim_load_acquire_u64(header + TileHeader.magicSlot) == TileHeader.magic
            && header[TileHeader.tileIndexSlot] == UInt64(index)
    }

    /// Asks the tile for an orderly stop (it polls `haltWord`).
    package func halt() { cshim_store_release_u64(haltWord, 1) }

    /// The word the supervisor sets to 1 to stop the tile.
    package var haltWord: UnsafeMutablePointer<UInt64> { header + TileHeader.haltSlot }

    /// The flow-control word of the tile's in-link `i`: written by the tile,
    /// read by the link's producer.
    package func fseq(in i: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(i >= 0 && i < memory.metrics.inLinkCount, "in-link \(i) of \(memory.metrics.inLinkCount)")
        return mapping.slots(at: memory.fseqOffset + TileMemory.fseqStride * i)
    }

    /// The tile's metrics, read with relaxed loads.
    package var metricsReader: MetricsReader {
        MetricsReader(base: UnsafePointer(mapping.slots(at: memory.metricsOffset)), layout: memory.metrics)
    }

    /// The tile's metrics, for the tile itself to write.
    package func metricsWriter(kindSchema: MetricSchema) -> MetricsWriter {
        precondition(mapping.writable, "metrics written through a read-only mapping")
        return MetricsWriter(base: mapping.slots(at: memory.metricsOffset), layout: memory.metrics, kindSchema: kindSchema)
    }

    /// The tile's scratch: its first byte and its size.
    package var scratch: (base: UnsafeMutableRawPointer, size: Int) { (mapping.base + memory.scratchOffset, memory.scratchSize) }
}
