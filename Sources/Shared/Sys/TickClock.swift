#if canImport(Glibc)
import Glibc
#endif
import CShim

/// The CPU's timestamp counter as a clock, as Firedancer's `fd_tickcount`:
/// a read costs a few nanoseconds where `clock_gettime` costs tens, so the
/// stem can time every iteration. Calibrated once against CLOCK_MONOTONIC
/// (before the sandbox, while /proc is there to say whether the counter is
/// invariant), and anchored again at each housekeeping, so its nanoseconds
/// stay within microseconds of the monotonic clock's. Where the counter is
/// not invariant (no `constant_tsc`/`nonstop_tsc`), a tick is a nanosecond
/// of CLOCK_MONOTONIC.
@usableFromInline package struct TickClock: Sendable {
    /// Nanoseconds per tick, in 32.32 fixed point.
    @usableFromInline package let nanosPerTick: UInt64
    /// Whether ticks come from the timestamp counter.
    @usableFromInline package let counter: Bool
    @usableFromInline var anchorTicks: UInt64
    @usableFromInline var anchorNanos: Int64

    /// The current tick.
    @inlinable @inline(__always)
    package func ticks() -> UInt64 {
        counter ? cshim_tickcount() : UInt64(bitPattern: Clock.monotonicNanos())
    }

    /// `ticks` ticks as nanoseconds (a 64 × 64-bit product, no overflow).
    @inlinable @inline(__always)
    package func nanos(ticks: UInt64) -> UInt64 {
        let (high, low) = ticks.multipliedFullWidth(by: nanosPerTick)
        return high << 32 | low >> 32
    }

    /// The monotonic nanoseconds of `tick` (a tick read since the last anchor).
    /// Ticks in `nanos` nanoseconds (for thresholds computed once).
    @usableFromInline package func ticks(nanos: UInt64) -> UInt64 {
        UInt64(min(Double(nanos) * 4_294_967_296 / Double(max(1, nanosPerTick)), Double(UInt64.max / 2)))
    }

    @inlinable @inline(__always)
    package func monotonicNanos(at tick: UInt64) -> Int64 {
        // A tick read before the last anchor is behind it.
        tick >= anchorTicks
            ? anchorNanos &+ Int64(bitPattern: nanos(ticks: tick &- anchorTicks))
            : anchorNanos &- Int64(bitPattern: nanos(ticks: anchorTicks &- tick))
    }

    /// Reads both clocks again: the next conversions start from them.
    /// (Without a counter a tick is a monotonic nanosecond: nothing to do.)
    @usableFromInline package mutating func anchor() {
        guard counter else { return }
        anchorTicks = cshim_tickcount()
        anchorNanos = Clock.monotonicNanos()
    }

    /// Measures the counter against CLOCK_MONOTONIC for `window` nanoseconds
    /// (2 ms is within 20 parts per million of the truth here).
    @usableFromInline package static func calibrate(window: Int64 = 2_000_000) -> TickClock {
        guard invariantCounter() else {
            return TickClock(nanosPerTick: 1 << 32, counter: false, anchorTicks: 0, anchorNanos: 0)
        }
        let t0 = Clock.monotonicNanos()
        let c0 = cshim_tickcount()
        var t1 = t0
        while t1 - t0 < window { t1 = Clock.monotonicNanos() }
        let c1 = cshim_tickcount()
        let perTick = Double(t1 - t0) / Double(max(1, c1 &- c0))
        return TickClock(nanosPerTick: UInt64(perTick * 4_294_967_296), counter: true, anchorTicks: c1, anchorNanos: t1)
    }

    private init(nanosPerTick: UInt64, counter: Bool, anchorTicks: UInt64, anchorNanos: Int64) {
        self.nanosPerTick = nanosPerTick
        self.counter = counter
        self.anchorTicks = anchorTicks
        self.anchorNanos = anchorNanos
    }

    /// A counter that runs at one rate in every power state and on every
    /// core (`constant_tsc` and `nonstop_tsc` on x86).
    static func invariantCounter() -> Bool {
        #if arch(x86_64)
        guard let text = try? Files.read("/proc/cpuinfo"),
            let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let words = Set(flags.split(separator: " "))
        return words.contains("constant_tsc") && words.contains("nonstop_tsc")
        #else
        return false
        #endif
    }
}
