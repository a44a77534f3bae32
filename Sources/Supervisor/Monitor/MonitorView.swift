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
        let d = MonitorDelta(topology, a, b)
        // Tile rows share one set of columns, link rows (under their
        // consumer) another.
        // The regimes' columns: one per activity, then housekeeping (which
        // overlaps them), from the declaration the stem counts with.
        let head =
            ["TILE", "PID", "STATUS", "CPU", "HEARTBEAT"] + Activity.allCases.map { $0.words.uppercased() }
            + ["HOUSEKEEPING", "BACKPRESSURE EVENTS"]
        var tileRows: [([String], [Tone])] = [(head, Array(repeating: .dim, count: head.count))]
        var linkRows: [Int: [([String], [Tone])]] = [:]
        for (i, t) in d.tiles.enumerated() {
            let status: (String, Tone)
            switch t.status {
            case .running: status = ("running", .good)
            case .booting: status = ("booting", .warn)
            case .shutdown: status = ("shut down", .warn)
            case nil: status = ("unknown", .bad)
            }
            let age = t.heartbeatAgeNanos
            let ageTone: Tone = age > 1_000_000_000 ? .bad : age > 100_000_000 ? .warn : .plain
            func share(_ v: Double) -> String { "\(Int((v * 100).rounded()))%" }
            tileRows.append(
                (
                    [
                        t.spec.name, t.pidVerified ? String(t.pid) : "? (says \(t.pid))", status.0,
                        t.spec.cpus.count > 1 ? "\(t.cpu) of \(Affinity.format(t.spec.cpus))" : String(t.cpu),
                        Self.duration(age),
                    ]
                        + Activity.allCases.map { share(t.shares[$0]!) }
                        + [share(t.housekeepingShare), "\(Self.rate(t.backpressureEventsPerSecond))/s, \(t.backpressureEvents) in all"],
                    [.plain, .plain, status.1, .plain, ageTone]
                        + Activity.allCases.map { $0 == .backpressured && t.shares[$0]! > 0.5 ? .warn : .plain }
                        + [.plain, t.inBackpressure ? .warn : .plain]
                ))
            for l in t.inputs {
                linkRows[i, default: []].append(
                    (
                        [
                            "<- \(l.link.label)", "\(Self.rate(l.fragsPerSecond)) frags/s", "\(Self.bytes(l.bytesPerSecond))/s",
                            "filtered \(Self.rate(l.filteredPerSecond))/s", "lost \(Self.rate(l.lostPerSecond))/s, \(l.lost) in all",
                            "slow \(l.slow)",
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
            + "supervisor pid \(supervisorPid); rates over \(String(format1: d.seconds)) s\n\n"
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
