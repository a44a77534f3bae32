/// One named mapping: a file on hugetlbfs or in /dev/shm.
package struct WorkspaceSpec: Codable, Sendable, Equatable {
    /// `metric.0`: unique within the topology.
    package var name: String
    /// Absolute path of the backing file.
    package var path: String
    package var pageSize: PageSize
    /// Bytes, a multiple of `pageSize`.
    package var footprint: Int
    /// The NUMA node its pages are bound to (`NumaNodes`): its tile's, or
    /// its producer's for a link; nil when that tile is not pinned to one.
    package var node: Int? = nil

    package var pageCount: Int { footprint / pageSize.bytes }
}

/// Where a link instance lives: a workspace of its own.
package struct LinkMemory: Codable, Sendable, Equatable {
    package var workspace: Int
    package var layout: LinkLayout
}

/// Every object's size and offset, computed once from the topology and the
/// chosen backing, so every process finds every object without asking.
package struct TopologyLayout: Codable, Sendable, Equatable {
    package var backing: Backing
    package var workspaces: [WorkspaceSpec]
    /// Parallel to `Topology.tiles`.
    package var tiles: [TileMemory]
    /// Parallel to `Topology.links`.
    package var links: [LinkMemory]

    /// - Parameter normalDirectory: where workspaces on normal pages live:
    ///   the run's own directory in /dev/shm (`NormalPages.runDirectory`);
    ///   nil for a preview, which names it with a placeholder.
    /// - Parameter nodes: the host's NUMA nodes, which place each workspace.
    package init(
        topology: Topology, kinds: TileKinds, backing: Backing, normalDirectory: String? = nil,
        nodes: NumaNodes = .host
    ) {
        self.backing = backing
        let normalDirectory = normalDirectory ?? "/dev/shm/\(Self.filePrefix(topology.name))XXXXXXXXXXXXXXXX"
        var workspaces: [WorkspaceSpec] = []
        var tiles: [TileMemory] = []
        func add(_ name: String, node: Int?, _ footprint: (PageSize) -> Int) -> Int {
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
            workspaces.append(WorkspaceSpec(name: name, path: path, pageSize: page, footprint: footprint(page), node: node))
            return workspaces.count - 1
        }
        for spec in topology.tiles {
            guard let kind = kinds[spec.kind] else { preconditionFailure("unknown kind \(spec.kind) after validation") }
            let metrics = MetricsLayout(inLinkCount: spec.inLinks.count, kindSchema: kind.schema)
            let scratch = kind.scratchFootprint(spec)
            func place(_ page: PageSize) -> (TileMemory, footprint: Int) {
                TileMemory.place(metrics: metrics, inLinks: spec.inLinks.count, scratch: scratch, page: page)
            }
            let index = add("\(spec.kind).\(spec.kindId)", node: nodes.node(of: spec.cpus)) { place($0).1 }
            var memory = place(workspaces[index].pageSize).0
            memory.workspace = index
            tiles.append(memory)
        }
        var links: [LinkMemory] = []
        for link in topology.links {
            let layout = LinkLayout(depth: link.depth, mtu: link.mtu)
            let node = workspaces[tiles[link.producer].workspace].node
            let index = add("link.\(link.name).\(link.kindId)", node: node) { alignUp(layout.footprint, $0.bytes) }
            links.append(LinkMemory(workspace: index, layout: layout))
        }
        self.links = links
        self.workspaces = workspaces
        self.tiles = tiles
    }

    /// Every workspace file of topology `name` in a hugetlbfs mount, and
    /// every run directory of it in /dev/shm, starts with this: a leftover
    /// from a killed run is found by it.
    package static func filePrefix(_ name: String) -> String { "tilectl.\(name)." }

    /// Pages of `size` the workspaces need: all of them, or (`node`) those
    /// bound to that NUMA node.
    package func pagesNeeded(_ size: PageSize, node: Int? = nil) -> Int {
        workspaces.filter { $0.pageSize == size && (node == nil || $0.node == node) }.reduce(0) { $0 + $1.pageCount }
    }

    /// What to have free before the workspaces are created, pool by pool:
    /// for each size, each node's own pool for the workspaces bound to it
    /// (they cannot take pages from another node), then the system's pool
    /// for all of them.
    package var pageNeeds: [PageNeed] {
        var needs: [PageNeed] = []
        for size in [PageSize.gigantic, .huge] {
            let total = pagesNeeded(size)
            guard total > 0 else { continue }
            let nodes = Set(workspaces.filter { $0.pageSize == size }.compactMap(\.node)).sorted()
            needs += nodes.map { PageNeed(pageSize: size, node: $0, count: pagesNeeded(size, node: $0)) }
            needs.append(PageNeed(pageSize: size, node: nil, count: total))
        }
        return needs
    }

    package var totalFootprint: Int { workspaces.reduce(0) { $0 + $1.footprint } }
}

/// Huge pages that must be free in one pool: a node's own (`node`) or the
/// system's (nil).
package struct PageNeed: Sendable, Equatable {
    package var pageSize: PageSize
    package var node: Int?
    package var count: Int

    /// "2 MiB pages" or "2 MiB pages on node 1", for messages.
    package var pool: String { "\(pageSize.label) pages" + (node.map { " on node \($0)" } ?? "") }
}
