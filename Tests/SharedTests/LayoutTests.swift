import Testing

@testable import Shared

struct MetricLayoutTests {
    static let counter = MetricFamily.counter("things", "Things.")
    static let gauge = MetricFamily.gauge("level", "Level.")
    static let outcome = MetricFamily.enumCounter("outcome", "Outcomes.", label: "result", variants: ["ok", "bad", "late"])
    static let latency = MetricFamily.histogram(
        "latency_seconds", "Latency.", buckets: [10, 100, 1000],
        converter: .nanosToSeconds)
    static let schema = MetricSchema(prefix: "demo", [counter, gauge, outcome, latency])

    @Test func slotsAndOffsetsComeFromTheSchema() {
        #expect(Self.counter.slotCount == 1)
        #expect(Self.outcome.slotCount == 3)
        #expect(Self.latency.slotCount == 5)  // 3 bounds + Inf + sum
        #expect(Self.schema.offsets == [0, 1, 2, 5])
        #expect(Self.schema.slotCount == 10)
        #expect(Self.schema.offset(of: Self.latency) == 5)
        #expect(Self.schema.exportedName(Self.counter) == "demo_things_total")
        #expect(Self.schema.exportedName(Self.gauge) == "demo_level")
        #expect(Self.schema.exportedName(Self.latency) == "demo_latency_seconds")
    }

    @Test func regionIsCountThenLinksThenCommonThenKind() {
        let l = MetricsLayout(inLinkCount: 2, kindSchema: Self.schema)
        #expect(l.inLinkCountSlot == 0)
        #expect(l.linkOffset(0) == 1)
        #expect(l.linkOffset(1) == 1 + LinkMetrics.schema.slotCount)
        #expect(l.commonOffset == 1 + 2 * LinkMetrics.schema.slotCount)
        #expect(l.kindOffset == l.commonOffset + CommonMetrics.schema.slotCount)
        #expect(l.slotCount == l.kindOffset + 10)
        #expect(l.footprint == l.slotCount * 8)
    }

    @Test func writerCellsLandOnTheirSlots() {
        let layout = MetricsLayout(inLinkCount: 0, kindSchema: Self.schema)
        let region = UnsafeMutablePointer<UInt64>.allocate(capacity: layout.slotCount)
        region.initialize(repeating: 0, count: layout.slotCount)
        defer { region.deallocate() }
        let w = MetricsWriter(base: region, layout: layout, kindSchema: Self.schema)
        w.counter(Self.counter).set(7)
        w.gauge(Self.gauge).set(8)
        w.enumCounter(Self.outcome).set(2, 9)
        var h = LocalHistogram(Self.latency)
        for v: UInt64 in [5, 10, 11, 100, 5000] { h.sample(v) }
        w.histogram(Self.latency).publish(h)
        w.gauge(CommonMetrics.pid).set(42)
        let k = layout.kindOffset
        #expect(region[k] == 7)
        #expect(region[k + 1] == 8)
        #expect(region[k + 2 + 2] == 9)
        #expect(Array(UnsafeBufferPointer(start: region + k + 5, count: 5)) == [2, 2, 0, 1, 5126])
        let r = MetricsReader(base: UnsafePointer(region), layout: layout)
        #expect(r.common(CommonMetrics.pid) == 42)
    }

    @Test func histogramBucketsAreUpperBoundsInclusive() {
        var h = LocalHistogram(Self.latency)
        h.sample(0)
        h.sample(10)
        h.sample(1000)
        h.sample(1001)
        #expect(h.counts == [2, 0, 1, 1])
        #expect(h.sum == 2011)
    }
}

struct TopologyLayoutTests {
    static let kinds = TileKinds([TileKind(FakeTile.self)])

    static func topology(_ count: Int, name: String = "t") -> Topology {
        Topology(
            name: name, source: "t.toml", user: .named(TileUser(name: "nobody", uid: 65534, gid: 65534)),
            log: LogConfig(path: nil, levelStderr: .notice, levelLogfile: .info),
            shmem: ShmemConfig(pageSize: .auto, hugetlbfsMount: "/mnt/x"),
            layout: LayoutConfig(idle: .sleep, housekeepingIntervalNanos: 1_000_000),
            tiles: (0..<count).map { TileSpec(index: $0, kind: "fake", kindId: $0, options: [:]) })
    }

    @Test func normalPagesPackMetricsInOnePageAndScratchAfterIt() {
        let l = TopologyLayout(topology: Self.topology(2), kinds: Self.kinds, backing: .normal, normalDirectory: "/dev/shm/tilectl.t.run")
        #expect(l.workspaces.map(\.name) == ["fake.0", "fake.1"])
        #expect(l.workspaces[0].path == "/dev/shm/tilectl.t.run/fake.0.wksp")
        let m = l.tiles[0]
        #expect(m.metricsOffset == TileHeader.size)
        #expect(m.metricsSpan == 4096)
        #expect(m.scratchOffset == 4096)
        #expect(m.scratchSize == alignUp(FakeTile.scratchBytes, 64))
        #expect(l.workspaces[0].footprint == 4096 + alignUp(FakeTile.scratchBytes, 4096))
        #expect(l.pagesNeeded(.huge) == 0)
    }

    @Test func hugePagesAlignTheScratchToA2MiBPage() {
        let l = TopologyLayout(topology: Self.topology(3), kinds: Self.kinds, backing: .huge)
        #expect(l.workspaces[0].path == "/mnt/x/.huge/tilectl.t.fake.0.wksp")
        #expect(l.tiles[0].metricsSpan == PageSize.huge.bytes)
        #expect(l.tiles[0].scratchOffset == PageSize.huge.bytes)
        #expect(l.workspaces.allSatisfy { $0.footprint == 2 * PageSize.huge.bytes })
        #expect(l.pagesNeeded(.huge) == 6)
        #expect(l.totalFootprint == 12 << 20)
    }

    @Test func gigantic_usesHugePagesForSmallWorkspaces() {
        let l = TopologyLayout(topology: Self.topology(1), kinds: Self.kinds, backing: .gigantic)
        #expect(l.workspaces[0].pageSize == .huge)
        #expect(l.pagesNeeded(.gigantic) == 0)
    }

    @Test func layoutBuilderAlignsEachPart() {
        var b = LayoutBuilder()
        #expect(b.append(10) == 0)
        #expect(b.append(10, align: 64) == 64)
        #expect(b.append(1, align: 4096) == 4096)
        #expect(b.end == 4097)
        #expect(b.footprint(align: 4096) == 8192)
    }

    @Test func bytesReadLikeAnOperatorWrites() {
        #expect(formatBytes(512) == "512 B")
        #expect(formatBytes(4096) == "4 KiB")
        #expect(formatBytes(36 << 20) == "36 MiB")
        #expect(formatBytes(3 << 29) == "1.5 GiB")
    }
}

/// A tile kind that only exists to be laid out.
struct FakeTile: Tile {
    static let kind = "fake"
    static let summary = "test"
    static let schema = MetricSchema(prefix: "fake", [.counter("n", "N.")])
    static let seccompPolicy = SeccompPolicy([])
    static let scratchBytes = 10_000
    struct Scratch { let at: Int }
    static func layoutScratch(_ tile: TileSpec, _ l: inout LayoutBuilder) -> Scratch {
        Scratch(at: l.append(scratchBytes))
    }
    init(privileged ctx: TileContext) throws {}
}

struct LogTimestampTests {
    @Test func formatsUTCByHand() {
        #expect(Log.timestamp(0) == "1970-01-01 00:00:00.000000")
        #expect(Log.timestamp(951_782_400_000_000_000) == "2000-02-29 00:00:00.000000")
        #expect(Log.timestamp(1_795_548_956_713_094_386) == "2026-11-24 19:35:56.713094")
        #expect(Log.timestamp(4_102_444_799_999_999_000) == "2099-12-31 23:59:59.999999")
    }
}
