import Shared

/// A test-only tile that logs numbered lines (`chatter line N`) at debug,
/// `rate` a second, and at its orderly stop how many it logged: the log
/// rotation test checks every number is in the log files exactly once.
struct ChatterTile: Tile {
    static let kind = "chatter"
    static let summary = "test only: logs numbered lines at debug"
    static let rate = OptionKey<Int>("rate", 1...100_000, default: 1000, help: "Lines a second.")
    static let options = [rate.declaration]
    static let schema = MetricSchema(prefix: kind, [])
    static var seccompPolicy: SeccompPolicy { RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common }

    let nanosPerLine: Int64
    var start: Int64 = 0
    var sent: Int64 = 0

    init(privileged ctx: TileContext) throws {
        nanosPerLine = 1_000_000_000 / Int64(ctx.tile[Self.rate])
    }

    mutating func beforeCredit(_ stem: inout StemContext) -> Bool {
        if start == 0 { start = stem.now }
        let due = (stem.now - start) / nanosPerLine
        guard sent < due else { return false }
        // A bounded batch: housekeeping is never starved.
        for _ in 0..<min(due - sent, 64) {
            sent += 1
            Log.debug("chatter line \(sent)")
        }
        return true
    }

    mutating func shutdown() { Log.notice("chatter: logged \(sent) lines") }
}
