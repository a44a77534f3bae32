import Testing

@testable import Shared

/// The stem's loop driven one iteration at a time, in one thread: a producer
/// tile and a consumer tile over a `TestLink`.
@Suite struct StemLoopTests {
    /// Publishes fragment n with sig n while `budget` allows (-1: always);
    /// each `afterCredit` call may spin for `spinNanos` first.
    struct Producer: Tile {
        static let kind = "test_producer"
        static let summary = "test"
        static let outputs = 1...1
        static let schema = MetricSchema(prefix: kind, [])
        static var seccompPolicy: SeccompPolicy { RuntimePolicy.common }
        var sent: UInt64 = 0
        var budget = -1
        var spinNanos: Int64 = 0
        var housekeepings = 0
        init(privileged ctx: TileContext) throws {}
        init() {}

        mutating func afterCredit(_ stem: inout StemContext) -> Bool {
            guard budget != 0 else { return false }
            if spinNanos > 0 {
                let until = Clock.monotonicNanos() + spinNanos
                while Clock.monotonicNanos() < until {}
            }
            stem.publish(0, sig: sent, size: 8, tsorig: 0)
            sent &+= 1
            if budget > 0 { budget -= 1 }
            return true
        }

        mutating func housekeeping(_ stem: inout StemContext) { housekeepings += 1 }
    }

    /// Checks every fragment is the next one, and how old its `tspub` is.
    struct Consumer: Tile {
        static let kind = "test_consumer"
        static let summary = "test"
        static let inputs = 1...1
        static let schema = MetricSchema(prefix: kind, [])
        static var seccompPolicy: SeccompPolicy { RuntimePolicy.common }
        var received: UInt64 = 0
        var outOfOrder = 0
        var oldestStampNanos: UInt64 = 0
        init(privileged ctx: TileContext) throws {}
        init() {}

        mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) {
            if meta.sig != received { outOfOrder += 1 }
            received &+= 1
            oldestStampNanos = max(oldestStampNanos, compressedInterval(from: meta.tspub, to: compressedTimestamp()))
        }
    }

    static let clock = TickClock.calibrate()

    static func loop<T: Tile>(
        _ type: T.Type, inputs: [LinkReader] = [], outputs: [LinkProducer] = [], housekeepingNanos: Int64 = 3_600_000_000_000,
        budgetNanos: UInt64 = StemLoop<T>.iterationBudgetNanos
    ) -> StemLoop<T> {
        let layout = MetricsLayout(inLinkCount: inputs.count, kindSchema: T.schema)
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: layout.slotCount)
        slots.initialize(repeating: 0, count: layout.slotCount)
        slots[layout.inLinkCountSlot] = UInt64(inputs.count)
        let metrics = MetricsWriter(base: slots, layout: layout, kindSchema: T.schema)
        let halt = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        halt.initialize(to: 0)
        return StemLoop<T>(
            inputs: inputs, outputs: outputs, metrics: metrics, common: CommonCells(metrics), halt: halt,
            housekeepingIntervalNanos: housekeepingNanos, sleeps: false, seed: 1, clock: clock,
            iterationBudgetNanos: budgetNanos)
    }

    static func regimes<T>(_ loop: StemLoop<T>) -> [Regime: UInt64] {
        Dictionary(uniqueKeysWithValues: Regime.allCases.map { ($0, loop.s.regimes[$0.rawValue]) })
    }

    @Test func everyFragmentArrivesInOrderWhileIterationsTakeManySteps() {
        let link = TestLink(depth: 256, mtu: 64)
        var producer = Self.loop(Producer.self, outputs: [link.producer], budgetNanos: 1_000_000_000)
        var consumer = Self.loop(Consumer.self, inputs: [link.reader], budgetNanos: 1_000_000_000)
        var p = Producer()
        var c = Consumer()
        while c.received < 50_000 {
            producer.iterate(&p)
            consumer.iterate(&c)
        }
        #expect(c.outOfOrder == 0)
        #expect(consumer.inCounts[0].consumed == c.received)
        #expect(consumer.inCounts[0].pollingOverruns == 0 && consumer.inCounts[0].readingOverruns == 0)
        // Credits held the producer to the ring: it is never more than a
        // ring ahead of what was read.
        #expect(p.sent - c.received <= 256)
        // With time to spare, an iteration takes as many steps as allowed.
        #expect(producer.stepLimit == StemLoop<Producer>.maxSteps)
        #expect(consumer.stepLimit == StemLoop<Consumer>.maxSteps)
        // tspub is the producer's iteration start: never more than an
        // iteration old when it is read (one second is far beyond either).
        #expect(c.oldestStampNanos < 1_000_000_000)
        withExtendedLifetime(link) {}
    }

    @Test func everyTickGoesToExactlyOneRegime() {
        let link = TestLink(depth: 64, mtu: 64)
        var producer = Self.loop(Producer.self, outputs: [link.producer], housekeepingNanos: 20_000)
        var consumer = Self.loop(Consumer.self, inputs: [link.reader], housekeepingNanos: 20_000)
        let start = (producer: producer.t0, consumer: consumer.t0)
        var p = Producer()
        var c = Consumer()
        // Bursts of fragments with idle iterations between them; one round
        // in three the burst is larger than the ring and the consumer
        // slow: every activity happens.
        for round in 0..<200 {
            p.budget = round % 3 == 0 ? 100 : 30
            for _ in 0..<(round % 3 == 0 ? 400 : 40) { producer.iterate(&p) }
            for _ in 0..<(round % 3 == 0 ? 10 : 300) { consumer.iterate(&c) }
        }
        let q = Self.regimes(producer)
        #expect(q.values.reduce(0, &+) == producer.t0 &- start.producer)
        #expect(q[.processing]! > 0 && q[.caughtUp]! > 0 && q[.backpressured]! > 0)
        let r = Self.regimes(consumer)
        #expect(r.values.reduce(0, &+) == consumer.t0 &- start.consumer)
        #expect(r[.processing]! > 0 && r[.caughtUp]! > 0)
        #expect(r[.processingHousekeeping]! + r[.caughtUpHousekeeping]! > 0)
        #expect(c.outOfOrder == 0)
        withExtendedLifetime(link) {}
    }

    @Test func slowStepsGetFewStepsPerIteration() {
        // Steps of 3 µs against a 10 µs budget: four would take 12 µs, so
        // the limit halves to 2 or below and stays there. (A preempted
        // iteration only halves it further.)
        let link = TestLink(depth: 256, mtu: 64, reliable: false)
        var loop = Self.loop(Producer.self, outputs: [link.producer], budgetNanos: 10_000)
        var p = Producer()
        p.spinNanos = 3_000
        for _ in 0..<300 { loop.iterate(&p) }
        #expect(loop.stepLimit <= 2)
        withExtendedLifetime(link) {}
    }

    @Test func backpressureIsEnteredOnceAndNamesTheSlowConsumer() {
        let link = TestLink(depth: 64, mtu: 64)
        var loop = Self.loop(Producer.self, outputs: [link.producer])
        var p = Producer()
        for _ in 0..<500 { loop.iterate(&p) }
        #expect(p.sent == 64)
        #expect(loop.s.inBackpressure)
        #expect(loop.s.backpressureCount == 1)
        #expect(link.reader.slowCount == 1)
        #expect(Self.regimes(loop)[.backpressured]! > 0)
        // The consumer catches up: credits return, and the next shortage
        // is a second episode.
        link.fseq.pointee = 64
        for _ in 0..<500 { loop.iterate(&p) }
        #expect(p.sent == 128)
        #expect(loop.s.backpressureCount == 2)
        #expect(link.reader.slowCount == 2)
        withExtendedLifetime(link) {}
    }

    @Test func housekeepingKeepsItsScheduleThroughContinuousWork() {
        let link = TestLink(depth: 256, mtu: 64, reliable: false)
        var loop = Self.loop(Producer.self, outputs: [link.producer], housekeepingNanos: 100_000)
        var p = Producer()
        let until = Clock.monotonicNanos() + 50_000_000
        var iterations = 0
        while Clock.monotonicNanos() < until {
            loop.iterate(&p)
            iterations += 1
        }
        // Every iteration processed; 50 ms at a mean interval of 100 µs is
        // about 500 housekeepings; a tenth of that allows for a loaded host.
        #expect(Self.regimes(loop)[.caughtUp]! == 0)
        #expect(p.housekeepings >= 50)
        withExtendedLifetime(link) {}
    }
}
