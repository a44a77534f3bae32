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
            let path =
                page == .normal
                ? "\(normalDirectory)/\(name).wksp"
                : "\(page.directory(hugetlbfsBase: topology.shmem.hugetlbfsMount))/\(Self.filePrefix(topology.name))\(name).wksp"
            workspaces.append(WorkspaceSpec(name: name, path: path, pageSize: page, footprint: footprint(page)))
            return workspaces.count - 1
        }
        for spec in topology.tiles {
            guard let kind = kinds[spec.kind] else { preconditionFailure("unknown kind \(spec.kind) after validation") }
            let metrics = MetricsLayout(inLinkCount: spec.inLinks.count, kindSchema: kind.schema)
            let scratch = kind.scratchFootprint(spec)
            func place(_ page: PageSize) -> (TileMemory, footprint: Int) {
                TileMemory.place(metrics: metrics, inLinks: spec.inLinks.count, scratch: scratch, page: page)
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
