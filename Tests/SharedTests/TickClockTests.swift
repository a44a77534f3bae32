#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Shared

/// The stem times its loop with the tick clock: its nanoseconds must agree
/// with CLOCK_MONOTONIC's, and converting never overflows.
struct TickClockTests {
    @Test func itsNanosecondsAgreeWithTheMonotonicClock() {
        var clock = TickClock.calibrate()
        clock.anchor()
        let t0 = clock.ticks(), n0 = Clock.monotonicNanos()
        var n1 = n0
        while n1 - n0 < 20_000_000 { n1 = Clock.monotonicNanos() }
        let t1 = clock.ticks()
        let measured = Int64(clock.nanos(ticks: t1 &- t0))
        // 20 ms measured both ways: within 1% (calibration error and the
        // reads' own time on a shared machine).
        #expect(abs(measured - (n1 - n0)) < 200_000, "ticks say \(measured) ns, the monotonic clock \(n1 - n0) ns")
        // A tick converts to the monotonic time it was read at.
        #expect(abs(clock.monotonicNanos(at: t1) - n1) < 200_000)
        // A tick read before the anchor lies before it.
        #expect(clock.monotonicNanos(at: t0) < clock.monotonicNanos(at: t1))
    }

    @Test func conversionDoesNotOverflow() {
        let clock = TickClock.calibrate(window: 1_000_000)
        // A year of ticks at any rate converts without trapping, and
        // conversion is monotone.
        let year = UInt64(365 * 24 * 3600) * 5_000_000_000
        #expect(clock.nanos(ticks: year) > clock.nanos(ticks: year / 2))
        #expect(clock.nanos(ticks: 0) == 0)
    }

    @Test func thisMachinesCounterIsInvariant() {
        // The VM this project is measured on has constant_tsc and
        // nonstop_tsc; elsewhere the fallback (ticks are nanoseconds) is taken.
        let clock = TickClock.calibrate(window: 1_000_000)
        if TickClock.invariantCounter() {
            #expect(clock.counter)
        } else {
            #expect(!clock.counter && clock.nanosPerTick == 1 << 32)
        }
    }
}
