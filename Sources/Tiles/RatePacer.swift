import Shared

/// Spreads work evenly at `rate` items per second from a start time; rate 0
/// means as fast as possible.
struct RatePacer {
    let rate: Int64
    var started: Int64 = 0
    var done: Int64 = 0

    init(rate: Int) { self.rate = Int64(rate) }

    mutating func start(_ now: Int64) { started = now }

    /// Items due by `now` and not done yet; with rate 0, a batch of 64.
    /// After a stall the backlog is worked off at full speed.
    @inline(__always)
    func backlog(_ now: Int64) -> Int64 {
        rate == 0 ? 64 : Int64(Double(now - started) * Double(rate) / 1e9) - done
    }

    @inline(__always) mutating func did(_ n: Int64 = 1) { done += n }

    /// When the next item is due (monotonic ns).
    var nextDue: Int64 { rate == 0 ? started : started + Int64(Double(done + 1) * 1e9 / Double(rate)) }
}
