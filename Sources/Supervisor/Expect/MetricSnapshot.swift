import Foundation
import Shared

/// Every series of a topology at one moment, as `/metrics` shows them,
/// parsed from the exposition the supervisor renders from the tiles' shared
/// memory (the metric tile's own renderer, no HTTP).
struct MetricSnapshot {
    struct Series {
        let name: String
        let labels: [String: String]
        let value: Double
        /// `name{a="1",b="2"}`, labels sorted: the series' identity.
        var key: String { name + "{" + labels.keys.sorted().map { "\($0)=\"\(labels[$0]!)\"" }.joined(separator: ",") + "}" }
    }

    let monotonicNanos: Int64
    let series: [Series]

    init(monotonicNanos: Int64, series: [Series]) {
        self.monotonicNanos = monotonicNanos
        self.series = series
    }

    /// Parses the Prometheus text format as tilectl writes it: one
    /// `name{label="value",…} number` per line, comments skipped.
    init(exposition text: String, monotonicNanos: Int64) {
        self.monotonicNanos = monotonicNanos
        var out: [Series] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let head = line[..<space]
            guard let brace = head.firstIndex(of: "{") else {
                out.append(Series(name: String(head), labels: [:], value: value))
                continue
            }
            out.append(
                Series(name: String(head[..<brace]), labels: Self.labels(head[head.index(after: brace)...].dropLast()), value: value))
        }
        series = out
    }

    /// `a="1",b="x\"y"` → [a: 1, b: x"y].
    static func labels(_ s: Substring) -> [String: String] {
        var out: [String: String] = [:]
        var i = s.startIndex
        while i < s.endIndex {
            guard let eq = s[i...].firstIndex(of: "=") else { break }
            let name = String(s[i..<eq])
            var j = s.index(eq, offsetBy: 2)  // past ="
            var value = ""
            while j < s.endIndex && s[j] != "\"" {
                if s[j] == "\\", s.index(after: j) < s.endIndex {
                    j = s.index(after: j)
                    value.append(s[j] == "n" ? "\n" : s[j])
                } else {
                    value.append(s[j])
                }
                j = s.index(after: j)
            }
            out[name] = value
            i = j < s.endIndex ? s.index(after: j) : j  // past the closing quote
            if i < s.endIndex && s[i] == "," { i = s.index(after: i) }
        }
        return out
    }

    func matching(_ selector: MetricExpectation.Selector) -> [Series] {
        series.filter { s in
            s.name == selector.name
                && selector.matchers.allSatisfy { m in
                    let v = s.labels[m.label] ?? ""
                    switch m.op {
                    case .equal: return v == m.value
                    case .notEqual: return v != m.value
                    case .matches: return v.wholeMatch(of: try! Regex(m.value)) != nil
                    case .notMatches: return v.wholeMatch(of: try! Regex(m.value)) == nil
                    }
                }
        }
    }
}

extension MetricExpectation {
    /// An expectation judged: whether it holds, each side's value, and one
    /// line that says so (`sum(rate(…)) > 1000: 1523.4 > 1000`).
    struct Verdict {
        let expectation: MetricExpectation
        let holds: Bool
        let left: Double?
        let right: Double?
        let message: String
    }

    /// Judges the expectation on the run's last snapshot; `rate` is over
    /// the run, from `initial` to `final`.
    func judge(initial: MetricSnapshot, final: MetricSnapshot) -> Verdict {
        let seconds = Double(final.monotonicNanos - initial.monotonicNanos) / 1e9
        /// Why an operand has no value.
        struct Problem: Error { let text: String }
        func values(_ o: Operand) throws(Problem) -> [Double] {
            switch o {
            case .number(let v): return [v]
            case .series(let s): return final.matching(s).map(\.value)
            case .rate(let s):
                guard seconds > 0 else { throw Problem(text: "rate over a run of no time") }
                let before = Dictionary(initial.matching(s).map { ($0.key, $0.value) }) { a, _ in a }
                return final.matching(s).map { ($0.value - (before[$0.key] ?? 0)) / seconds }
            case .aggregate(let f, let inner):
                let v = try values(inner)
                switch f {
                case "sum": return [v.reduce(0, +)]
                case "count": return [Double(v.count)]
                case "min": if let m = v.min() { return [m] }
                default: if let m = v.max() { return [m] }
                }
                throw Problem(text: "\(o) matches no series")
            }
        }
        func one(_ o: Operand) throws(Problem) -> Double {
            let v = try values(o)
            guard v.count == 1 else {
                throw Problem(
                    text: v.isEmpty ? "\(o) matches no series" : "\(o) matches \(v.count) series; wrap it in sum, min, max or count")
            }
            return v[0]
        }
        do throws(Problem) {
            let a = try one(left), b = try one(right)
            let holds = comparison.holds(a, b)
            let values = "\(Self.format(a)) \(holds ? "" : "is not ")\(comparison.rawValue) \(Self.format(b))"
            return Verdict(expectation: self, holds: holds, left: a, right: b, message: "\(text): \(values)")
        } catch {
            return Verdict(expectation: self, holds: false, left: nil, right: nil, message: "\(text): \(error.text)")
        }
    }

    /// `1523.4`, `4`, `0.000123`: six significant digits, no exponent for
    /// what a person reads in a log.
    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        var s = String(format: "%.6g", v)
        if s.contains("e") { s = String(v) }
        return s
    }
}
