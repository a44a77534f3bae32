/// One input's counters, kept locally.
@usableFromInline
struct LinkCounts {
    @inlinable init() {}
    @usableFromInline var consumed: UInt64 = 0
    @usableFromInline var consumedBytes: UInt64 = 0
    @usableFromInline var filtered: UInt64 = 0
    @usableFromInline var filteredBytes: UInt64 = 0
    @usableFromInline var pollingOverruns: UInt64 = 0
    @usableFromInline var pollingOverrunFrags: UInt64 = 0
    @usableFromInline var readingOverruns: UInt64 = 0
    @usableFromInline var readingOverrunFrags: UInt64 = 0
}

/// One input's `link_*` cells in the tile's metrics region, bound by family.
@usableFromInline
struct LinkCells {
    @usableFromInline let consumed, consumedBytes, filtered, filteredBytes: CounterCell
    @usableFromInline let pollingOverrun, fragPollingOverrun, readingOverrun, fragReadingOverrun, slow: CounterCell

    @usableFromInline init(_ w: MetricsWriter, in index: Int) {
        func bind(_ f: MetricFamily) -> CounterCell { w.linkCounter(f, in: index) }
        consumed = bind(LinkMetrics.consumed)
        consumedBytes = bind(LinkMetrics.consumedBytes)
        filtered = bind(LinkMetrics.filtered)
        filteredBytes = bind(LinkMetrics.filteredBytes)
        pollingOverrun = bind(LinkMetrics.pollingOverrun)
        fragPollingOverrun = bind(LinkMetrics.fragPollingOverrun)
        readingOverrun = bind(LinkMetrics.readingOverrun)
        fragReadingOverrun = bind(LinkMetrics.fragReadingOverrun)
        slow = bind(LinkMetrics.slow)
    }

    @usableFromInline func publish(_ c: LinkCounts, slow slowCount: UInt64) {
        consumed.set(c.consumed)
        consumedBytes.set(c.consumedBytes)
        filtered.set(c.filtered)
        filteredBytes.set(c.filteredBytes)
        pollingOverrun.set(c.pollingOverruns)
        fragPollingOverrun.set(c.pollingOverrunFrags)
        readingOverrun.set(c.readingOverruns)
        fragReadingOverrun.set(c.readingOverrunFrags)
        slow.set(slowCount)
    }
}
