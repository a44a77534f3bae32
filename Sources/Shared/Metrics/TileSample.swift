/// What a tile's metrics region says about how it is doing, read straight
/// from shared memory, and what two readings say over the time between
/// them: one definition for the terminal `monitor` (its table and `--json`)
/// and the gui tile's snapshots. Every value is what a tile wrote, so the
/// arithmetic wraps and never traps, and nothing here allocates: the gui
/// tile computes a snapshot a few times a second in its steady state.

/// One reading of a tile's common metrics.
package struct TileSample: Sendable, Equatable {
    package var pid: UInt64 = 0
    /// `TileStatus` raw value (any value, as written).
    package var status: UInt64 = 0
    /// The CPU it ran on at its last housekeeping.
    package var cpu: UInt64 = 0
    /// Wall-clock nanoseconds of the last heartbeat.
    package var heartbeat: UInt64 = 0
    /// Nanoseconds in each regime, by `Regime`.
    package var regimes = RegimeNanos()
    package var inBackpressure = false
    package var backpressureEvents: UInt64 = 0

    package init() {}

    /// Reads `r`'s common metrics (relaxed loads; no allocation).
    package init(_ r: MetricsReader) {
        let at = r.layout.commonOffset
        pid = r.load(at + Slots.pid)
        status = r.load(at + Slots.status)
        cpu = r.load(at + Slots.cpu)
        heartbeat = r.load(at + Slots.heartbeat)
        for regime in 0..<RegimeNanos.count { regimes[Regime(rawValue: regime)!] = r.load(at + Slots.regimes + regime) }
        inBackpressure = r.load(at + Slots.inBackpressure) != 0
        backpressureEvents = r.load(at + Slots.backpressure)
    }

    /// How old the heartbeat is at `wallclock` (ns), never negative.
    package func heartbeatAgeNanos(at wallclock: Int64) -> Int64 {
        max(0, wallclock &- Int64(truncatingIfNeeded: heartbeat))
    }
}

/// Nanoseconds per regime, without the array `VariantCounts` holds.
package struct RegimeNanos: Sendable, Equatable {
    package static let count = 6
    /// By `Regime.rawValue`.
    package var values: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)

    package init() {}

    package subscript(_ r: Regime) -> UInt64 {
        get {
            switch r.rawValue {
            case 0: values.0
            case 1: values.1
            case 2: values.2
            case 3: values.3
            case 4: values.4
            default: values.5
            }
        }
        set {
            switch r.rawValue {
            case 0: values.0 = newValue
            case 1: values.1 = newValue
            case 2: values.2 = newValue
            case 3: values.3 = newValue
            case 4: values.4 = newValue
            default: values.5 = newValue
            }
        }
    }

    package static func == (a: RegimeNanos, b: RegimeNanos) -> Bool { a.values == b.values }
}

/// One reading of an input link's counters, as its consumer wrote them.
package struct LinkSample: Sendable, Equatable {
    package var consumed: UInt64 = 0
    package var consumedBytes: UInt64 = 0
    package var filtered: UInt64 = 0
    /// Fragments lost to overruns (polling and reading).
    package var lost: UInt64 = 0
    /// Times the producer found this consumer holding it back.
    package var slow: UInt64 = 0

    package init() {}

    /// Reads in-link `index` of `r`.
    package init(_ r: MetricsReader, in index: Int) {
        let at = r.layout.linkOffset(index)
        consumed = r.load(at + Slots.consumed)
        consumedBytes = r.load(at + Slots.consumedBytes)
        filtered = r.load(at + Slots.filtered)
        lost = r.load(at + Slots.fragPollingOverrun) &+ r.load(at + Slots.fragReadingOverrun)
        slow = r.load(at + Slots.slow)
    }
}

/// The slots a sample reads, found once: a schema lookup compares the
/// families' names, which a reading a few times a second need not repeat.
private enum Slots {
    static let pid = CommonMetrics.schema.offset(of: CommonMetrics.pid)
    static let status = CommonMetrics.schema.offset(of: CommonMetrics.status)
    static let cpu = CommonMetrics.schema.offset(of: CommonMetrics.cpu)
    static let heartbeat = CommonMetrics.schema.offset(of: CommonMetrics.heartbeat)
    static let regimes = CommonMetrics.schema.offset(of: CommonMetrics.regimeDuration)
    static let inBackpressure = CommonMetrics.schema.offset(of: CommonMetrics.inBackpressure)
    static let backpressure = CommonMetrics.schema.offset(of: CommonMetrics.backpressure)
    static let consumed = LinkMetrics.schema.offset(of: LinkMetrics.consumed)
    static let consumedBytes = LinkMetrics.schema.offset(of: LinkMetrics.consumedBytes)
    static let filtered = LinkMetrics.schema.offset(of: LinkMetrics.filtered)
    static let fragPollingOverrun = LinkMetrics.schema.offset(of: LinkMetrics.fragPollingOverrun)
    static let fragReadingOverrun = LinkMetrics.schema.offset(of: LinkMetrics.fragReadingOverrun)
    static let slow = LinkMetrics.schema.offset(of: LinkMetrics.slow)
}

/// Seconds between two readings taken at monotonic `a` and `b` (ns):
/// at least a nanosecond, so a rate is never a division by zero.
package func sampleSeconds(from a: Int64, to b: Int64) -> Double {
    max(1e-9, Double(b &- a) / 1e9)
}

/// How a tile spent the time between two readings.
package struct TileActivity: Sendable {
    /// Share of the interval per activity, 0...1 (all 0 when no time was
    /// accounted between the readings).
    package let caughtUp: Double
    package let processing: Double
    package let backpressured: Double
    /// Share in housekeeping, which overlaps the activities.
    package let housekeeping: Double
    package let backpressureEventsPerSecond: Double

    package init(from a: TileSample, to b: TileSample, seconds: Double) {
        func delta(_ r: Regime) -> Double { Double(b.regimes[r] &- a.regimes[r]) }
        func spent(_ x: Activity) -> Double { delta(Regime(x, housekeeping: true)) + delta(Regime(x, housekeeping: false)) }
        let c = spent(.caughtUp), p = spent(.processing), bp = spent(.backpressured)
        let total = max(1, c + p + bp)
        caughtUp = c / total
        processing = p / total
        backpressured = bp / total
        housekeeping =
            (delta(.caughtUpHousekeeping) + delta(.processingHousekeeping) + delta(.backpressuredHousekeeping)) / total
        backpressureEventsPerSecond = Double(b.backpressureEvents &- a.backpressureEvents) / seconds
    }

    package subscript(_ x: Activity) -> Double {
        switch x {
        case .caughtUp: caughtUp
        case .processing: processing
        case .backpressured: backpressured
        }
    }

    /// The share of the interval the tile was not caught up (1 − caught
    /// up; 0, not 1, when no time was accounted between the readings).
    package var busy: Double { processing + backpressured }
}

/// What an input link carried between two readings, per second.
package struct LinkRates: Sendable {
    package let fragsPerSecond: Double
    package let bytesPerSecond: Double
    package let filteredPerSecond: Double
    package let lostPerSecond: Double

    package init(from a: LinkSample, to b: LinkSample, seconds: Double) {
        fragsPerSecond = Double(b.consumed &- a.consumed) / seconds
        bytesPerSecond = Double(b.consumedBytes &- a.consumedBytes) / seconds
        filteredPerSecond = Double(b.filtered &- a.filtered) / seconds
        lostPerSecond = Double(b.lost &- a.lost) / seconds
    }
}
