#if canImport(Glibc)
import Glibc
#endif
import CShim
import Testing

@testable import Shared

/// Workspaces on their tile's NUMA node, computed from a fake host of
/// two nodes (this machine has one).
struct NumaTests {
    /// Node 0: CPUs 0-3; node 1: CPUs 4-7; node 2: CPU 8, no memory.
    static let nodes = NumaNodes(cpusOfNode: [0: [0, 1, 2, 3], 1: [4, 5, 6, 7], 2: [8]], withMemory: [0, 1])

    @Test func aTilesNodeIsTheOneAllItsCPUsAreOn() {
        #expect(Self.nodes.node(of: [5]) == 1)
        #expect(Self.nodes.node(of: [0, 3]) == 0)
        #expect(Self.nodes.node(of: [3, 4]) == nil, "spans two nodes: bound to neither")
        #expect(Self.nodes.node(of: []) == nil, "not pinned")
        #expect(Self.nodes.node(of: [8]) == nil, "a node without memory holds no workspace")
        #expect(Self.nodes.node(of: [99]) == nil, "a CPU no node lists")
    }

    /// source (CPU 1, node 0) → verify ×2 (CPUs 4, 5: node 1) → sink
    /// (CPU 2, node 0), and a floating tile over CPUs 3 and 6.
    static func topology() -> Topology {
        var tiles = [
            TileSpec(index: 0, kind: "fake", kindId: 0, options: [:], outLinks: [0]),
            TileSpec(index: 1, kind: "fake", kindId: 1, options: [:], inLinks: [0], outLinks: [1]),
            TileSpec(index: 2, kind: "fake", kindId: 2, options: [:], inLinks: [0], outLinks: [2]),
            TileSpec(index: 3, kind: "fake", kindId: 3, options: [:], inLinks: [1, 2]),
            TileSpec(index: 4, kind: "fake", kindId: 4, options: [:]),
        ]
        for (i, cpus) in [[1], [4], [5], [2], [3, 6]].enumerated() { tiles[i].cpus = cpus }
        func link(_ index: Int, _ name: String, _ kindId: Int, producer: Int, consumers: [Int]) -> LinkInstance {
            LinkInstance(
                index: index, name: name, kindId: kindId, depth: 128, mtu: 1232, reliable: true, producer: producer,
                consumers: consumers.enumerated().map {
                    LinkInstanceConsumer(tile: $0.element, inIndex: 0, slot: $0.offset, reliable: true)
                })
        }
        var t = TopologyLayoutTests.topology(0)
        t.tiles = tiles
        t.links = [
            link(0, "source_verify", 0, producer: 0, consumers: [1, 2]),
            link(1, "verify_sink", 0, producer: 1, consumers: [3]),
            link(2, "verify_sink", 1, producer: 2, consumers: [3]),
        ]
        return t
    }

    @Test func eachWorkspaceIsOnItsTilesNodeAndEachLinkOnItsProducers() {
        let l = TopologyLayout(topology: Self.topology(), kinds: TopologyLayoutTests.kinds, backing: .huge, nodes: Self.nodes)
        let node = Dictionary(uniqueKeysWithValues: l.workspaces.map { ($0.name, $0.node) })
        #expect(node["fake.0"] == 0)
        #expect(node["fake.1"] == 1)
        #expect(node["fake.2"] == 1)
        #expect(node["fake.3"] == 0)
        #expect(node["fake.4"] == .some(nil), "floating over two nodes")
        #expect(node["link.source_verify.0"] == 0, "the producer's node, not the consumers'")
        #expect(node["link.verify_sink.0"] == 1)
        #expect(node["link.verify_sink.1"] == 1)
    }

    @Test func hugePagesAreNeededFromEachNodesOwnPoolThenTheSystems() {
        let l = TopologyLayout(topology: Self.topology(), kinds: TopologyLayoutTests.kinds, backing: .huge, nodes: Self.nodes)
        // Every fake workspace is 2 pages, every link 1.
        #expect(l.pagesNeeded(.huge, node: 0) == 2 + 2 + 1)
        #expect(l.pagesNeeded(.huge, node: 1) == 2 + 2 + 1 + 1)
        #expect(
            l.pageNeeds == [
                PageNeed(pageSize: .huge, node: 0, count: 5),
                PageNeed(pageSize: .huge, node: 1, count: 6),
                PageNeed(pageSize: .huge, node: nil, count: 13),
            ])
        #expect(l.pageNeeds[1].pool == "2 MiB pages on node 1")
    }

    @Test func nothingIsBoundWhenNoTileIsPinned() {
        let l = TopologyLayout(
            topology: TopologyLayoutTests.topology(3), kinds: TopologyLayoutTests.kinds, backing: .huge, nodes: Self.nodes)
        #expect(l.workspaces.allSatisfy { $0.node == nil })
        #expect(l.pageNeeds == [PageNeed(pageSize: .huge, node: nil, count: 6)])
    }

    @Test func nodesAreReadFromSysfs() throws {
        var template = Array("/tmp/tilectl-numa-XXXXXX".utf8CString)
        let dir = String(cString: mkdtemp(&template)!)
        defer {
            for n in ["node0", "node1", "node3"] {
                unlink("\(dir)/\(n)/cpulist")
                rmdir("\(dir)/\(n)")
            }
            unlink("\(dir)/has_memory")
            rmdir(dir)
        }
        for (n, cpus) in [("node0", "0-3,8\n"), ("node1", "4-7\n"), ("node3", "\n")] {
            mkdir("\(dir)/\(n)", 0o755)
            try Files.replace("\(dir)/\(n)/cpulist", cpus)
        }
        try Files.replace("\(dir)/has_memory", "0-1,3\n")
        let nodes = NumaNodes.read(dir)
        #expect(nodes.node(of: [8]) == 0)
        #expect(nodes.node(of: [4, 7]) == 1)
        #expect(nodes.withMemory == [0, 1, 3])
        #expect(NumaNodes.read(dir + "/absent") == NumaNodes(cpusOfNode: [:]), "no NUMA support: nothing bound")
    }

    /// The binding itself, on this machine's node of the CPU the test runs
    /// on: memory a policy binds shows in numa_maps as `bind:N`.
    @Test func aBoundMappingShowsItsNodeInNumaMaps() throws {
        let node = try #require(NumaNodes.host.node(of: [Int(cshim_current_cpu())]), "this host lists its NUMA nodes")
        let spec = WorkspaceSpec(
            name: "numa-test", path: "/dev/shm/tilectl-numa-test-\(getpid()).wksp", pageSize: .normal, footprint: 1 << 20, node: node)
        let mapping = try Workspace.create(spec, configPath: "t.toml")
        defer {
            mapping.leave()
            Workspace.delete(spec)
        }
        // numa_maps counts the pages this process has mapped: touch each.
        for page in stride(from: 0, to: mapping.length, by: 4096) { mapping.base.storeBytes(of: 1, toByteOffset: page, as: UInt8.self) }
        let start = String(UInt(bitPattern: mapping.base), radix: 16)
        let maps = try Files.read("/proc/self/numa_maps", limit: 1 << 24)
        let line = try #require(maps.split(separator: "\n").first { $0.hasPrefix(start + " ") })
        #expect(line.contains(" bind:\(node) "), "\(line)")
        #expect(line.contains(" N\(node)=256 "), "every page on the node: \(line)")
    }
}
