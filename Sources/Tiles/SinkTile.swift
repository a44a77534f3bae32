#if canImport(Glibc)
import Glibc
#endif
import Shared

/// The end of the line: consumes everything, counts it, and measures how
/// long each transaction took from the source to here. A `delay_ns` makes
/// it deliberately slow (for backpressure and overrun tests).
package struct SinkTile: Tile {
    // MARK: limits

    package static let kind = "sink"
    package static let summary = "consumes fragments; histogram of origin-to-sink latency"
    package static let maxCount = 64
    package static let inputs = 1...256

    package static let delayNs = OptionKey<Int>(
        "delay_ns", 0...1_000_000_000, default: 0,
        help: "Busy time spent on each fragment: a deliberately slow consumer.")

    package static let options = [delayNs.declaration]

    // MARK: metrics

    static let transactions = MetricFamily.counter("transactions", "Fragments consumed.")
    static let bytes = MetricFamily.counter("bytes", "Payload bytes consumed.", unit: "bytes")
    static let latency = MetricFamily.histogram(
        "latency_seconds", "Time from the fragment's origin (the source) to the sink.",
        buckets: [
            1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
            5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000, 1_000_000_000,
        ],
        unit: "seconds", converter: .nanosToSeconds)
    package static let schema = MetricSchema(prefix: kind, [transactions, bytes, latency])

    // MARK: state

    let delay: Int64
    var count: UInt64 = 0
    var byteCount: UInt64 = 0
    var latencies: LocalHistogram
    let countCell: CounterCell
    let bytesCell: CounterCell
    let latencyCell: HistogramCell

    package init(privileged ctx: TileContext) throws {
        delay = Int64(ctx.tile[Self.delayNs])
        latencies = LocalHistogram(Self.latency)
        countCell = ctx.metrics.counter(Self.transactions)
        bytesCell = ctx.metrics.counter(Self.bytes)
        latencyCell = ctx.metrics.histogram(Self.latency)
    }

    // MARK: loop callbacks

    package mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) {
        let now = Clock.monotonicNanos()
        latencies.sample(compressedInterval(from: meta.tsorig, to: compressedTimestamp(now)))
        count &+= 1
        byteCount &+= UInt64(meta.size)
        if delay > 0 {
            let until = now + delay
            while Clock.monotonicNanos() < until {}
        }
    }

    package mutating func writeMetrics() {
        countCell.set(count)
        bytesCell.set(byteCount)
        latencyCell.publish(latencies)
    }

    // MARK: seccomp

    package static var seccompPolicy: SeccompPolicy {
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
    }
}
