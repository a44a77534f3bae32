import CZlib
import Testing

@testable import MetricTile
@testable import Shared

/// The structure-aware gzip encoder: every body it writes must inflate,
/// with zlib, to exactly the plain text rendered in the same pass, and that
/// text must be what the plain renderer writes for the same values.
struct ExpositionGzipTests {
    static let requests = MetricFamily.counter("requests", "Requests served.")
    static let queue = MetricFamily.gauge("queue_depth", "Items waiting.")
    static let result = MetricFamily.enumCounter(
        "result", "Results, by outcome.", label: "outcome",
        variants: ["ok", "dropped", "late", "malformed"])
    static let wait = MetricFamily.histogram(
        "wait_seconds", "Time an item waited.",
        buckets: [1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000],
        converter: .nanosToSeconds)
    static let size = MetricFamily.histogram("size_bytes", "Item sizes.", buckets: [64, 512, 4096, 65536])
    static let schema = MetricSchema(prefix: "work", [requests, queue, result, wait, size])

    /// `count` tiles of kind `work`, each with two in-links, slots zeroed.
    final class Topology {
        let layout: MetricsLayout
        let memory: [UnsafeMutablePointer<UInt64>]
        let sources: [RenderSource]

        init(count: Int, schema: MetricSchema = ExpositionGzipTests.schema) {
            let layout = MetricsLayout(inLinkCount: 2, kindSchema: schema)
            self.layout = layout
            memory = (0..<count).map { _ in
                let p = UnsafeMutablePointer<UInt64>.allocate(capacity: layout.slotCount)
                p.initialize(repeating: 0, count: layout.slotCount)
                return p
            }
            sources = memory.enumerated().map { i, p in
                RenderSource(
                    tile: TileSpec(index: i, kind: schema.prefix, kindId: i, options: [:]),
                    reader: MetricsReader(base: UnsafePointer(p), layout: layout), kindSchema: schema,
                    inLinks: [(name: "in_a", kindId: 0), (name: "in_b", kindId: 1)])
            }
        }
        deinit { memory.forEach { $0.deallocate() } }

        var slotCount: Int { layout.slotCount }

        /// Every slot a value of a random width, 0 to 20 digits.
        func scramble(_ rng: inout SplitMix64) {
            for p in memory {
                for s in 0..<layout.slotCount { p[s] = rng.next() >> (rng.next() % 65) }
            }
        }
    }

    /// Renders plain and gzip in one pass, checks the gzip inflates to the
    /// plain text and the plain text is the plain renderer's; returns the
    /// compressed size.
    @discardableResult
    func roundTrip(_ plan: ExpositionPlan, _ gzip: ExpositionGzip, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        let reference = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        let gz = UnsafeMutableRawBufferPointer.allocate(byteCount: gzip.maxSize, alignment: 64)
        defer { plain.deallocate(); reference.deallocate(); gz.deallocate() }
        let sizes = try #require(gzip.render(plain: plain, gz: gz), sourceLocation: sourceLocation)
        let expected = try #require(plan.render(into: reference), sourceLocation: sourceLocation)
        #expect(sizes.gz + 8 <= gzip.maxSize, "the bound holds, with the bit writer's 8 bytes of slack", sourceLocation: sourceLocation)
        #expect(Array(plain[0..<sizes.plain]) == Array(reference[0..<expected]), sourceLocation: sourceLocation)
        let inflated = try #require(gunzip(Array(gz[0..<sizes.gz])), "the body does not inflate", sourceLocation: sourceLocation)
        #expect(inflated == Array(reference[0..<expected]), sourceLocation: sourceLocation)
        return sizes.gz
    }

    @Test(arguments: [ExpositionPlan.Format.prometheus, .openMetrics])
    func inflatesToThePlainTextAsValuesChange(_ format: ExpositionPlan.Format) throws {
        let topology = Topology(count: 40)
        let plan = ExpositionPlan(sources: topology.sources, format: format)
        let gzip = ExpositionGzip(plan: plan)
        var rng = SplitMix64(seed: 12)
        try roundTrip(plan, gzip)  // all zero, as when the table was built
        for _ in 0..<25 {
            topology.scramble(&rng)
            try roundTrip(plan, gzip)
        }
        // Every value at its widest: the most the body can take.
        for p in topology.memory { p.update(repeating: .max, count: topology.slotCount) }
        try roundTrip(plan, gzip)
    }

    @Test func everyDistanceStaysInTheWindowWhenValuesAreWidest() throws {
        // Built while every value is 1 digit wide, scraped with every value
        // 20 digits wide: the distances of matches across lines grow most.
        let topology = Topology(count: 300)
        let plan = ExpositionPlan(sources: topology.sources)
        let gzip = ExpositionGzip(plan: plan)
        for p in topology.memory { p.update(repeating: .max, count: topology.slotCount) }
        try roundTrip(plan, gzip)
    }

    @Test func aHugeHelpTextStillRoundTrips() throws {
        // One static run longer than DEFLATE's window and than an Item's
        // 16-bit offsets: matches there must be refused, not wrapped.
        let long = String(repeating: "help text that repeats, ", count: 4_000)  // 96,000 bytes
        let family = MetricFamily.counter("verbose", long)
        let schema = MetricSchema(prefix: "wordy", [family, Self.requests])
        let topology = Topology(count: 3, schema: schema)
        let plan = ExpositionPlan(sources: topology.sources)
        let gzip = ExpositionGzip(plan: plan)
        var rng = SplitMix64(seed: 5)
        topology.scramble(&rng)
        try roundTrip(plan, gzip)
    }

    @Test func compressesAboutAsWellAsZlibLevel1() throws {
        let topology = Topology(count: 256)
        var rng = SplitMix64(seed: 9)
        // Values as a live topology has them: small counts, a few large.
        for p in topology.memory {
            for s in 0..<topology.slotCount { p[s] = rng.next() % 10 < 8 ? rng.next() % 10_000 : rng.next() % 10_000_000_000 }
        }
        let plan = ExpositionPlan(sources: topology.sources)
        let gzip = ExpositionGzip(plan: plan)
        let ours = try roundTrip(plan, gzip)
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        defer { plain.deallocate(); out.deallocate() }
        let n = try #require(plan.render(into: plain))
        let zlib = try #require(try Gzip(level: 1).compress(UnsafeRawBufferPointer(rebasing: plain[0..<n]), into: out))
        // Random values are most of what is left to compress: within a
        // third of zlib -1 on the same text.
        #expect(ours * 3 < zlib * 4, "ours \(ours) B, zlib -1 \(zlib) B, text \(n) B")
    }

    @Test func refusesBuffersTooSmall() throws {
        let topology = Topology(count: 4)
        let plan = ExpositionPlan(sources: topology.sources)
        let gzip = ExpositionGzip(plan: plan)
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 100, alignment: 64)
        let gz = UnsafeMutableRawBufferPointer.allocate(byteCount: gzip.maxSize, alignment: 64)
        defer { plain.deallocate(); small.deallocate(); gz.deallocate() }
        #expect(gzip.render(plain: small, gz: gz) == nil)
        #expect(gzip.render(plain: plain, gz: UnsafeMutableRawBufferPointer(rebasing: gz[0..<(gzip.maxSize - 1)])) == nil)
        #expect(gzip.render(plain: plain, gz: gz) != nil)
    }
}
