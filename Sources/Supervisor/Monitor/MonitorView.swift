import Shared

/// Renders two samples of a topology as a table: per tile, its pid, status,
/// heartbeat age, share of time in each regime and backpressure; under it,
/// per input link, fragment rate and losses.
struct MonitorView {
    let topology: Topology
    let supervisorPid: Int32
    let colour: Bool

    enum Tone { case plain, good, warn, bad, dim }

    func paint(_ s: String, _ tone: Tone) -> String {
        guard colour else { return s }
        let code: String
        switch tone {
        case .plain: return s
        case .good: code = "32"
        case .warn: code = "33"
        case .bad: code = "31;1"
        case .dim: code = "2"
        }
        return "\u{1B}[\(code)m\(s)\u{1B}[0m"
    }

    func render(_ a: MonitorSample, _ b: MonitorSample, interval: Double, footer: String?) -> String {
        let dt = max(1e-9, Double(b.monotonic - a.monotonic) / 1e9)
        // Tile rows share one set of columns, link rows (under their
        // consumer) another.
        // The regimes' columns: one per activity, then housekeeping (which
        // overlaps them), from the declaration the stem counts with.
        let head =
            ["TILE", "PID", "STATUS", "CPU", "HEARTBEAT"] + Activity.allCases.map { $0.words.uppercased() }
            + ["HOUSEKEEPING", "BACKPRESSURE EVENTS"]
        var tileRows: [([String], [Tone])] = [(head, Array(repeating: .dim, count: head.count))]
        var linkRows: [Int: [([String], [Tone])]] = [:]
        for (i, tile) in topology.tiles.enumerated() {
            let x = a.tiles[i], y = b.tiles[i]
            let status: (String, Tone)
            switch y.status {
            case TileStatus.running.rawValue: status = ("running", .good)
            case TileStatus.booting.rawValue: status = ("booting", .warn)
            default: status = ("shut down", .warn)
            }
            // Everything in a sample is what a tile wrote: wrapping
            // arithmetic only, never a trap on a hostile value.
            let age = max(0, b.wallclock &- Int64(truncatingIfNeeded: y.heartbeat))
            let ageTone: Tone = age > 1_000_000_000 ? .bad : age > 100_000_000 ? .warn : .plain
            func delta(_ r: Regime) -> Double { Double(y.regimes[r] &- x.regimes[r]) }
            func spent(_ a: Activity) -> Double { delta(Regime(a, housekeeping: true)) + delta(Regime(a, housekeeping: false)) }
            let total = max(1, Activity.allCases.reduce(0) { $0 + spent($1) })
            func share(_ v: Double) -> String { "\(Int((v / total * 100).rounded()))%" }
            let housekeeping = Activity.allCases.reduce(0) { $0 + delta(Regime($1, housekeeping: true)) }
            let bpEvents = Double(y.backpressureEvents &- x.backpressureEvents) / dt
            tileRows.append(
                (
                    [
                        tile.name, y.pidVerified ? String(y.pid) : "? (says \(y.pid))", status.0,
                        tile.cpus.count > 1 ? "\(y.cpu) of \(Affinity.format(tile.cpus))" : String(y.cpu),
                        Self.duration(age),
                    ]
                        + Activity.allCases.map { share(spent($0)) }
                        + [share(housekeeping), "\(Self.rate(bpEvents))/s, \(y.backpressureEvents) in all"],
                    [.plain, .plain, status.1, .plain, ageTone]
                        + Activity.allCases.map { $0 == .backpressured && spent($0) / total > 0.5 ? .warn : .plain }
                        + [.plain, y.inBackpressure ? .warn : .plain]
                ))
            for (j, link) in topology.inLinks(of: tile).enumerated() {
                let l = y.links[j], k = x.links[j]
                let lost = Double(l.lost &- k.lost) / dt
                linkRows[i, default: []].append(
                    (
                        [
                            "<- \(link.label)", "\(Self.rate(Double(l.consumed &- k.consumed) / dt)) frags/s",
                            "\(Self.bytes(Double(l.consumedBytes &- k.consumedBytes) / dt))/s",
                            "filtered \(Self.rate(Double(l.filtered &- k.filtered) / dt))/s",
                            "lost \(Self.rate(lost))/s, \(l.lost) in all", "slow \(l.slow)",
                        ],
                        [.dim, .plain, .plain, .plain, l.lost > 0 ? .bad : .plain, .plain]
                    ))
            }
        }
        func widths(_ rows: [([String], [Tone])]) -> [Int] {
            guard let n = rows.first?.0.count else { return [] }
            return (0..<n).map { c in rows.map { $0.0[c].count }.max() ?? 0 }
        }
        func line(_ row: ([String], [Tone]), _ w: [Int], indent: String) -> String {
            var out = indent
            for c in row.0.indices {
                out += paint(row.0[c] + String(repeating: " ", count: w[c] - row.0[c].count), row.1[c]) + (c < row.0.count - 1 ? "  " : "")
            }
            while out.hasSuffix(" ") { out.removeLast() }
            return out + "\n"
        }
        let tw = widths(tileRows)
        let lw = widths(linkRows.values.flatMap { $0 })
        var out =
            "topology \"\(topology.name)\": \(topology.tiles.count) tiles, \(topology.links.count) links, "
            + "supervisor pid \(supervisorPid); rates over \(String(format1: dt)) s\n\n"
        out += line(tileRows[0], tw, indent: "")
        for i in topology.tiles.indices {
            out += line(tileRows[i + 1], tw, indent: "")
            for row in linkRows[i] ?? [] { out += line(row, lw, indent: "  ") }
        }
        if let footer { out += "\n" + paint(footer, .dim) + "\n" }
        return out
    }

    static func duration(_ nanos: Int64) -> String {
        if nanos >= 10_000_000_000 { return "\(nanos / 1_000_000_000) s" }
        if nanos >= 1_000_000_000 { return "\(String(format1: Double(nanos) / 1e9)) s" }
        if nanos >= 1_000_000 { return "\(nanos / 1_000_000) ms" }
        return "\(nanos / 1000) µs"
    }

    static func rate(_ v: Double) -> String {
        if v >= 1e6 { return "\(String(format1: v / 1e6))M" }
        if v >= 1e4 { return "\(Int(v / 1e3))k" }
        return v.isFinite ? String(Int(v.rounded())) : "?"
    }

    static func bytes(_ v: Double) -> String {
        if v >= 1e9 { return "\(String(format1: v / 1e9)) GB" }
        if v >= 1e6 { return "\(String(format1: v / 1e6)) MB" }
        if v >= 1e3 { return "\(String(format1: v / 1e3)) kB" }
        return v.isFinite ? "\(Int(v)) B" : "?"
    }
}

extension String {
    /// One decimal: 1.5, 12.0.
    init(format1 v: Double) {
        guard v.isFinite, abs(v) < 1e15 else { self = "\(v)"; return }
        let tenths = Int((v * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
