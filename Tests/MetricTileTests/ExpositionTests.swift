import Foundation
import Testing

@testable import MetricTile
@testable import Shared

struct ExpositionTests {
    static let items = MetricFamily.counter("items", "Items handled.")
    static let depth = MetricFamily.gauge("depth", "Queue depth.")
    static let outcome = MetricFamily.enumCounter("outcome", "Outcomes, by result.", label: "result", variants: ["ok", "dropped"])
    static let latency = MetricFamily.histogram(
        "latency_seconds", "Latency with a \\ backslash\nand a newline.",
        buckets: [1_500, 1_000_000_000], converter: .nanosToSeconds)
    static let schema = MetricSchema(prefix: "demo", [items, depth, outcome, latency])

    /// Two tiles of kind `demo` with known values in their regions.
    final class Regions {
        let layout = MetricsLayout(inLinkCount: 0, kindSchema: ExpositionTests.schema)
        let memory: [UnsafeMutablePointer<UInt64>]
        init() {
            memory = (0..<2).map { _ in
                let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
                p.initialize(repeating: 0, count: 64)
                return p
            }
            for (i, p) in memory.enumerated() {
                let w = MetricsWriter(base: p, layout: layout, kindSchema: ExpositionTests.schema)
                w.gauge(CommonMetrics.pid).set(100 + UInt64(i))
                w.gauge(CommonMetrics.status).set(1)
                w.gauge(CommonMetrics.heartbeat).set(1_700_000_000_000_000_000)
                w.counter(ExpositionTests.items).set(UInt64.max)
                w.gauge(ExpositionTests.depth).set(0)
                w.enumCounter(ExpositionTests.outcome).set(0, 5)
                w.enumCounter(ExpositionTests.outcome).set(1, 6)
                var h = LocalHistogram(ExpositionTests.latency)
                h.sample(1_000)
                h.sample(2_000_000)
                h.sample(3_000_000_000)
                w.histogram(ExpositionTests.latency).publish(h)
            }
        }
        deinit { memory.forEach { $0.deallocate() } }

        var sources: [RenderSource] {
            memory.enumerated().map { i, p in
                RenderSource(
                    tile: TileSpec(index: i, kind: "demo", kindId: i, options: [:]),
                    reader: MetricsReader(base: UnsafePointer(p), layout: layout), kindSchema: ExpositionTests.schema)
            }
        }
    }

    func render(_ plan: ExpositionPlan, capacity: Int = 1 << 16) -> String? {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buf.deallocate() }
        guard let n = plan.render(into: buf) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: buf[0..<n]), as: UTF8.self)
    }

    @Test func rendersTheGoldenText() throws {
        let regions = Regions()
        let plan = ExpositionPlan(sources: regions.sources)
        let whole = try #require(render(plan))
        // First what serves the metrics, then the tiles' families.
        let build = """
            # HELP tilectl_build_info The tilectl build serving these metrics: its version and git commit (value 1).
            # TYPE tilectl_build_info gauge
            tilectl_build_info{version="\(BuildInfo.version)",commit="\(BuildInfo.commit)"} 1

            """
        #expect(whole.hasPrefix(build))
        #expect(BuildInfo.commit.wholeMatch(of: /[0-9a-f]{40}(-dirty)?|unknown/) != nil)
        let text = String(whole.dropFirst(build.count))
        let kindPart = text[text.range(of: "# HELP demo_items_total")!.lowerBound...]
        #expect(String(kindPart) == Self.goldenKindPart)
        #expect(
            text.hasPrefix(
                """
                # HELP tile_pid The process ID of the tile.
                # TYPE tile_pid gauge
                tile_pid{kind="demo",kind_id="0"} 100
                tile_pid{kind="demo",kind_id="1"} 101
                # HELP tile_status
                """))
        #expect(text.contains("tile_heartbeat_timestamp_nanos{kind=\"demo\",kind_id=\"1\"} 1700000000000000000\n"))
        // Every family's HELP and TYPE appear exactly once.
        for f in CommonMetrics.schema.families + Self.schema.families {
            let name = f.type == .counter ? "\(f.name)_total" : f.name
            #expect(
                text.components(separatedBy: "# TYPE ").filter { $0.hasPrefix("tile_\(name) ") || $0.hasPrefix("demo_\(name) ") }.count == 1
            )
        }
        #expect(plan.seriesCount == whole.split(separator: "\n").filter { !$0.hasPrefix("#") }.count)
    }

    static let goldenKindPart = """
        # HELP demo_items_total Items handled.
        # TYPE demo_items_total counter
        demo_items_total{kind="demo",kind_id="0"} 18446744073709551615
        demo_items_total{kind="demo",kind_id="1"} 18446744073709551615
        # HELP demo_depth Queue depth.
        # TYPE demo_depth gauge
        demo_depth{kind="demo",kind_id="0"} 0
        demo_depth{kind="demo",kind_id="1"} 0
        # HELP demo_outcome_total Outcomes, by result.
        # TYPE demo_outcome_total counter
        demo_outcome_total{kind="demo",kind_id="0",result="ok"} 5
        demo_outcome_total{kind="demo",kind_id="0",result="dropped"} 6
        demo_outcome_total{kind="demo",kind_id="1",result="ok"} 5
        demo_outcome_total{kind="demo",kind_id="1",result="dropped"} 6
        # HELP demo_latency_seconds Latency with a \\\\ backslash\\nand a newline.
        # TYPE demo_latency_seconds histogram
        demo_latency_seconds_bucket{kind="demo",kind_id="0",le="0.0000015"} 1
        demo_latency_seconds_bucket{kind="demo",kind_id="0",le="1"} 2
        demo_latency_seconds_bucket{kind="demo",kind_id="0",le="+Inf"} 3
        demo_latency_seconds_sum{kind="demo",kind_id="0"} 3.002001
        demo_latency_seconds_count{kind="demo",kind_id="0"} 3
        demo_latency_seconds_bucket{kind="demo",kind_id="1",le="0.0000015"} 1
        demo_latency_seconds_bucket{kind="demo",kind_id="1",le="1"} 2
        demo_latency_seconds_bucket{kind="demo",kind_id="1",le="+Inf"} 3
        demo_latency_seconds_sum{kind="demo",kind_id="1"} 3.002001
        demo_latency_seconds_count{kind="demo",kind_id="1"} 3

        """

    @Test func reflectsNewValuesOnEveryRender() throws {
        let regions = Regions()
        let plan = ExpositionPlan(sources: regions.sources)
        MetricsWriter(base: regions.memory[1], layout: regions.layout, kindSchema: Self.schema).gauge(Self.depth).set(77)
        let text = try #require(render(plan))
        #expect(text.contains("demo_depth{kind=\"demo\",kind_id=\"1\"} 77\n"))
    }

    @Test func refusesABufferTooSmall() {
        let regions = Regions()
        let plan = ExpositionPlan(sources: regions.sources)
        #expect(render(plan, capacity: 100) == nil)
        #expect(render(plan, capacity: plan.maxRenderedSize) != nil)
    }

    @Test(arguments: [
        (UInt64(0), "0"), (1, "0.000000001"), (1_500, "0.0000015"), (1_000_000_000, "1"),
        (2_500_000_000, "2.5"), (UInt64.max, "18446744073.709551615"),
    ])
    func formatsNanosecondsAsExactSeconds(_ nanos: UInt64, _ text: String) {
        #expect(ExpositionPlan.decimalSeconds(nanos) == text)
    }
}

struct IntegerFormattingTests {
    @Test func everyWidthFormatsLikeTheStandardLibrary() {
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        defer { buf.deallocate() }
        var values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, UInt64.max, UInt64.max - 1]
        var p: UInt64 = 1
        for _ in 0..<19 {
            p *= 10
            values += [p - 1, p, p + 1]
        }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<10_000 { values.append(rng.next() >> (rng.next() % 64)) }
        for v in values {
            let n = ExpositionPlan.writeInteger(v, buf)
            #expect(String(decoding: UnsafeRawBufferPointer(start: buf, count: n), as: UTF8.self) == String(v))
        }
    }
}
