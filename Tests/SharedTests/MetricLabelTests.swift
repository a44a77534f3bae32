import MallocCounter
import Testing

@testable import Shared

/// Enum-labelled counters bound to a Swift enum: the declaration is the
/// only order, code counts by case.
struct MetricLabelTests {
    enum Size: Int, MetricLabel { case small, mediumLarge, huge }
    static let items = MetricFamily.enumCounter("items", "Items, by size.", label: "size", Size.self)
    static let schema = MetricSchema(prefix: "demo", [items])

    /// A zeroed metrics region of a tile with `inLinks` in-links of this
    /// schema, its writer and its reader, for the length of `body`.
    static func withRegion(inLinks: Int, _ body: (MetricsLayout, UnsafeMutablePointer<UInt64>, MetricsWriter, MetricsReader) -> Void) {
        let layout = MetricsLayout(inLinkCount: inLinks, kindSchema: schema)
        let region = UnsafeMutablePointer<UInt64>.allocate(capacity: layout.slotCount)
        region.initialize(repeating: 0, count: layout.slotCount)
        defer { region.deallocate() }
        body(
            layout, region, MetricsWriter(base: region, layout: layout, kindSchema: schema),
            MetricsReader(base: UnsafePointer(region), layout: layout))
    }

    @Test func theFamilysSeriesAreTheCasesInDeclarationOrderInSnakeCase() {
        #expect(Self.items.variants == ["small", "medium_large", "huge"])
        #expect(Self.items.label == "size")
        #expect(
            CommonMetrics.regimeDuration.variants == [
                "caught_up_housekeeping", "processing_housekeeping", "backpressured_housekeeping",
                "caught_up", "processing", "backpressured",
            ], "the exported regime names are Firedancer's")
    }

    @Test func aCountWrittenByCaseIsReadBackUnderThatCase() {
        Self.withRegion(inLinks: 1) { layout, _, w, r in
            var counts = VariantCounts<Size>()
            counts[.mediumLarge] &+= 7
            counts[.huge] &+= 1
            w.enumCounter(Self.items, Size.self).publish(counts)
            let back = r.values(Self.items, in: Self.schema, at: layout.kindOffset, Size.self)
            #expect(back[.small] == 0 && back[.mediumLarge] == 7 && back[.huge] == 1)
            #expect(Array(back) == [0, 7, 1], "slot order is declaration order")

            var regimes = VariantCounts<Regime>()
            regimes[Regime(.backpressured, housekeeping: false)] = 42
            CommonCells(w).regimes.publish(regimes)
            let regimesBack = r.values(CommonMetrics.regimeDuration, in: CommonMetrics.schema, at: layout.commonOffset, Regime.self)
            #expect(regimesBack[.backpressured] == 42 && regimesBack.reduce(0, +) == 42)
        }
    }

    @Test func eachActivityWithAndWithoutHousekeepingIsItsOwnRegime() {
        let all = Activity.allCases.flatMap { a in [true, false].map { Regime(a, housekeeping: $0) } }
        #expect(Set(all).count == Regime.allCases.count)
        #expect(Activity.allCases.map(\.words) == ["caught up", "processing", "backpressured"])
    }

    @Test func linkCellsAreBoundByFamily() {
        Self.withRegion(inLinks: 2) { _, _, w, r in
            var c = LinkCounts()
            c.consumed = 5
            c.readingOverrunFrags = 3
            LinkCells(w, in: 1).publish(c, slow: 9)
            #expect(r.link(LinkMetrics.consumed, in: 1) == 5)
            #expect(r.link(LinkMetrics.fragReadingOverrun, in: 1) == 3)
            #expect(r.link(LinkMetrics.slow, in: 1) == 9)
            #expect(r.link(LinkMetrics.consumed, in: 0) == 0, "in-link 0 untouched")
        }
    }

    @Test func publishingCountsAllocatesNothing() {
        Self.withRegion(inLinks: 0) { layout, region, w, _ in
            let cell = w.enumCounter(Self.items, Size.self)
            var counts = VariantCounts<Size>()
            // Once first: the runtime caches generic metadata and conformances
            // on first use, which allocates once per process.
            counts[.small] &+= 0
            cell.publish(counts)
            let before = malloc_counter_thread_allocations()
            for i in 0..<1000 {
                counts[.huge] &+= 1
                counts[i % 2 == 0 ? .small : .mediumLarge] &+= 1
                cell.publish(counts)
            }
            #expect(malloc_counter_thread_allocations() - before == 0)
            #expect(region[layout.kindOffset + 2] == 1000)
        }
    }
}
