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

print("rendering the exposition of N tiles (metric + synth), \(renders) renders each, one core")
print(pad("tiles", 6) + pad("samples", 9) + pad("body", 10) + pad("text ns", 10) + pad("ns/sample", 11)
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
        var best = Int64.max
        // Best of 5 batches: this machine shares its CPUs.
        for _ in 0..<5 {
            let t0 = Clock.monotonicNanos()
            for r in 0..<renders {
                regions[r % n][r % 8] &+= 1
                bytes = plan.render(into: out) ?? 0
            }
            best = min(best, (Clock.monotonicNanos() - t0) / Int64(renders))
        }
        if k == 0 { row += pad(String(plan.seriesCount), 9) + pad("\(bytes / 1024) KiB", 10) }
        row += pad(String(best), k == 0 ? 10 : 16) + pad(String(format: Double(best) / Double(plan.seriesCount)), 11)
        out.deallocate()
    }
    print(row)
}

extension String {
    init(format v: Double) {
        let tenths = Int((v * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
