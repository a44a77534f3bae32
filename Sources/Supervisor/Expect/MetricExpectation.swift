import Shared

/// One `--expect` of `run --for`: two operands compared, each a number, a
/// selector of exactly one series, `rate(selector)` over the run, or
/// `sum`/`min`/`max`/`count` of either over every series matched:
///
///     sum(rate(link_frag_consumed_total{link_kind="dedup_sink"})) > 1000
///     count(tile_status{kind="verify"}) == 4
///     sum(link_frag_polling_overrun_total) == 0
///     max(rate(dedup_transactions_total{outcome="duplicate"})) <= sum(rate(source_transactions_total))
///
/// Names and labels are the exposition's (what `/metrics` shows). One
/// comparison per expectation, no arithmetic: several `--expect` combine.
struct MetricExpectation: CustomStringConvertible {
    enum Comparison: String, CaseIterable {
        // Longest first: `>=` before `>`.
        case greaterOrEqual = ">=", lessOrEqual = "<=", equal = "==", notEqual = "!=", greater = ">", less = "<"

        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .greater: a > b
            case .greaterOrEqual: a >= b
            case .less: a < b
            case .lessOrEqual: a <= b
            case .equal: a == b
            case .notEqual: a != b
            }
        }
    }

    struct Matcher: Equatable {
        enum Op: String, CaseIterable {
            // Longest first.
            case matches = "=~", notMatches = "!~", notEqual = "!=", equal = "="
        }
        let label: String
        let op: Op
        let value: String
    }

    struct Selector: Equatable, CustomStringConvertible {
        let name: String
        let matchers: [Matcher]

        var description: String {
            matchers.isEmpty
                ? name : name + "{" + matchers.map { "\($0.label)\($0.op.rawValue)\"\($0.value)\"" }.joined(separator: ",") + "}"
        }
    }

    indirect enum Operand: Equatable, CustomStringConvertible {
        case number(Double)
        case series(Selector)
        case rate(Selector)
        case aggregate(String, Operand)

        var description: String {
            switch self {
            case .number(let v): v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
            case .series(let s): s.description
            case .rate(let s): "rate(\(s))"
            case .aggregate(let f, let o): "\(f)(\(o))"
            }
        }
    }

    static let aggregates = ["sum", "min", "max", "count"]

    /// What the user typed.
    let text: String
    let left: Operand
    let comparison: Comparison
    let right: Operand

    var description: String { text }
}

/// Why an `--expect` does not parse: where, what, and the fix (exit 2).
struct ExpectationError: TilectlFailure {
    let expression: String
    /// 1-based.
    let column: Int
    let message: String
    var exitStatus: Int32 { 2 }
    var description: String { "--expect '\(expression)', column \(column): \(message)" }
}

extension MetricExpectation {
    /// Parses `text`; a mistake throws with its column.
    init(parsing text: String) throws {
        var p = Parser(text: Array(text.unicodeScalars), source: text)
        let left = try p.operand()
        p.skipSpace()
        guard let cmp = Comparison.allCases.first(where: { p.take($0.rawValue) }) else {
            throw p.error("expected a comparison (>, >=, <, <=, ==, !=) after \(left)")
        }
        let right = try p.operand()
        p.skipSpace()
        guard p.atEnd else { throw p.error("unexpected text after the comparison's right side; one comparison per --expect") }
        self.init(text: text, left: left, comparison: cmp, right: right)
    }

    private struct Parser {
        let text: [Unicode.Scalar]
        let source: String
        var i = 0

        var atEnd: Bool { i >= text.count }

        func error(_ message: String) -> ExpectationError {
            ExpectationError(expression: source, column: min(i, text.count) + 1, message: message)
        }

        mutating func skipSpace() { while i < text.count && (text[i] == " " || text[i] == "\t") { i += 1 } }

        /// Consumes `s` if it is next.
        mutating func take(_ s: String) -> Bool {
            let scalars = Array(s.unicodeScalars)
            guard i + scalars.count <= text.count, Array(text[i..<i + scalars.count]) == scalars else { return false }
            i += scalars.count
            return true
        }

        mutating func expect(_ s: String, _ what: String) throws {
            skipSpace()
            guard take(s) else { throw error("expected '\(s)' \(what)") }
        }

        static func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c == ":" || (c.isASCII && c.properties.isAlphabetic) }
        static func isName(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }

        mutating func name() -> String? {
            guard i < text.count, Self.isNameStart(text[i]) else { return nil }
            let start = i
            while i < text.count && Self.isName(text[i]) { i += 1 }
            return String(String.UnicodeScalarView(text[start..<i]))
        }

        mutating func operand() throws -> MetricExpectation.Operand {
            skipSpace()
            guard !atEnd else { throw error("expected a number, a metric name, rate(…) or sum/min/max/count(…)") }
            if let n = number() { return .number(n) }
            let start = i
            guard let word = name() else {
                throw error("expected a number, a metric name, rate(…) or sum/min/max/count(…), not '\(text[i])'")
            }
            skipSpace()
            if take("(") {
                if word == "rate" {
                    let s = try selector()
                    try expect(")", "to close rate(")
                    return .rate(s)
                }
                guard MetricExpectation.aggregates.contains(word) else {
                    i = start
                    throw error("unknown function '\(word)'; use rate, sum, min, max or count")
                }
                let inner = try operand()
                guard case .number = inner else {
                    if case .aggregate = inner { throw error("\(word)(…) takes a selector or rate(selector), not another aggregate") }
                    try expect(")", "to close \(word)(")
                    return .aggregate(word, inner)
                }
                throw error("\(word)(…) takes a selector or rate(selector), not a number")
            }
            i = start
            return .series(try selector())
        }

        mutating func number() -> Double? {
            let start = i
            if i < text.count && (text[i] == "-" || text[i] == "+") { i += 1 }
            var digits = 0
            while i < text.count
                && (("0"..."9").contains(text[i]) || text[i] == "." || text[i] == "e" || text[i] == "E"
                    || ((text[i] == "-" || text[i] == "+") && i > start && (text[i - 1] == "e" || text[i - 1] == "E")))
            {
                if ("0"..."9").contains(text[i]) { digits += 1 }
                i += 1
            }
            guard digits > 0, let v = Double(String(String.UnicodeScalarView(text[start..<i]))) else {
                i = start
                return nil
            }
            return v
        }

        mutating func selector() throws -> MetricExpectation.Selector {
            skipSpace()
            guard let metric = name() else { throw error("expected a metric name") }
            var matchers: [MetricExpectation.Matcher] = []
            skipSpace()
            if take("{") {
                skipSpace()
                while !take("}") {
                    if !matchers.isEmpty {
                        try expect(",", "between label matchers")
                        skipSpace()
                        if take("}") { break }
                    }
                    skipSpace()
                    guard let label = name() else { throw error("expected a label name or '}'") }
                    skipSpace()
                    guard let op = MetricExpectation.Matcher.Op.allCases.first(where: { take($0.rawValue) }) else {
                        throw error("expected =, !=, =~ or !~ after the label \(label)")
                    }
                    skipSpace()
                    let value = try string()
                    if op == .matches || op == .notMatches {
                        do { _ = try Regex("^(?:" + value + ")$") } catch {
                            throw self.error("the regular expression \"\(value)\" does not compile")
                        }
                    }
                    matchers.append(.init(label: label, op: op, value: value))
                    skipSpace()
                }
            }
            return .init(name: metric, matchers: matchers)
        }

        mutating func string() throws -> String {
            guard take("\"") else { throw error("expected a quoted label value (\"…\")") }
            var out = ""
            while i < text.count && text[i] != "\"" {
                if text[i] == "\\" && i + 1 < text.count {
                    i += 1
                    out.unicodeScalars.append(text[i] == "n" ? "\n" : text[i])
                } else {
                    out.unicodeScalars.append(text[i])
                }
                i += 1
            }
            guard take("\"") else { throw error("unterminated label value: add the closing \"") }
            return out
        }
    }
}
