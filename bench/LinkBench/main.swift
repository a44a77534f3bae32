#if canImport(Glibc)
import Glibc
#endif
import BenchShim
import CShim
import Shared

// One link across two processes: a producer and a consumer, each pinned to
// its own CPU and busy-polling, over a link workspace in shared memory (the
// same LinkProducer and LinkReader the tiles use, payloads copied out as a
// tile's duringFrag does).
//
//   throughput: the producer publishes as fast as its credits allow
//               (reliable link, depth 4096) for about a second;
//   latency:    the producer publishes one fragment every 20 µs (no
//               queueing); the consumer records publish-to-read time of each.
//
// Usage: tilectl-bench-link [--sizes 64,256,1024,4096] [--seconds 1] [--tsv]
//   --tsv prints one line per size and run (size, frags/s, latency p50, p99,
//   p99.9 in ns, torn) for bench/link-vs-c.sh.
//   --steps N publishes and reads N fragments of each size one after the other
//   in this process (no spinning, whose length depends on timing), for
//   `valgrind --tool=callgrind` instruction counts beside bench/spsc-steps.c.

struct Options {
    var sizes = [64, 256, 1024, 4096]
    var seconds = 1.0
    var latencySamples = 50_000
    var runs = 5
    var tsv = false
    var steps = 0
}

var options = Options()
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--sizes": options.sizes = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--seconds": options.seconds = Double(args.popFirst() ?? "") ?? 1
    case "--samples": options.latencySamples = Int(args.popFirst() ?? "") ?? 50_000
    case "--runs": options.runs = max(1, Int(args.popFirst() ?? "") ?? 3)
    case "--tsv": options.tsv = true
    case "--steps": options.steps = Int(args.popFirst() ?? "") ?? 1_000_000
    default:
        print("usage: tilectl-bench-link [--sizes 64,256,1024,4096] [--seconds 1] [--samples 50000] [--runs 5] [--tsv] [--steps N]")
        exit(2)
    }
}

/// Shared memory for one run: the link, the consumer's fseq, and a results
/// area the consumer fills.
struct Arena {
    let layout: LinkLayout
    let base: UnsafeMutableRawPointer
    let bytes: Int
    var link: UnsafeMutableRawPointer { base }
    var fseq: UnsafeMutablePointer<UInt64> { (base + layout.footprint).assumingMemoryBound(to: UInt64.self) }
    /// [0] frags consumed, [1] first receipt ns, [2] last receipt ns, [3] done
    /// flag, [4] payloads that were not what was published, then latency samples.
    var results: UnsafeMutablePointer<UInt64> { (base + layout.footprint + 64).assumingMemoryBound(to: UInt64.self) }

    init(depth: Int, mtu: Int, samples: Int) {
        layout = LinkLayout(depth: depth, mtu: mtu)
        bytes = alignUp(layout.footprint + 64 + (8 + samples) * 8, 4096)
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)!
        base = p
        memset(p, 0, bytes)
        LinkHeader.format(base, layout)
    }

    func release() { munmap(base, bytes) }
}

enum Mode { case throughput, latency }

/// Runs the consumer in a child process; returns its pid.
func spawnConsumer(_ arena: Arena, mode: Mode, expected: Int, size: Int) -> pid_t {
    let pid = fork()
    if pid != 0 { return pid }
    _ = bench_pin_to_cpu(1)
    var reader = LinkReader(base: UnsafeRawPointer(arena.link), layout: arena.layout, fseq: arena.fseq, slot: 0)
    let copy = UnsafeMutableRawPointer.allocate(byteCount: arena.layout.mtu, alignment: 64)
    let r = arena.results
    var got = 0
    while got < expected {
        switch reader.poll() {
        case .caughtUp: continue
        case .overrun, .torn: reader.advance(); continue
        case .frag(let meta):
            let payload = reader.payload(of: meta)
            copy.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
            guard reader.stillValid(meta.seq) else { reader.advance(); continue }
            reader.advance()
            // Every byte of fragment n is n mod 256: count any that is not.
            if size > 0
                && (copy.load(as: UInt8.self) != UInt8(truncatingIfNeeded: meta.sig)
                    || copy.load(fromByteOffset: size - 1, as: UInt8.self) != UInt8(truncatingIfNeeded: meta.sig))
            {
                r[4] &+= 1
            }
            // The clock is read where the C reference reads it: per
            // fragment only when measuring latency.
            if mode == .latency {
                r[8 + got] = compressedInterval(from: meta.tspub, to: compressedTimestamp(Clock.monotonicNanos()))
            }
            if got == 0 { r[1] = UInt64(Clock.monotonicNanos()) }
            got += 1
            if reader.unpublished >= 1024 { reader.publishProgress() }
            if got == expected { r[2] = UInt64(Clock.monotonicNanos()) }
        }
    }
    reader.publishProgress()
    r[0] = UInt64(got)
    cshim_store_release_u64(r + 3, 1)
    _exit(0)
}

@MainActor func runThroughput(size: Int) -> (fragsPerSecond: Double, bytesPerSecond: Double, torn: UInt64) {
    // A first pass sizes the run to about `seconds`.
    var count = 200_000
    for attempt in 0..<2 {
        let arena = Arena(depth: 4096, mtu: max(size, 64), samples: 0)
        defer { arena.release() }
        let child = spawnConsumer(arena, mode: .throughput, expected: count, size: size)
        var producer = LinkProducer(base: arena.link, layout: arena.layout, fseqs: [(UnsafePointer(arena.fseq), 0)])
        let t0 = Clock.monotonicNanos()
        var sent = 0
        while sent < count {
            if producer.credits == 0 { producer.refreshCredits(); continue }
            memset(producer.buffer, Int32(sent & 0xFF), size)
            // As the C reference: no clock read per fragment when only
            // throughput is measured.
            producer.publish(sig: UInt64(sent), size: size, tsorig: 0, tspub: UInt32(truncatingIfNeeded: sent))
            sent += 1
        }
        while cshim_load_acquire_u64(arena.results + 3) == 0 {}
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let elapsed = Double(Int64(arena.results[2]) - t0) / 1e9
        if attempt == 0 {
            count = max(count, Int(Double(count) / elapsed * options.seconds))
            continue
        }
        return (Double(count) / elapsed, Double(count * size) / elapsed, arena.results[4])
    }
    return (0, 0, 0)
}

@MainActor func runLatency(size: Int) -> (sorted: [UInt64], torn: UInt64) {
    let n = options.latencySamples
    let arena = Arena(depth: 4096, mtu: max(size, 64), samples: n)
    defer { arena.release() }
    let child = spawnConsumer(arena, mode: .latency, expected: n, size: size)
    var producer = LinkProducer(base: arena.link, layout: arena.layout, fseqs: [(UnsafePointer(arena.fseq), 0)])
    var next = Clock.monotonicNanos()
    for i in 0..<n {
        while Clock.monotonicNanos() < next {}
        if producer.credits == 0 { producer.refreshCredits() }
        memset(producer.buffer, Int32(i & 0xFF), size)
        producer.publish(sig: UInt64(i), size: size, tsorig: 0, tspub: compressedTimestamp())
        next += 20_000
    }
    while cshim_load_acquire_u64(arena.results + 3) == 0 {}
    var status: Int32 = 0
    waitpid(child, &status, 0)
    return ((0..<n).map { arena.results[8 + $0] }.sorted(), arena.results[4])
}

func percentile(_ sorted: [UInt64], _ p: Double) -> UInt64 {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }

/// The work of one fragment on each side, as bench/spsc-steps.c does it:
/// the producer copies a payload in and publishes, the consumer polls,
/// copies the payload out, re-checks, and gives credits back every 64.
func runSteps(size: Int, count: Int) {
    let arena = Arena(depth: 4096, mtu: max(size, 64), samples: 0)
    defer { arena.release() }
    var producer = LinkProducer(base: arena.link, layout: arena.layout, fseqs: [(UnsafePointer(arena.fseq), 0)])
    var reader = LinkReader(base: UnsafeRawPointer(arena.link), layout: arena.layout, fseq: arena.fseq, slot: 0)
    let payload = UnsafeMutableRawPointer.allocate(byteCount: arena.layout.mtu, alignment: 64)
    let copy = UnsafeMutableRawPointer.allocate(byteCount: arena.layout.mtu, alignment: 64)
    memset(payload, 7, arena.layout.mtu)
    var sum: UInt64 = 0
    var torn = 0
    for i in 0..<count {
        if producer.credits == 0 { producer.refreshCredits() }
        producer.buffer.copyMemory(from: payload, byteCount: size)
        producer.publish(sig: UInt64(i), size: size, tsorig: 0, tspub: UInt32(truncatingIfNeeded: i))
        guard case .frag(let meta) = reader.poll() else {
            torn += 1
            reader.advance()
            continue
        }
        let p = reader.payload(of: meta)
        copy.copyMemory(from: p.baseAddress!, byteCount: p.count)
        guard reader.stillValid(meta.seq) else {
            torn += 1
            reader.advance()
            continue
        }
        reader.advance()
        sum &+= UInt64(copy.load(as: UInt8.self)) &+ meta.sig
        if reader.unpublished >= 64 { reader.publishProgress() }
    }
    print("\(count) fragments of \(size) B, checksum \(sum), overruns \(torn)")
}

_ = bench_pin_to_cpu(0)
if options.steps > 0 {
    for size in options.sizes { runSteps(size: size, count: options.steps) }
    exit(0)
}
if options.tsv {
    for size in options.sizes {
        for _ in 0..<options.runs {
            let t = runThroughput(size: size)
            let l = runLatency(size: size)
            print(
                "\(size)\t\(Int(t.fragsPerSecond))\t\(percentile(l.sorted, 0.5))\t\(percentile(l.sorted, 0.99))"
                    + "\t\(percentile(l.sorted, 0.999))\t\(t.torn + l.torn)")
        }
    }
    exit(0)
}
let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
let mem =
    (try? Files.read("/proc/meminfo"))?.split(separator: "\n").first?.split(separator: " ").dropFirst().first.map { Int($0) ?? 0 } ?? 0
var uts = utsname()
uname(&uts)
let kernel = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
print("one link across two processes (producer on CPU 0, consumer on CPU 1, busy-polling, depth 4096, normal pages)")
print("machine: \(cpus) CPUs, \(mem / 1_048_576) GiB, Linux \(kernel)")
print("")
print("payload     frags/s      MB/s   latency p50       p99     p99.9   torn")
for size in options.sizes {
    // Each figure is the median of `runs` runs: this machine shares its CPUs.
    var throughputs: [(Double, Double, UInt64)] = []
    var latencies: [([UInt64], UInt64)] = []
    for _ in 0..<options.runs {
        throughputs.append(runThroughput(size: size))
        latencies.append(runLatency(size: size))
    }
    throughputs.sort { $0.0 < $1.0 }
    latencies.sort { percentile($0.0, 0.5) < percentile($1.0, 0.5) }
    let (fps, bps, _) = throughputs[throughputs.count / 2]
    let lat = latencies[latencies.count / 2].0
    let torn1 = throughputs.reduce(0) { $0 + $1.2 }
    let torn2 = latencies.reduce(0) { $0 + $1.1 }
    func ns(_ v: UInt64) -> String { v < 10_000 ? "\(v) ns" : "\(v / 1000) µs" }
    print(
        pad("\(size) B", 7) + pad(String(Int(fps)), 12) + pad(String(Int(bps / 1e6)), 10)
            + pad(ns(percentile(lat, 0.5)), 14) + pad(ns(percentile(lat, 0.99)), 10) + pad(ns(percentile(lat, 0.999)), 10)
            + pad(String(torn1 + torn2), 7))
}
print("")
print("frags/s: as fast as credits allow, for about \(options.seconds) s; latency: publish to read, one fragment")
print("every 20 µs (no queueing), \(options.latencySamples) samples; each the median of \(options.runs) runs;")
print("torn: payloads read, over all runs, that were not what was published.")
