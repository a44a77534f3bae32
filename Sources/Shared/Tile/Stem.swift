#if canImport(Glibc)
import Glibc
#endif
import CShim

/// What the stem tells a tile's callbacks about the current iteration.
public struct StemContext {
    /// Monotonic nanoseconds at the start of this iteration.
    public internal(set) var now: Int64
}

/// The tile's run loop: housekeeping on a jittered schedule (heartbeat,
/// common metrics, the tile's own metrics, the halt check), then the tile's
/// callbacks; when there is nothing to do it idles as the topology says.
enum Stem {
    static func run<T: Tile>(_ tile: inout T, _ ctx: TileContext, _ common: CommonCells) -> Never {
        let interval = max(ctx.topology.layout.housekeepingIntervalNanos, 1000)
        let sleeps = ctx.topology.layout.idle == .sleep
        let halt = ctx.haltSlot
        var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: Clock.monotonicNanos()) ^ UInt64(ctx.tile.index))
        var stem = StemContext(now: Clock.monotonicNanos())
        var nextHousekeeping = stem.now

        while true {
            stem.now = Clock.monotonicNanos()
            if stem.now >= nextHousekeeping {
                if cshim_load_acquire_u64(halt) != 0 { stop(&tile, common) }
                common.refresh()
                tile.housekeeping(&stem)
                tile.writeMetrics()
                // Jitter in [interval/2, 3*interval/2): tiles started together
                // do not all publish in the same instant.
                nextHousekeeping = stem.now + interval / 2 + Int64(rng.next() % UInt64(interval))
            }
            let busy = tile.beforeCredit(&stem)
            if !busy && sleeps { tile.idle(until: nextHousekeeping) }
        }
    }

    /// The orderly end: final metrics with status shutdown, then exit 0.
    static func stop<T: Tile>(_ tile: inout T, _ common: CommonCells) -> Never {
        tile.shutdown()
        tile.writeMetrics()
        common.status.set(TileStatus.shutdown.rawValue)
        common.refresh()
        Log.info("halted by the supervisor")
        exit(0)
    }
}

/// The common `tile_*` metrics, bound once.
struct CommonCells {
    let pid: GaugeCell
    let status: GaugeCell
    let heartbeat: GaugeCell
    let voluntary: CounterCell
    let involuntary: CounterCell
    let majorFaults: CounterCell
    let minorFaults: CounterCell

    init(_ w: MetricsWriter) {
        pid = w.gauge(CommonMetrics.pid)
        status = w.gauge(CommonMetrics.status)
        heartbeat = w.gauge(CommonMetrics.heartbeat)
        voluntary = w.counter(CommonMetrics.contextSwitchVoluntary)
        involuntary = w.counter(CommonMetrics.contextSwitchInvoluntary)
        majorFaults = w.counter(CommonMetrics.pageFaultMajor)
        minorFaults = w.counter(CommonMetrics.pageFaultMinor)
    }

    /// Heartbeat and resource usage; one getrusage(2) per call.
    func refresh() {
        heartbeat.set(UInt64(Clock.wallclockNanos()))
        var ru = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &ru) == 0 {
            voluntary.set(UInt64(ru.ru_nvcsw))
            involuntary.set(UInt64(ru.ru_nivcsw))
            majorFaults.set(UInt64(ru.ru_majflt))
            minorFaults.set(UInt64(ru.ru_minflt))
        }
    }
}

/// A small, fast generator for jitter and synthetic workloads; not for secrets.
public struct SplitMix64 {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    @inline(__always) public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
