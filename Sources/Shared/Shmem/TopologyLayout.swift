/// The header at offset 0 of every tile workspace, formatted by the
/// supervisor. Slots are UInt64 words.
public enum TileHeader {
    public static let size = 64
    /// Slot 0: identifies a formatted tile workspace.
    public static let magicSlot = 0
    public static let magic: UInt64 = 0x3130_4C54_4345_4C49  // "ILECTL01", little-endian
    /// Slot 1: set to 1 by the supervisor to ask the tile for an orderly stop.
    public static let haltSlot = 1
    /// Slot 2: the tile's index in the topology, for consistency checks.
    public static let tileIndexSlot = 2
}

/// One named mapping: a file on hugetlbfs or in /dev/shm.
public struct WorkspaceSpec: Codable, Sendable, Equatable {
    /// `metric.0`: unique within the topology.
    public var name: String
    /// Absolute path of the backing file.
    public var path: String
    public var pageSize: PageSize
    /// Bytes, a multiple of `pageSize`.
    public var footprint: Int

    public var pageCount: Int { footprint / pageSize.bytes }
}

/// Where a tile's objects live inside its workspace:
///
///     [header 64 B][metrics region]   padded to a page: the part others map read-only
///     [scratch]                       page-aligned; only the tile maps it
public struct TileMemory: Codable, Sendable, Equatable {
    /// Index into `TopologyLayout.workspaces`.
    public var workspace: Int
    public var metrics: MetricsLayout
    public var metricsOffset: Int
    /// Bytes from offset 0 covering the header and the metrics region,
    /// rounded to the page size: the span the metric tile maps read-only.
    public var metricsSpan: Int
    public var scratchOffset: Int
    public var scratchSize: Int
}

/// Every object's size and offset, computed once from the topology and the
/// chosen backing, so every process finds every object without asking.
public struct TopologyLayout: Codable, Sendable, Equatable {
    public var backing: Backing
    public var workspaces: [WorkspaceSpec]
    /// Parallel to `Topology.tiles`.
    public var tiles: [TileMemory]

    public init(topology: Topology, kinds: TileKinds, backing: Backing) {
        self.backing = backing
        var workspaces: [WorkspaceSpec] = []
        var tiles: [TileMemory] = []
        for spec in topology.tiles {
            guard let kind = kinds[spec.kind] else { preconditionFailure("unknown kind \(spec.kind) after validation") }
            let metrics = MetricsLayout(inLinkCount: 0, kindSchema: kind.schema)
            let scratch = kind.scratchFootprint(spec)
            // The page size depends on the footprint (gigantic pages only for
            // workspaces of 1 GiB or more), and the footprint on the page
            // size: place with 2 MiB pages first, then with the final size.
            func place(_ page: PageSize) -> (TileMemory, Int) {
                var l = LayoutBuilder()
                _ = l.append(TileHeader.size, align: 64)
                let metricsOffset = l.append(metrics.footprint, align: 64)
                let span = alignUp(l.end, page.bytes)
                let scratchOffset = scratch > 0 ? l.append(scratch, align: page.bytes) : span
                let footprint = alignUp(max(l.end, span), page.bytes)
                let memory = TileMemory(
                    workspace: workspaces.count, metrics: metrics, metricsOffset: metricsOffset,
                    metricsSpan: span, scratchOffset: scratchOffset, scratchSize: scratch)
                return (memory, footprint)
            }
            let firstPass = place(backing.pageSize(forFootprint: 0)).1
            let page = backing.pageSize(forFootprint: firstPass)
            let (memory, footprint) = place(page)
            let name = "\(spec.kind).\(spec.kindId)"
            let dir = page.directory(hugetlbfsBase: topology.shmem.hugetlbfsMount)
            workspaces.append(WorkspaceSpec(
                name: name, path: "\(dir)/\(Self.filePrefix(topology.name))\(name).wksp",
                pageSize: page, footprint: footprint))
            tiles.append(memory)
        }
        self.workspaces = workspaces
        self.tiles = tiles
    }

    /// Every workspace file of topology `name` starts with this, in any
    /// directory: a leftover from a killed run is found by it.
    public static func filePrefix(_ name: String) -> String { "tilectl.\(name)." }

    /// Pages of `size` the workspaces need.
    public func pagesNeeded(_ size: PageSize) -> Int {
        workspaces.filter { $0.pageSize == size }.reduce(0) { $0 + $1.pageCount }
    }

    public var totalFootprint: Int { workspaces.reduce(0) { $0 + $1.footprint } }
}
