#if canImport(Glibc)
import Glibc
#endif
import CShim

/// What the stem gives a tile's callbacks: the time, and its outputs.
public struct StemContext {
    /// Monotonic nanoseconds at the start of this iteration (converted from
    /// the tick counter when asked for: most iterations never ask). An
    /// iteration lasts about a microsecond at most (see `StemLoop`).
    @inlinable public var now: Int64 { clock.monotonicNanos(at: tick) }
    @usableFromInline var tick: UInt64
    @usableFromInline var clock: TickClock
    /// `now`, compressed, for `tspub`: converted once per iteration.
    @usableFromInline var stamp: UInt32 = 0
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
    /// The largest payload output `out` carries, in bytes: never publish more.
    @inlinable public func mtu(_ out: Int) -> Int { outs[out].mtu }

    /// Publishes the `size` bytes written at `buffer(out)`, stamped with
    /// this iteration's start as `tspub`.
    @inlinable
    public func publish(_ out: Int, sig: UInt64, size: Int, tsorig: UInt32, ctl: UInt16 = 0) {
        outs[out].publish(sig: sig, size: size, ctl: ctl, tsorig: tsorig, tspub: stamp)
    }

    @inlinable @inline(__always)
    mutating func start(_ tick: UInt64) {
        self.tick = tick
        stamp = compressedTimestamp(clock.monotonicNanos(at: tick))
    }
}

/// The tile's run loop. Each iteration:
///
///   1. housekeeping, on a jittered schedule: halt check, credits, progress
///      for producers, heartbeat, metrics;
///   2. `beforeCredit`;
///   3. steps, while each does something: without credits for `burst`
///      fragments on every output the tile is backpressured and the
///      iteration ends; otherwise `afterCredit`, then one fragment from the
///      next input that has one;
///   4. when nothing happened, idle (sleep with backoff, or spin).
///
/// The loop reads the tick counter once per iteration (twice when it
/// housekeeps or sleeps), not once per fragment: a read costs 12 ns on an
/// AMD EPYC, as much as a whole fragment through a link. So an iteration
/// takes as many steps as there is work, up to a limit that adapts to keep
/// an iteration near a microsecond: it doubles (to 64) while full
/// iterations take under half a microsecond, and halves when one takes more
/// than a microsecond. A tile doing microseconds of work per fragment gets
/// one step per iteration; a tile doing nanoseconds shares each clock read
/// among dozens. `StemContext.now`, the housekeeping schedule and `tspub`
/// are therefore late by at most about a microsecond of work.
///
/// Every tick goes to exactly one regime, as the iteration it falls in:
/// caught up (nothing happened), processing (any step or `beforeCredit` did
/// something) or backpressured (no credits at the first step), each with or
/// without housekeeping. The loop works in ticks throughout (the schedule,
/// the regimes, the loop histogram) and calls `clock_gettime` only at
/// housekeeping, where the tick clock is anchored to it again. Its state
/// (inputs, outputs, counters) is in memory allocated once, so a step has no
/// array uniqueness or bounds checks.
@usableFromInline
struct StemLoop<T: Tile> {
    /// The step limit's bounds, and the iteration length it aims at.
    @usableFromInline static var maxSteps: Int { 64 }
    @usableFromInline static var iterationBudgetNanos: UInt64 { 1000 }

    @usableFromInline let interval: Int64
    @usableFromInline let intervalTicks: UInt64
    @usableFromInline let budgetTicks: UInt64
    @usableFromInline let sleeps: Bool
    @usableFromInline let halt: UnsafePointer<UInt64>
    @usableFromInline let common: CommonCells
    @usableFromInline let ins: UnsafeMutableBufferPointer<LinkReader>
    @usableFromInline let inCounts: UnsafeMutableBufferPointer<LinkCounts>
    @usableFromInline let inCells: UnsafeMutableBufferPointer<LinkCells>
    @usableFromInline let outs: UnsafeMutableBufferPointer<LinkProducer>
    @usableFromInline var clock: TickClock
    @usableFromInline var rng: SplitMix64
    @usableFromInline var stem: StemContext
    @usableFromInline var s: StemCounters
    @usableFromInline var t0: UInt64
    @usableFromInline var nextHousekeeping: UInt64
    @usableFromInline var stepLimit = 1
    @usableFromInline var cursor = 0
    @usableFromInline var idleNanos: Int64 = 0

    @usableFromInline
    init(
        inputs: [LinkReader], outputs: [LinkProducer], metrics: MetricsWriter, common: CommonCells,
        halt: UnsafePointer<UInt64>, housekeepingIntervalNanos: Int64, sleeps: Bool, seed: UInt64, clock: TickClock,
        iterationBudgetNanos: UInt64 = StemLoop.iterationBudgetNanos
    ) {
        interval = max(housekeepingIntervalNanos, 1000)
        intervalTicks = max(clock.ticks(nanos: UInt64(interval)), 2)
        budgetTicks = max(clock.ticks(nanos: iterationBudgetNanos), 1)
        self.sleeps = sleeps
        self.halt = halt
        self.common = common
        ins = .allocate(capacity: inputs.count)
        _ = ins.initialize(from: inputs)
        inCounts = .allocate(capacity: inputs.count)
        inCounts.initialize(repeating: LinkCounts())
        inCells = .allocate(capacity: inputs.count)
        _ = inCells.initialize(from: (0..<inputs.count).map { LinkCells(metrics, in: $0) })
        self.clock = clock
        rng = SplitMix64(seed: seed)
        t0 = clock.ticks()
        stem = StemContext(tick: t0, clock: clock, outs: outputs)
        outs = stem.outs
        s = StemCounters(clock)
        nextHousekeeping = t0
    }

    /// One iteration of the loop.
    @inlinable @inline(__always)
    mutating func iterate(_ tile: inout T) {
        stem.start(t0)
        // 1. Housekeeping.
        var housekept = false
        if t0 &- nextHousekeeping < UInt64(1) << 63 {
            housekept = true
            housekeep(&tile)
        }
        let t1 = housekept ? clock.ticks() : t0

        // 2. Work that does not depend on credits.
        var busy = tile.beforeCredit(&stem)

        // 3. Steps.
        var steps = 0
        var backpressured = false
        while true {
            if !hasCredits() {
                backpressured = steps == 0
                break
            }
            var did = tile.afterCredit(&stem)
            if ins.count > 0 && Stem.pollOne(&tile, &stem, ins, inCounts, &cursor) { did = true }
            guard did else { break }
            steps &+= 1
            if steps == stepLimit { break }
        }
        if steps > 0 { busy = true }

        // 4. Account (in ticks), then idle.
        let t2 = clock.ticks()
        let activity: Activity = backpressured ? .backpressured : busy ? .processing : .caughtUp
        s.add(Regime(activity, housekeeping: true), t1 &- t0)
        s.add(Regime(activity, housekeeping: false), t2 &- t1)
        s.sampleLoop(t2 &- t0)
        if t2 &- t1 > budgetTicks {
            stepLimit = max(stepLimit >> 1, 1)
        } else if steps == stepLimit && t2 &- t1 < budgetTicks >> 1 {
            stepLimit = min(stepLimit << 1, Self.maxSteps)
        }
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

    /// Whether every output has credits for `burst` fragments, refreshing
    /// those that may not. The first time it has not, the tile enters
    /// backpressure: counted once, with each consumer that held it back.
    @inlinable @inline(__always)
    mutating func hasCredits() -> Bool {
        var ok = true
        for i in outs.indices where outs[i].credits < T.burst {
            let slow = outs[i].refreshCredits()
            if outs[i].credits < T.burst {
                ok = false
                if !s.inBackpressure { for slot in slow { outs[i].countSlow(slot) } }
            }
        }
        if ok {
            s.inBackpressure = false
        } else if !s.inBackpressure {
            s.backpressureCount &+= 1
            s.inBackpressure = true
        }
        return ok
    }

    @inlinable
    mutating func housekeep(_ tile: inout T) {
        if cshim_load_acquire_u64(halt) != 0 { stop(&tile) }
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

    /// The orderly end: final metrics with status shutdown, then exit 0.
    @inlinable
    func stop(_ tile: inout T) -> Never {
        tile.shutdown()
        tile.writeMetrics()
        for i in ins.indices {
            ins[i].publishProgress()
            inCells[i].publish(inCounts[i], slow: ins[i].slowCount)
        }
        s.publish(common, clock)
        common.status.set(TileStatus.shutdown.rawValue)
        common.refresh()
        Log.info("halted by the supervisor")
        exit(0)
    }
}

@usableFromInline
enum Stem {
    @inlinable
    static func run<T: Tile>(_ tile: inout T, _ ctx: TileContext, _ common: CommonCells, _ clock: TickClock) -> Never {
        var loop = StemLoop<T>(
            inputs: ctx.inputs, outputs: ctx.outputs, metrics: ctx.metrics, common: common,
            halt: UnsafePointer(ctx.haltSlot), housekeepingIntervalNanos: ctx.topology.layout.housekeepingIntervalNanos,
            sleeps: ctx.topology.idle(of: ctx.tile) == .sleep,
            seed: UInt64(truncatingIfNeeded: Clock.monotonicNanos()) ^ UInt64(ctx.tile.index), clock: clock)
        while true { loop.iterate(&tile) }
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
                if ins[i].unpublished >= ins[i].progressStride { ins[i].publishProgress() }
            }
            cursor = i + 1 == n ? 0 : i + 1
            return true
        }
        return false
    }
}

/// The stem's loop driven one iteration at a time, for harnesses that run
/// two tiles in one thread (instruction counts of the stem under callgrind,
/// where spinning between processes would count nothing useful). A tile
/// never uses it: its runner runs the loop.
package struct StemStepper<T: Tile> {
    @usableFromInline var loop: StemLoop<T>

    /// The loop of one tile over links it has joined and the metrics region
    /// it writes. Its memory is never freed. `iterationBudgetNanos` replaces
    /// the microsecond an iteration aims at (under callgrind, time runs
    /// fifty times slower: 0 keeps one step per iteration, a large value
    /// lets the limit reach its maximum).
    package init(
        inputs: [LinkReader], outputs: [LinkProducer], metrics: MetricsWriter, halt: UnsafePointer<UInt64>,
        housekeepingIntervalNanos: Int64, clock: TickClock, iterationBudgetNanos: UInt64
    ) {
        loop = StemLoop(
            inputs: inputs, outputs: outputs, metrics: metrics, common: CommonCells(metrics), halt: halt,
            housekeepingIntervalNanos: housekeepingIntervalNanos, sleeps: false, seed: 1, clock: clock,
            iterationBudgetNanos: iterationBudgetNanos)
    }

    /// One iteration of the loop (spinning: it never sleeps).
    @inlinable
    package mutating func iterate(_ tile: inout T) { loop.iterate(&tile) }
}

/// A small, fast generator for jitter and synthetic workloads; not for secrets.
@usableFromInline package struct SplitMix64 {
    @usableFromInline var state: UInt64
    package init(seed: UInt64) { state = seed }
    @inline(__always) @usableFromInline package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
