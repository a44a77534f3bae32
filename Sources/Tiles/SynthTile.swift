#if canImport(Glibc)
import Glibc
#endif
import Shared

/// A synthetic workload: hashes slices of a buffer in its scratch memory at
/// a configured rate, so a topology has a tile whose counters, gauge and
/// histogram move without any input. Useful to check a deployment end to
/// end and to load the metric tile with many tiles.
package struct SynthTile: Tile {
    // MARK: limits

    package static let kind = "synth"
    package static let summary = "synthetic work at a set rate: hashes buffer slices of three size classes"
    package static let maxCount = 512
    /// stderr, the log file, the death pipe.

    package static let rate = OptionKey<Int>(
        "rate", 0...100_000_000, default: 1000,
        help: "Work items per second; 0 works as fast as the tile can.")
    package static let workBytes = OptionKey<Int>(
        "work_bytes", 64...(16 << 20), default: 4096,
        help: "Bytes hashed by a large work item (medium: a quarter, small: 64).")

    package static let options = [rate.declaration, workBytes.declaration]

    // MARK: metrics

    /// A work item's size: 64 bytes, a quarter of `work_bytes`, or all of it.
    enum SizeClass: Int, MetricLabel {
        case small, medium, large
        /// Computed once: `allCases` builds an array on each use.
        static let count = allCases.count
    }
    static let workItems = MetricFamily.enumCounter(
        "work_items", "Work items done, by size class.", label: "size_class", SizeClass.self)
    static let bytesHashed = MetricFamily.counter("bytes_hashed", "Bytes hashed by all work items.", unit: "bytes")
    static let backlog = MetricFamily.gauge("backlog", "Work items due by the configured rate but not done yet.")
    static let workDuration = MetricFamily.histogram(
        "work_duration_seconds", "Time to do one work item.",
        buckets: [250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000],
        unit: "seconds", converter: .nanosToSeconds)

    package static let schema = MetricSchema(prefix: kind, [workItems, bytesHashed, backlog, workDuration])

    // MARK: scratch

    package struct Scratch { let buffer: Int }

    package static func layoutScratch(_ tile: TileSpec, _ l: inout LayoutBuilder) -> Scratch {
        Scratch(buffer: l.append(tile[Self.workBytes], align: 64))
    }

    // MARK: state and privileged init

    let buffer: UnsafeMutablePointer<UInt8>
    let workBytes: Int
    var pacer: RatePacer
    var rng: SplitMix64
    var items = VariantCounts<SizeClass>()
    var hashed: UInt64 = 0
    var digest: UInt64 = 0
    var durations: LocalHistogram
    var lastBacklog: Int64 = 0

    let itemsCell: LabelledCounterCell<SizeClass>
    let hashedCell: CounterCell
    let backlogCell: GaugeCell
    let durationCell: HistogramCell

    package init(privileged ctx: TileContext) throws {
        let (base, parts) = try ctx.scratch(Self.self)
        workBytes = ctx.tile[Self.workBytes]
        pacer = RatePacer(rate: ctx.tile[Self.rate])
        buffer = (base + parts.buffer).bindMemory(to: UInt8.self, capacity: workBytes)
        rng = SplitMix64(seed: 0x5EED_0000 &+ UInt64(ctx.tile.kindId))
        for i in 0..<workBytes { buffer[i] = UInt8(truncatingIfNeeded: rng.next()) }
        durations = LocalHistogram(Self.workDuration)
        itemsCell = ctx.metrics.enumCounter(Self.workItems, SizeClass.self)
        hashedCell = ctx.metrics.counter(Self.bytesHashed)
        backlogCell = ctx.metrics.gauge(Self.backlog)
        durationCell = ctx.metrics.histogram(Self.workDuration)
    }

    package mutating func unprivilegedInit(_ ctx: TileContext) throws {
        pacer.start(Clock.monotonicNanos())
    }

    // MARK: loop callbacks

    package mutating func beforeCredit(_ stem: inout StemContext) -> Bool {
        let backlog = pacer.backlog(stem.now)
        lastBacklog = max(0, backlog)
        guard backlog > 0 else { return false }
        // A bounded batch, so housekeeping is never starved.
        for _ in 0..<min(backlog, 64) { work() }
        return true
    }

    mutating func work() {
        let r = rng.next()
        let cls = SizeClass(rawValue: Int(r % UInt64(SizeClass.count)))!
        let length: Int
        switch cls {
        case .small: length = 64
        case .medium: length = max(64, workBytes / 4)
        case .large: length = workBytes
        }
        let offset = Int((r >> 8) % UInt64(workBytes - length + 1))
        let t0 = Clock.monotonicNanos()
        // FNV-1a over the slice: real memory traffic, cheap to reason about.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in offset..<(offset + length) { h = (h ^ UInt64(buffer[i])) &* 0x0000_0100_0000_01B3 }
        digest ^= h
        durations.sample(UInt64(max(0, Clock.monotonicNanos() - t0)))
        items[cls] &+= 1
        hashed &+= UInt64(length)
        pacer.did()
    }

    /// Sleeps until the next item is due or housekeeping, whichever is first.
    package mutating func idle(until deadline: Int64) {
        sleepUntil(monotonicNanos: pacer.rate == 0 ? deadline : min(deadline, pacer.nextDue))
    }

    package mutating func writeMetrics() {
        itemsCell.publish(items)
        hashedCell.set(hashed)
        backlogCell.set(UInt64(lastBacklog))
        durationCell.publish(durations)
    }

    // MARK: seccomp

    package static var seccompPolicy: SeccompPolicy {
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
    }
}
