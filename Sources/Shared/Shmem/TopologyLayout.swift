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
///     [header 64 B][metrics region][fseq per in-link, 64 B each]   padded to a page:
///                                           the part others map read-only
///     [scratch]                             page-aligned; only the tile maps it
public struct TileMemory: Codable, Sendable, Equatable {
    /// Index into `TopologyLayout.workspaces`.
    public var workspace: Int
    public var metrics: MetricsLayout
    public var metricsOffset: Int
    /// The flow-control word of in-link i is at `fseqOffset + 64 * i`, each
    /// on its own cache line (the producer polls it).
    public var fseqOffset: Int
    /// Bytes from offset 0 covering the header and the metrics region,
    /// rounded to the page size: the span the metric tile maps read-only.
    public var metricsSpan: Int
    public var scratchOffset: Int
    public var scratchSize: Int
}

/// Where a link instance lives: a workspace of its own.
public struct LinkMemory: Codable, Sendable, Equatable {
    public var workspace: Int
    public var layout: LinkLayout
}

/// Every object's size and offset, computed once from the topology and the
/// chosen backing, so every process finds every object without asking.
public struct TopologyLayout: Codable, Sendable, Equatable {
    public var backing: Backing
    public var workspaces: [WorkspaceSpec]
    /// Parallel to `Topology.tiles`.
    public var tiles: [TileMemory]
    /// Parallel to `Topology.links`.
    public var links: [LinkMemory]

    /// - Parameter normalDirectory: where workspaces on normal pages live:
    ///   the run's own directory in /dev/shm (`NormalPages.runDirectory`);
    ///   nil for a preview, which names it with a placeholder.
    public init(topology: Topology, kinds: TileKinds, backing: Backing, normalDirectory: String? = nil) {
        self.backing = backing
        let normalDirectory = normalDirectory ?? "/dev/shm/\(Self.filePrefix(topology.name))XXXXXXXXXXXXXXXX"
        var workspaces: [WorkspaceSpec] = []
        var tiles: [TileMemory] = []
        func add(_ name: String, _ footprint: (PageSize) -> Int) -> Int {
            // The page size depends on the footprint (gigantic pages only for
            // workspaces of 1 GiB or more), and the footprint on the page
            // size: measure with 2 MiB pages first, then with the final size.
            let page = backing.pageSize(forFootprint: footprint(backing.pageSize(forFootprint: 0)))
            // In the run's own directory on normal pages; in the shared
            // (root-only) hugetlbfs mount, named after the topology.
            let path = page == .normal
                ? "\(normalDirectory)/\(name).wksp"
                : "\(page.directory(hugetlbfsBase: topology.shmem.hugetlbfsMount))/\(Self.filePrefix(topology.name))\(name).wksp"
            workspaces.append(WorkspaceSpec(name: name, path: path, pageSize: page, footprint: footprint(page)))
            return workspaces.count - 1
        }
        for spec in topology.tiles {
            guard let kind = kinds[spec.kind] else { preconditionFailure("unknown kind \(spec.kind) after validation") }
            let metrics = MetricsLayout(inLinkCount: spec.inLinks.count, kindSchema: kind.schema)
            let scratch = kind.scratchFootprint(spec)
            func place(_ page: PageSize) -> (TileMemory, Int) {
                var l = LayoutBuilder()
                _ = l.append(TileHeader.size, align: 64)
                let metricsOffset = l.append(metrics.footprint, align: 64)
                let fseqOffset = l.append(spec.inLinks.count * 64, align: 64)
                let span = alignUp(l.end, page.bytes)
                let scratchOffset = scratch > 0 ? l.append(scratch, align: page.bytes) : span
                let footprint = alignUp(max(l.end, span), page.bytes)
                let memory = TileMemory(
                    workspace: -1, metrics: metrics, metricsOffset: metricsOffset, fseqOffset: fseqOffset,
                    metricsSpan: span, scratchOffset: scratchOffset, scratchSize: scratch)
                return (memory, footprint)
            }
            let index = add("\(spec.kind).\(spec.kindId)") { place($0).1 }
            var memory = place(workspaces[index].pageSize).0
            memory.workspace = index
            tiles.append(memory)
        }
        var links: [LinkMemory] = []
        for link in topology.links {
            let layout = LinkLayout(depth: link.depth, mtu: link.mtu)
            let index = add("link.\(link.name).\(link.kindId)") { alignUp(layout.footprint, $0.bytes) }
            links.append(LinkMemory(workspace: index, layout: layout))
        }
        self.links = links
        self.workspaces = workspaces
        self.tiles = tiles
    }

    /// Every workspace file of topology `name` in a hugetlbfs mount, and
    /// every run directory of it in /dev/shm, starts with this: a leftover
    /// from a killed run is found by it.
    public static func filePrefix(_ name: String) -> String { "tilectl.\(name)." }

    /// Pages of `size` the workspaces need.
    public func pagesNeeded(_ size: PageSize) -> Int {
        workspaces.filter { $0.pageSize == size }.reduce(0) { $0 + $1.pageCount }
    }

    public var totalFootprint: Int { workspaces.reduce(0) { $0 + $1.footprint } }
}
