/// What the stem counts on every iteration, in memory allocated once when
/// the loop starts (and never freed: the loop never returns). Unlike the
/// arrays of `VariantCounts` and `LocalHistogram`, updating it costs no
/// uniqueness or bounds check, and the loop histogram is bucketed in ticks
/// (its bounds converted once), so an iteration converts nothing: all of it
/// is a few adds and compares on the per-fragment path.
@usableFromInline
struct StemCounters {
    /// Ticks per regime, by `Regime.rawValue`; published as nanoseconds.
    @usableFromInline let regimes: UnsafeMutablePointer<UInt64>
    @usableFromInline let regimeCount: Int
    /// The loop histogram's bounds in ticks, ascending, then its counts
    /// (one per bound, then +Inf).
    @usableFromInline let loopBounds: UnsafeMutablePointer<UInt64>
    @usableFromInline let loopCounts: UnsafeMutablePointer<UInt64>
    @usableFromInline let boundCount: Int
    @usableFromInline var loopTicks: UInt64 = 0
    @usableFromInline var inBackpressure = false
    @usableFromInline var backpressureCount: UInt64 = 0

    @inlinable
    init(_ clock: TickClock) {
        regimeCount = Regime.allCases.count
        regimes = .allocate(capacity: regimeCount)
        regimes.initialize(repeating: 0, count: regimeCount)
        let bounds = CommonMetrics.loopDuration.buckets
        boundCount = bounds.count
        loopBounds = .allocate(capacity: bounds.count)
        for (i, b) in bounds.enumerated() { (loopBounds + i).initialize(to: clock.ticks(nanos: b)) }
        loopCounts = .allocate(capacity: bounds.count + 1)
        loopCounts.initialize(repeating: 0, count: bounds.count + 1)
    }

    @inlinable @inline(__always)
    func add(_ regime: Regime, _ ticks: UInt64) {
        regimes[regime.rawValue] &+= ticks
    }

    /// One iteration of the loop took `ticks`.
    @inlinable @inline(__always)
    mutating func sampleLoop(_ ticks: UInt64) {
        var i = 0
        while i < boundCount && ticks > loopBounds[i] { i &+= 1 }
        loopCounts[i] &+= 1
        loopTicks &+= ticks
    }

    @inlinable
    func publish(_ c: CommonCells, _ clock: TickClock) {
        c.inBackpressure.set(inBackpressure ? 1 : 0)
        c.backpressure.set(backpressureCount)
        c.regimes.publish(UnsafePointer(regimes), count: regimeCount) { clock.nanos(ticks: $0) }
        c.loop.publish(counts: UnsafePointer(loopCounts), sum: clock.nanos(ticks: loopTicks))
    }
}
