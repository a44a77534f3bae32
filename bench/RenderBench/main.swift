#if canImport(Glibc)
import Glibc
#endif
import MetricTile
import Shared
import Tiles

// How rendering cost grows with the number of series: the metric tile's
// exposition plan over N tiles' regions (the metric tile plus synth tiles,
// their real schemas), rendered into a buffer, no network. Values change
// between renders as a live topology's would.
//
// Then the same for a gzip body: the metric tile's structure-aware
// encoder (text and gzip in one pass) beside the text rendered and then
// compressed by zlib at level 1, and the sizes each writes.
//
// Usage: tilectl-bench-render [--tiles 8,64,256,1024] [--renders 2000]

var tileCounts = [8, 64, 256, 1024]
var renders = 2000
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--tiles": tileCounts = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--renders": renders = Int(args.popFirst() ?? "") ?? 2000
    default: print("usage: tilectl-bench-render [--tiles 8,64,256,1024] [--renders 2000]"); exit(2)
    }
}

let kinds = TileKinds([TileKind(MetricTile.self), TileKind(SynthTile.self)])

func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }

/// Best of 5 batches of `renders` calls, ns per call: this machine shares its CPUs.
func best(_ renders: Int, _ body: (Int) -> Void) -> Int64 {
    var best = Int64.max
    for _ in 0..<5 {
        let t0 = Clock.monotonicNanos()
        for r in 0..<renders { body(r) }
        best = min(best, (Clock.monotonicNanos() - t0) / Int64(renders))
    }
    return best
}

var gzipRows: [String] = []
print("rendering the exposition of N tiles (metric + synth), \(renders) renders each, one core")
print(
    pad("tiles", 6) + pad("samples", 9) + pad("body", 10) + pad("text ns", 10) + pad("ns/sample", 11)
        + pad("OpenMetrics ns", 16) + pad("ns/sample", 11))
for n in tileCounts {
    var sources: [RenderSource] = []
    var regions: [UnsafeMutablePointer<UInt64>] = []
    for i in 0..<n {
        let kind = i == 0 ? kinds["metric"]! : kinds["synth"]!
        let layout = MetricsLayout(inLinkCount: 0, kindSchema: kind.schema)
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: layout.slotCount)
        // Values as a live topology has them: mostly small counts, some
        // in the millions, a few nanosecond timestamps (19 digits).
        var rng = SplitMix64(seed: UInt64(i))
        for s in 0..<layout.slotCount {
            let r = rng.next() % 10
            p[s] = r < 7 ? rng.next() % 10_000 : r < 9 ? rng.next() % 1_000_000_000 : 1_795_548_956_713_094_386 &+ rng.next() % 1_000_000
        }
        regions.append(p)
        let spec = TileSpec(index: i, kind: kind.kind, kindId: i == 0 ? 0 : i - 1, options: [:])
        sources.append(RenderSource(tile: spec, reader: MetricsReader(base: UnsafePointer(p), layout: layout), kindSchema: kind.schema))
    }
    var row = pad(String(n), 6)
    for (k, format) in [ExpositionPlan.Format.prometheus, .openMetrics].enumerated() {
        let plan = ExpositionPlan(sources: sources, format: format)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        var bytes = 0
        let best = best(renders) { r in
            regions[r % n][r % 8] &+= 1
            bytes = plan.render(into: out) ?? 0
        }
        if k == 0 { row += pad(String(plan.seriesCount), 9) + pad("\(bytes / 1024) KiB", 10) }
        row += pad(String(best), k == 0 ? 10 : 16) + pad(String(format: Double(best) / Double(plan.seriesCount)), 11)
        if k == 0 { gzipRows.append(gzipRow(n, plan, regions, bytes, max(20, renders / 4))) }
        out.deallocate()
    }
    print(row)
}
print("")
print("gzip: the tile's encoder (text + gzip, one pass) beside text then zlib level 1")
print(
    pad("tiles", 6) + pad("text ns", 10) + pad("encoder ns", 12) + pad("zlib -1 ns", 12) + pad("body", 10)
        + pad("encoder", 10) + pad("zlib -1", 10) + pad("size/zlib", 11))
gzipRows.forEach { print($0) }

func gzipRow(_ n: Int, _ plan: ExpositionPlan, _ regions: [UnsafeMutablePointer<UInt64>], _ textBytes: Int, _ renders: Int) -> String {
    let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
    let encoder = ExpositionGzip(plan: plan)
    let gz = UnsafeMutableRawBufferPointer.allocate(byteCount: max(encoder.maxSize, plan.maxRenderedSize + 1024), alignment: 64)
    defer { plain.deallocate(); gz.deallocate() }
    let zlib = try! Gzip(level: 1)
    var ours = 0, theirs = 0
    let text = best(renders) { r in
        regions[r % n][r % 8] &+= 1
        _ = plan.render(into: plain)
    }
    let encoded = best(renders) { r in
        regions[r % n][r % 8] &+= 1
        ours = encoder.render(plain: plain, gz: gz)?.gz ?? 0
    }
    let compressed = best(renders) { r in
        regions[r % n][r % 8] &+= 1
        let m = plan.render(into: plain) ?? 0
        theirs = zlib.compress(UnsafeRawBufferPointer(rebasing: plain[0..<m]), into: gz) ?? 0
    }
    return pad(String(n), 6) + pad(String(text), 10) + pad(String(encoded), 12) + pad(String(compressed), 12)
        + pad("\(textBytes / 1024) KiB", 10) + pad("\(ours / 1024) KiB", 10) + pad("\(theirs / 1024) KiB", 10)
        + pad(String(Double(ours * 100 / max(1, theirs)) / 100), 11)
}

extension String {
    init(format v: Double) {
        let tenths = Int((v * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
