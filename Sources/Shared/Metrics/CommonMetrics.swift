/// Metrics every tile has, refreshed by the tile itself in housekeeping.
/// Names follow Firedancer's so existing dashboards work.
@usableFromInline package enum CommonMetrics {
    package static let pid = MetricFamily.gauge("pid", "The process ID of the tile.")
    package static let status = MetricFamily.gauge(
        "status", "The current status of the tile. 0 is booting, 1 is running, 2 is shut down.")
    package static let heartbeat = MetricFamily.gauge(
        "heartbeat_timestamp_nanos", "The last UNIX timestamp in nanoseconds that the tile heartbeated.")
    package static let contextSwitchVoluntary = MetricFamily.counter(
        "context_switch_voluntary", "The number of voluntary context switches.")
    package static let contextSwitchInvoluntary = MetricFamily.counter(
        "context_switch_involuntary", "The number of involuntary context switches.")
    package static let pageFaultMajor = MetricFamily.counter(
        "page_fault_major", "The number of major page faults (served by I/O).")
    package static let pageFaultMinor = MetricFamily.counter(
        "page_fault_minor", "The number of minor page faults (served without I/O).")
    package static let cpu = MetricFamily.gauge(
        "cpu", "The CPU the tile ran on at its last housekeeping (its own CPU when [layout] affinity pins it).")

    package static let inBackpressure = MetricFamily.gauge(
        "in_backpressure", "Whether the tile is currently backpressured (1) or not (0).")
    package static let backpressure = MetricFamily.counter(
        "backpressure", "Times the tile had to wait for one or more consumers to catch up before publishing.")
    package static let regimeDuration = MetricFamily.enumCounter(
        "regime_duration_nanos",
        "Mutually exclusive and exhaustive time the tile spent in each regime: caught up (nothing to do), processing, "
            + "or backpressured, each with or without housekeeping.",
        label: "tile_regime", Regime.self, unit: "nanoseconds")
    @usableFromInline package static let loopDuration = MetricFamily.histogram(
        "loop_duration_seconds",
        "Time of one iteration of the tile's loop (up to 64 steps, about a microsecond of work), without idle sleep.",
        buckets: [
            100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
            2_500_000, 5_000_000, 10_000_000,
        ],
        unit: "seconds", converter: .nanosToSeconds)

    package static let schema = MetricSchema(
        prefix: "tile",
        [
            pid, status, heartbeat, contextSwitchVoluntary, contextSwitchInvoluntary, pageFaultMajor, pageFaultMinor, cpu,
            inBackpressure, backpressure, regimeDuration, loopDuration,
        ])
}

/// What one iteration of the stem's loop did.
@usableFromInline package enum Activity: Int, CaseIterable, Sendable {
    /// Nothing to do.
    case caughtUp
    case processing
    /// Out of credits: a reliable consumer held it back.
    case backpressured

    /// In words: `caught up`.
    package var words: String { snakeCased(String(describing: self)).split(separator: "_").joined(separator: " ") }
}

/// Every nanosecond of the stem's loop goes to exactly one regime: an
/// activity, with or without housekeeping (`tile_regime` label values).
@usableFromInline package enum Regime: Int, MetricLabel {
    case caughtUpHousekeeping, processingHousekeeping, backpressuredHousekeeping
    case caughtUp, processing, backpressured

    @inlinable
    package init(_ activity: Activity, housekeeping: Bool) {
        switch (activity, housekeeping) {
        case (.caughtUp, true): self = .caughtUpHousekeeping
        case (.processing, true): self = .processingHousekeeping
        case (.backpressured, true): self = .backpressuredHousekeeping
        case (.caughtUp, false): self = .caughtUp
        case (.processing, false): self = .processing
        case (.backpressured, false): self = .backpressured
        }
    }
}

/// `tile_status` values.
@usableFromInline package enum TileStatus: UInt64, Sendable {
    case booting = 0
    case running = 1
    case shutdown = 2
}

/// Metrics of each input link of a tile, repeated once per in-link at the
/// start of its region; exported with `link_kind` and `link_kind_id` labels
/// besides the consumer's `kind` and `kind_id`.
package enum LinkMetrics {
    package static let consumed = MetricFamily.counter("frag_consumed", "Fragments the consumer read and processed.")
    package static let consumedBytes = MetricFamily.counter(
        "frag_consumed_bytes", "Payload bytes the consumer read and processed.", unit: "bytes")
    package static let filtered = MetricFamily.counter(
        "frag_filtered", "Fragments the consumer skipped without reading them (not its share of the work).")
    package static let filteredBytes = MetricFamily.counter(
        "frag_filtered_bytes", "Payload bytes of the fragments the consumer skipped.", unit: "bytes")
    package static let pollingOverrun = MetricFamily.counter(
        "polling_overrun", "Times the producer lapped the consumer between two polls.")
    package static let fragPollingOverrun = MetricFamily.counter(
        "frag_polling_overrun", "Fragments lost because the producer lapped the consumer between polls.")
    package static let readingOverrun = MetricFamily.counter(
        "reading_overrun", "Times a fragment was overwritten while the consumer read it.")
    package static let fragReadingOverrun = MetricFamily.counter(
        "frag_reading_overrun", "Fragments lost because they were overwritten while the consumer read them.")
    package static let slow = MetricFamily.counter(
        "slow", "Times the producer found this consumer holding it back (out of credits).")

    package static let schema = MetricSchema(
        prefix: "link",
        [
            consumed, consumedBytes, filtered, filteredBytes, pollingOverrun, fragPollingOverrun, readingOverrun,
            fragReadingOverrun, slow,
        ])
}
