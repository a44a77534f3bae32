#if canImport(Glibc)
import Glibc
#endif
import CShim

/// What the stem gives a tile's callbacks: the time, and its outputs.
public struct StemContext {
    /// Monotonic nanoseconds at the start of this iteration (converted from
    /// the tick counter when asked for: most iterations never ask).
    @inlinable public var now: Int64 { clock.monotonicNanos(at: tick) }
    @usableFromInline var tick: UInt64
    @usableFromInline var clock: TickClock
    /// Allocated once; never freed (the loop never returns).
    @usableFromInline let outs: UnsafeMutableBufferPointer<LinkProducer>

    @usableFromInline init(tick: UInt64, clock: TickClock, outs: [LinkProducer]) {
        self.tick = tick
        self.clock = clock
        self.outs = .allocate(capacity: outs.count)
        _ = self.outs.initialize(from: outs)
    }

    /// Where the next payload for output `out` is written (its mtu bytes).
    @inlinable public func buffer(_ out: Int) -> UnsafeMutableRawPointer { outs[out].buffer }
    @inlinable public func mtu(_ out: Int) -> Int { outs[out].mtu }

    /// Publishes the `size` bytes written at `buffer(out)`.
    @inlinable
    public func publish(_ out: Int, sig: UInt64, size: Int, tsorig: UInt32, ctl: UInt16 = 0) {
        outs[out].publish(sig: sig, size: size, ctl: ctl, tsorig: tsorig, tspub: compressedTimestamp(now))
    }
}

/// The tile's run loop. Each iteration:
///
///   1. housekeeping, on a jittered schedule: halt check, credits, progress
///      for producers, heartbeat, metrics;
///   2. `beforeCredit`;
///   3. without credits for `burst` fragments on every output, the tile is
///      backpressured: it takes no input this iteration;
///   4. `afterCredit`, then one fragment from the next input that has one;
///   5. when nothing happened, idle (sleep with backoff, or spin).
///
/// Every tick of the CPU's counter goes to exactly one regime: caught up,
/// processing or backpressured, with or without housekeeping. The loop reads
/// the tick counter once per iteration (twice when it housekeeps or
/// sleeps), works in ticks throughout (the schedule, the regimes, the loop
/// histogram), and never calls `clock_gettime` but at housekeeping, where
/// the tick clock is anchored to it again. Its state (inputs, outputs,
/// counters) is in memory allocated once, so the per-fragment path has no
/// array uniqueness or bounds checks.
@usableFromInline
enum Stem {
    @inlinable
    static func run<T: Tile>(_ tile: inout T, _ ctx: TileContext, _ common: CommonCells, _ clock: TickClock) -> Never {
        let interval = max(ctx.topology.layout.housekeepingIntervalNanos, 1000)
        let intervalTicks = max(clock.ticks(nanos: UInt64(interval)), 2)
        let sleeps = ctx.topology.idle(of: ctx.tile) == .sleep
        let burst = T.burst
        let halt = ctx.haltSlot
        let ins = UnsafeMutableBufferPointer<LinkReader>.allocate(capacity: ctx.inputs.count)
        _ = ins.initialize(from: ctx.inputs)
        let inCounts = UnsafeMutableBufferPointer<LinkCounts>.allocate(capacity: ctx.inputs.count)
        inCounts.initialize(repeating: LinkCounts())
        var inCells = (0..<ins.count).map { LinkCells(ctx.metrics, in: $0) }
        var clock = clock
        var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: Clock.monotonicNanos()) ^ UInt64(ctx.tile.index))
        var t0 = clock.ticks()
        var stem = StemContext(tick: t0, clock: clock, outs: ctx.outputs)
        let outs = stem.outs
        var s = StemCounters(clock)
        var nextHousekeeping = t0
        var cursor = 0
        var idleNanos: Int64 = 0

        while true {
            stem.tick = t0
            // 1. Housekeeping.
            var housekept = false
            if t0 &- nextHousekeeping < UInt64(1) << 63 {
                housekept = true
                if cshim_load_acquire_u64(halt) != 0 { stop(&tile, ins, &inCells, inCounts, s, common, clock) }
                for i in outs.indices {
                    outs[i].refreshCredits()
                    outs[i].writeHeader()
                }
                for i in ins.indices { ins[i].publishProgress() }
                common.refresh()
                tile.housekeeping(&stem)
                tile.writeMetrics()
                s.publish(common, clock)
                for i in ins.indices { inCells[i].publish(inCounts[i], slow: ins[i].slowCount) }
                // Jitter in [interval/2, 3*interval/2): tiles started together
                // do not all publish in the same instant.
                nextHousekeeping = t0 &+ intervalTicks / 2 &+ rng.next() % intervalTicks
                clock.anchor()
                stem.clock = clock
            }
            let t1 = housekept ? clock.ticks() : t0

            // 2. Work that does not depend on credits.
            var busy = tile.beforeCredit(&stem)

            // 3. Credits.
            var backpressured = false
            for i in outs.indices where outs[i].credits < burst {
                let slow = outs[i].refreshCredits()
                if outs[i].credits < burst {
                    backpressured = true
                    if !s.inBackpressure { for slot in slow { outs[i].countSlow(slot) } }
                }
            }
            if backpressured {
                if !s.inBackpressure { s.backpressureCount &+= 1 }
                s.inBackpressure = true
            } else {
                s.inBackpressure = false
                // 4. Produce, then consume one fragment.
                if tile.afterCredit(&stem) { busy = true }
                if ins.count > 0 && pollOne(&tile, &stem, ins, inCounts, &cursor) { busy = true }
            }

            // 5. Account (in ticks), then idle.
            let t2 = clock.ticks()
            let activity: Activity = backpressured ? .backpressured : busy ? .processing : .caughtUp
            s.add(Regime(activity, housekeeping: true), t1 &- t0)
            s.add(Regime(activity, housekeeping: false), t2 &- t1)
            s.sampleLoop(t2 &- t0)
            var t3 = t2
            if busy {
                idleNanos = 0
            } else if sleeps {
                idleNanos = min(max(idleNanos * 2, 1000), interval)
                let now = clock.monotonicNanos(at: t2)
                let untilHousekeeping = Int64(clock.nanos(ticks: nextHousekeeping &- min(nextHousekeeping, t2)))
                tile.idle(until: now + min(untilHousekeeping, idleNanos))
                t3 = clock.ticks()
                s.add(Regime(activity, housekeeping: false), t3 &- t2)
            }
            t0 = t3
        }
    }

    /// Reads at most one fragment, from the first input (starting at
    /// `cursor`, which rotates for fairness) that has something. Returns
    /// whether anything was read, skipped or lost.
    @inlinable @inline(__always)
    static func pollOne<T: Tile>(
        _ tile: inout T, _ stem: inout StemContext, _ ins: UnsafeMutableBufferPointer<LinkReader>,
        _ counts: UnsafeMutableBufferPointer<LinkCounts>, _ cursor: inout Int
    ) -> Bool {
        let n = ins.count
        for k in 0..<n {
            // No division on the per-fragment path: cursor < n, k < n.
            let i = cursor + k >= n ? cursor + k - n : cursor + k
            switch ins[i].poll() {
            case .caughtUp:
                continue
            case .overrun(let skipped):
                counts[i].pollingOverruns &+= 1
                counts[i].pollingOverrunFrags &+= skipped
            case .torn:
                counts[i].readingOverruns &+= 1
                counts[i].readingOverrunFrags &+= 1
            case .frag(let meta):
                if tile.beforeFrag(&stem, input: i, meta: meta) {
                    counts[i].filtered &+= 1
                    counts[i].filteredBytes &+= UInt64(meta.size)
                    ins[i].advance()
                } else {
                    tile.duringFrag(&stem, input: i, meta: meta, payload: ins[i].payload(of: meta))
                    let whole = ins[i].stillValid(meta.seq)
                    ins[i].advance()
                    if whole {
                        counts[i].consumed &+= 1
                        counts[i].consumedBytes &+= UInt64(meta.size)
                        tile.afterFrag(&stem, input: i, meta: meta)
                    } else {
                        counts[i].readingOverruns &+= 1
                        counts[i].readingOverrunFrags &+= 1
                    }
                }
                // Give the producer its credits back well before it runs
                // out, not only at housekeeping.
                if ins[i].unpublished >= UInt64(max(1, ins[i].depth / 4)) { ins[i].publishProgress() }
            }
            cursor = i + 1 == n ? 0 : i + 1
            return true
        }
        return false
    }

    /// The orderly end: final metrics with status shutdown, then exit 0.
    @inlinable
    static func stop<T: Tile>(
        _ tile: inout T, _ ins: UnsafeMutableBufferPointer<LinkReader>, _ inCells: inout [LinkCells],
        _ counts: UnsafeMutableBufferPointer<LinkCounts>, _ s: StemCounters, _ common: CommonCells, _ clock: TickClock
    ) -> Never {
        tile.shutdown()
        tile.writeMetrics()
        for i in ins.indices {
            ins[i].publishProgress()
            inCells[i].publish(counts[i], slow: ins[i].slowCount)
        }
        s.publish(common, clock)
        common.status.set(TileStatus.shutdown.rawValue)
        common.refresh()
        Log.info("halted by the supervisor")
        exit(0)
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
