#if canImport(Glibc)
import Glibc
#endif
import CShim
import MetricTile
import Shared

/// `run --for DURATION --expect EXPR … [--until] [--junit FILE]`: the
/// topology as a test. Once every tile runs, the supervisor snapshots every
/// series from shared memory, waits the duration (or, with `--until`, until
/// every expectation holds), snapshots again, judges each expectation
/// (`rate` over the run), prints one line per expectation, stops the
/// topology in order, and exits 0 when every one holds, 1 otherwise.
struct CIRun {
    let durationNanos: Int64
    let until: Bool
    let expectations: [MetricExpectation]
    /// Opened (created, truncated) before the supervisor confines itself.
    let junit: FileDescriptor?

    static let junitRole = DescriptorRole("JUnit report")
    static let stdoutRole = DescriptorRole("stdout")

    /// `30s`, `2m`, `500ms`, `1h`, or seconds (`1.5`).
    static func nanos(_ s: String) -> Int64? {
        let units: [(String, Double)] = [("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            guard let v = Double(s.dropLast(suffix.count)), v > 0, v * scale < 1e18 else { return nil }
            return Int64(v * scale)
        }
        guard let v = Double(s), v > 0, v < 1e9 else { return nil }
        return Int64(v * 1e9)
    }

    /// The lines it prints: `ok    …` or `FAIL  …`, one per expectation.
    static func lines(_ verdicts: [MetricExpectation.Verdict]) -> String {
        verdicts.map { ($0.holds ? "ok    " : "FAIL  ") + $0.message + "\n" }.joined()
    }

    func writeJUnit(
        topology: String, seconds: Double, verdicts: [MetricExpectation.Verdict], error: (type: String, message: String)? = nil
    ) {
        guard let junit else { return }
        var xml = JUnitReport.xml(topology: topology, seconds: seconds, verdicts: verdicts, error: error)
        _ = xml.withUTF8 { Glibc.write(junit.rawValue, $0.baseAddress, $0.count) }
    }
}

/// Renders every tile's metrics, as the metric tile would, from the
/// supervisor's own mappings: the plan and its buffer are made before the
/// supervisor confines itself.
final class SnapshotRenderer {
    private let plan: ExpositionPlan
    private let buffer: UnsafeMutableRawBufferPointer

    init(_ topology: Topology, kinds: TileKinds, workspaces: [TileWorkspace]) {
        let sources = zip(topology.tiles, workspaces).map { tile, w in
            RenderSource(
                tile: tile, reader: w.metricsReader, kindSchema: kinds[tile.kind]!.schema,
                inLinks: topology.inLinks(of: tile).map { ($0.name, $0.kindId) })
        }
        plan = ExpositionPlan(sources: sources, format: .prometheus)
        buffer = .allocate(byteCount: plan.maxRenderedSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    func snapshot() -> MetricSnapshot {
        let now = Clock.monotonicNanos()
        let n = plan.render(into: buffer) ?? 0
        return MetricSnapshot(
            exposition: String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self), monotonicNanos: now)
    }
}
