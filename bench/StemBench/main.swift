#if canImport(Glibc)
import Glibc
#endif
import Shared
import Supervisor

// tilectl with two benchmark tile kinds that do the least a tile can: one
// publishes fragments as fast as its credits allow, the other reads them and
// copies each payload out. Booted with `idle = "spin"`, a link between them
// runs at the rate the stem allows; bench/stem-vs-link.sh compares it with
// the bare link (tilectl-bench-link) in the same run. Never part of tilectl.
//
//   tilectl-bench-stem --steps N [SIZE [BUDGET_NS]] drives both tiles' loops
//   in this process, one iteration of each in turn, until N fragments went
//   through: for `valgrind --tool=callgrind` instruction counts beside
//   `tilectl-bench-link --steps N`. BUDGET_NS is the iteration budget (0:
//   one fragment per iteration; default: large enough for the most).

/// Publishes one fragment of `size` bytes per loop iteration with credits.
struct SpinSourceTile: Tile {
    static let kind = "spin_source"
    static let summary = "benchmark: publishes fragments as fast as credits allow"
    static let outputs = 1...1
    static let size = OptionKey<Int>("size", 0...65536, default: 64, help: "Payload bytes per fragment.")
    static let options = [size.declaration]
    static let schema = MetricSchema(prefix: kind, [])

    let bytes: Int
    var sent: UInt64 = 0

    init(privileged ctx: TileContext) throws {
        bytes = ctx.tile[Self.size]
    }

    init(bytes: Int) { self.bytes = bytes }

    mutating func afterCredit(_ stem: inout StemContext) -> Bool {
        memset(stem.buffer(0), Int32(truncatingIfNeeded: sent), bytes)
        stem.publish(0, sig: sent, size: bytes, tsorig: 0)
        sent &+= 1
        return true
    }

    static var seccompPolicy: SeccompPolicy { RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common }
}

/// Copies each fragment's payload out, as a tile that uses it would.
struct SpinSinkTile: Tile {
    static let kind = "spin_sink"
    static let summary = "benchmark: reads fragments and copies each payload out"
    static let inputs = 1...1
    static let schema = MetricSchema(prefix: kind, [])

    let copy = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 64)
    var received: UInt64 = 0

    init(privileged ctx: TileContext) throws {}
    init() {}

    mutating func duringFrag(_ stem: inout StemContext, input: Int, meta: FragMeta, payload: UnsafeRawBufferPointer) {
        copy.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
    }

    mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) { received &+= 1 }

    static var seccompPolicy: SeccompPolicy { RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common }
}

/// Both loops in this process, one iteration of each in turn, until `count`
/// fragments reached the sink.
func runSteps(size: Int, count: UInt64, budget: UInt64) {
    let layout = LinkLayout(depth: 4096, mtu: max(size, 64))
    let bytes = alignUp(layout.footprint + 64, 4096)
    let link = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)!
    memset(link, 0, bytes)
    LinkHeader.format(link, layout)
    let fseq = (link + layout.footprint).assumingMemoryBound(to: UInt64.self)
    func metrics(inputs: Int, _ schema: MetricSchema) -> MetricsWriter {
        let l = MetricsLayout(inLinkCount: inputs, kindSchema: schema)
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: l.slotCount)
        slots.initialize(repeating: 0, count: l.slotCount)
        slots[l.inLinkCountSlot] = UInt64(inputs)
        return MetricsWriter(base: slots, layout: l, kindSchema: schema)
    }
    let halt = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    halt.initialize(to: 0)
    let clock = TickClock.calibrate()
    let hour: Int64 = 3_600_000_000_000  // housekeeping once, at the start
    var source = SpinSourceTile(bytes: size)
    var sink = SpinSinkTile()
    var producer = StemStepper<SpinSourceTile>(
        inputs: [], outputs: [LinkProducer(base: link, layout: layout, fseqs: [(UnsafePointer(fseq), 0)])],
        metrics: metrics(inputs: 0, SpinSourceTile.schema), halt: halt, housekeepingIntervalNanos: hour, clock: clock,
        iterationBudgetNanos: budget)
    var consumer = StemStepper<SpinSinkTile>(
        inputs: [LinkReader(base: UnsafeRawPointer(link), layout: layout, fseq: fseq, slot: 0)], outputs: [],
        metrics: metrics(inputs: 1, SpinSinkTile.schema), halt: halt, housekeepingIntervalNanos: hour, clock: clock,
        iterationBudgetNanos: budget)
    while sink.received < count {
        producer.iterate(&source)
        consumer.iterate(&sink)
    }
    print("\(sink.received) fragments of \(size) B through the stem, \(source.sent) published")
}

if CommandLine.arguments.count > 2 && CommandLine.arguments[1] == "--steps" {
    let a = CommandLine.arguments
    runSteps(
        size: a.count > 3 ? Int(a[3]) ?? 64 : 64, count: UInt64(a[2]) ?? 100_000,
        budget: a.count > 4 ? UInt64(a[4]) ?? 0 : 1 << 40)
    exit(0)
}

Tilectl.main(kinds: TileKinds(Registry.production.all + [TileKind(SpinSourceTile.self), TileKind(SpinSinkTile.self)]))
