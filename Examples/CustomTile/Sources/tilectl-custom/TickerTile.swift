#if canImport(Glibc)
import Glibc
#endif
import TilectlKit

/// `ticker`: publishes numbered 64-byte fragments at a steady rate on its
/// one output, which any kind that reads fragments can consume (the
/// example's topology gives them to the shipped `sink`).
struct TickerTile: Tile {
    static let kind = "ticker"
    static let summary = "example: publishes numbered fragments at a steady rate"
    static let outputs = 1...1

    // MARK: options, as `[tiles.ticker]` keys

    static let rate = OptionKey<Int>("rate", 1...1_000_000, default: 1000, help: "Fragments a second.")
    static let misbehave = OptionKey<Bool>(
        "misbehave", default: false,
        help: "Try to open a socket once running, which its seccomp policy does not allow: the sandbox kills it.")
    static let options = [rate.declaration, misbehave.declaration]

    // MARK: metrics, exported as ticker_*

    static let published = MetricFamily.counter("fragments", "Fragments published.")
    static let behind = MetricFamily.gauge("behind", "Fragments due but not yet published (credits ran out).")
    static let schema = MetricSchema(prefix: kind, [published, behind])

    // MARK: seccomp: what it may call once sandboxed, and nothing else

    static var seccompPolicy: SeccompPolicy {
        // Log lines, sleep when idle, and the allocator and clock calls
        // every tile makes. No socket, no file, no process.
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
    }

    // MARK: state

    let nanosPerFragment: Int64
    let misbehaves: Bool
    var start: Int64 = 0
    var sent: UInt64 = 0
    var due: UInt64 = 0
    let sentCell: CounterCell
    let behindCell: GaugeCell

    /// Before the sandbox: read options, bind metric cells.
    init(privileged ctx: TileContext) throws {
        nanosPerFragment = 1_000_000_000 / Int64(ctx.tile[Self.rate])
        misbehaves = ctx.tile[Self.misbehave]
        sentCell = ctx.metrics.counter(Self.published)
        behindCell = ctx.metrics.gauge(Self.behind)
    }

    /// Inside the sandbox, before the loop.
    mutating func unprivilegedInit(_ ctx: TileContext) throws {
        if misbehaves {
            Log.warning("opening a socket, which the policy does not allow")
            _ = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // killed here by SIGSYS
        }
    }

    /// Called while every output has credits: publish what is due, one
    /// fragment per call (the stem calls again while this returns true).
    mutating func afterCredit(_ stem: inout StemContext) -> Bool {
        if start == 0 { start = stem.now }
        due = UInt64((stem.now - start) / nanosPerFragment)
        guard sent < due else { return false }
        let out = stem.buffer(0)
        out.storeBytes(of: sent, as: UInt64.self)
        for i in 1..<8 { out.storeBytes(of: sent &* UInt64(i), toByteOffset: i * 8, as: UInt64.self) }
        stem.publish(0, sig: sent, size: 64, tsorig: compressedTimestamp(stem.now))
        sent &+= 1
        return true
    }

    /// At housekeeping and at the end: local counters into shared memory.
    mutating func writeMetrics() {
        sentCell.set(sent)
        behindCell.set(due > sent ? due - sent : 0)
    }
}
