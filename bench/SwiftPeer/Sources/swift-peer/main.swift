// swift-peer: serves, with swift-prometheus behind Hummingbird 2, the same
// metric families and series as a Prometheus text exposition (format 0.0.4)
// saved from tilectl's metric tile. The body is parsed once at start; the
// registry is rendered anew on every GET /metrics, which is what
// bench/scrape-bench.sh measures.
//
//   swift-peer --body FILE --port N

import Foundation
import Hummingbird
import Prometheus

// MARK: - Arguments

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("swift-peer: \(message)\n".utf8))
    exit(2)
}

let usage = "usage: swift-peer --body FILE --port N"
var bodyPath: String?
var port: Int?
do {
    var args = CommandLine.arguments.dropFirst()
    while let arg = args.popFirst() {
        var key = arg
        var inline: String?
        if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
            key = String(arg[..<eq])
            inline = String(arg[arg.index(after: eq)...])
        }
        func value() -> String {
            if let inline { return inline }
            guard let next = args.popFirst() else { fail("\(key) needs a value\n\(usage)") }
            return next
        }
        switch key {
        case "--body": bodyPath = value()
        case "--port":
            let v = value()
            guard let p = Int(v), (1...65535).contains(p) else { fail("bad port '\(v)'") }
            port = p
        case "-h", "--help":
            print(usage)
            exit(0)
        default: fail("unknown argument '\(arg)'\n\(usage)")
        }
    }
}
guard let bodyPath, let port else { fail(usage) }
guard let bodyData = FileManager.default.contents(atPath: bodyPath) else { fail("cannot read \(bodyPath)") }
let bodyText = String(decoding: bodyData, as: UTF8.self)

// MARK: - Parsing the exposition

enum Kind: String { case counter, gauge, histogram }

struct Family {
    var kind: Kind?
    var help = ""
}

struct Sample {
    var name: Substring
    var labels: [(String, String)]
    var value: Double
}

enum ParseError: Error { case bad(String) }

func parseValue(_ s: Substring) -> Double? {
    switch s {
    case "+Inf", "Inf", "+inf", "inf": return .infinity
    case "-Inf", "-inf": return -.infinity
    case "NaN", "nan": return .nan
    default: return Double(s)
    }
}

/// `# HELP` text escapes `\\` and `\n`.
func unescapeHelp(_ s: Substring) -> String {
    guard s.contains("\\") else { return String(s) }
    var out = ""
    var escaped = false
    for c in s {
        if escaped {
            switch c {
            case "n": out.append("\n")
            case "\\": out.append("\\")
            default: out.append("\\"); out.append(c)
            }
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else {
            out.append(c)
        }
    }
    if escaped { out.append("\\") }
    return out
}

/// `name{label="v",...} value [timestamp]`; label values escape `\"`, `\\`, `\n`.
func parseSample(_ line: Substring) throws -> Sample {
    let u = Array(line.utf8)
    var i = 0
    func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: ":"):
            return true
        default: return false
        }
    }
    func skipSpace() { while i < u.count, u[i] == UInt8(ascii: " ") || u[i] == UInt8(ascii: "\t") { i += 1 } }
    while i < u.count, isNameByte(u[i]) { i += 1 }
    guard i > 0 else { throw ParseError.bad("no metric name") }
    let name = Substring(String(decoding: u[0..<i], as: UTF8.self))
    var labels: [(String, String)] = []
    skipSpace()
    if i < u.count, u[i] == UInt8(ascii: "{") {
        i += 1
        while true {
            skipSpace()
            guard i < u.count else { throw ParseError.bad("unterminated labels") }
            if u[i] == UInt8(ascii: "}") { i += 1; break }
            let start = i
            while i < u.count, isNameByte(u[i]) { i += 1 }
            guard i > start else { throw ParseError.bad("bad label name") }
            let key = String(decoding: u[start..<i], as: UTF8.self)
            skipSpace()
            guard i < u.count, u[i] == UInt8(ascii: "=") else { throw ParseError.bad("expected '='") }
            i += 1
            skipSpace()
            guard i < u.count, u[i] == UInt8(ascii: "\"") else { throw ParseError.bad("expected '\"'") }
            i += 1
            var value: [UInt8] = []
            var closed = false
            while i < u.count {
                let b = u[i]
                i += 1
                if b == UInt8(ascii: "\\"), i < u.count {
                    let e = u[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(e)
                    default: value.append(b); value.append(e)
                    }
                } else if b == UInt8(ascii: "\"") {
                    closed = true
                    break
                } else {
                    value.append(b)
                }
            }
            guard closed else { throw ParseError.bad("unterminated label value") }
            labels.append((key, String(decoding: value, as: UTF8.self)))
            skipSpace()
            if i < u.count, u[i] == UInt8(ascii: ",") { i += 1 }
        }
    }
    skipSpace()
    let rest = String(decoding: u[i...], as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true)
    guard let first = rest.first, let value = parseValue(first) else { throw ParseError.bad("bad value") }
    return Sample(name: name, labels: labels, value: value)
}

var families: [String: Family] = [:]
var samples: [Sample] = []
var lineNumber = 0
for line in bodyText.split(separator: "\n", omittingEmptySubsequences: false) {
    lineNumber += 1
    let line = line.hasSuffix("\r") ? line.dropLast() : line
    if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
    if line.hasPrefix("#") {
        // `# HELP name text` / `# TYPE name type`; other comments are ignored.
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == "#" else { continue }
        let name = String(parts[2])
        if parts[1] == "HELP" {
            families[name, default: Family()].help = parts.count > 3 ? unescapeHelp(parts[3]) : ""
        } else if parts[1] == "TYPE", parts.count > 3 {
            guard let kind = Kind(rawValue: String(parts[3])) else {
                FileHandle.standardError.write(
                    Data("swift-peer: \(bodyPath):\(lineNumber): type '\(parts[3])' not served, its samples are skipped\n".utf8))
                continue
            }
            families[name, default: Family()].kind = kind
        }
        continue
    }
    do {
        samples.append(try parseSample(line))
    } catch ParseError.bad(let why) {
        fail("\(bodyPath):\(lineNumber): \(why): \(line)")
    }
}

// MARK: - Registering the same families and series

let registry = PrometheusCollectorRegistry()

/// The family a sample belongs to, and the suffix after the family's name.
func family(of sample: Substring, in families: [String: Family]) -> (name: String, family: Family, suffix: String)? {
    if let f = families[String(sample)], let kind = f.kind, kind != .histogram {
        return (String(sample), f, "")
    }
    for suffix in ["_bucket", "_sum", "_count", "_total"] where sample.hasSuffix(suffix) {
        let base = String(sample.dropLast(suffix.count))
        guard let f = families[base], let kind = f.kind else { continue }
        if (kind == .histogram && suffix != "_total") || (kind == .counter && suffix == "_total") {
            return (base, f, suffix)
        }
    }
    return nil
}

/// The registry's name for a metric: the library emits this string verbatim
/// as the sample name (and as the family name in `# HELP`/`# TYPE`); it
/// appends no `_total` to counters, nor does it strip one.
func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}

struct HistogramSeries {
    var family: String
    var help: String
    var labels: [(String, String)]
    var buckets: [(le: Double, cumulative: Double)] = []
    var count: Double = 0
}

func seriesKey(_ name: String, _ labels: [(String, String)]) -> String {
    var key = name
    for (k, v) in labels { key += "\u{0}\(k)\u{1}\(v)" }
    return key
}

var seriesCount = 0
var skipped = 0
var registered = Set<String>()
var histogramOrder: [String] = []
var histograms: [String: HistogramSeries] = [:]

for sample in samples {
    guard let (name, fam, suffix) = family(of: sample.name, in: families), let kind = fam.kind else {
        skipped += 1
        continue
    }
    switch kind {
    case .counter:
        // 0.0.4 counters: the sample (and, from tilectl, the family) name ends
        // in `_total`; register the sample's name so the output matches it.
        let metricName = String(sample.name)
        let counter = registry.makeCounter(descriptor: descriptor(metricName, fam.help), labels: sample.labels)
        if registered.insert(seriesKey(metricName, sample.labels)).inserted { seriesCount += 1 }
        let v = sample.value
        if v.isFinite, v >= 0 {
            if v == v.rounded(), v < 9.0e18 {
                counter.increment(by: Int64(v))
            } else {
                counter.increment(by: v)
            }
        }
    case .gauge:
        let metricName = String(sample.name)
        let gauge = registry.makeGauge(descriptor: descriptor(metricName, fam.help), labels: sample.labels)
        if registered.insert(seriesKey(metricName, sample.labels)).inserted { seriesCount += 1 }
        gauge.set(to: sample.value)
    case .histogram:
        var le: Double?
        var labels = sample.labels
        if suffix == "_bucket" {
            guard let idx = labels.firstIndex(where: { $0.0 == "le" }), let v = parseValue(Substring(labels[idx].1)) else {
                skipped += 1
                continue
            }
            le = v
            labels.remove(at: idx)
        }
        let key = seriesKey(name, labels)
        if histograms[key] == nil {
            histograms[key] = HistogramSeries(family: name, help: fam.help, labels: labels)
            histogramOrder.append(key)
        }
        if let le, le.isFinite {
            histograms[key]!.buckets.append((le, sample.value))
        } else if let le, le == .infinity {
            histograms[key]!.count = max(histograms[key]!.count, sample.value)
        } else if suffix == "_count" {
            histograms[key]!.count = max(histograms[key]!.count, sample.value)
        }
    }
}

// A histogram family's buckets are fixed by its first series; the library
// refuses another set under the same name.
var familyBuckets: [String: [Double]] = [:]
for key in histogramOrder {
    let series = histograms[key]!
    let sorted = series.buckets.sorted { $0.le < $1.le }
    let buckets =
        familyBuckets[series.family]
        ?? {
            var les: [Double] = []
            for b in sorted where les.last != b.le { les.append(b.le) }
            familyBuckets[series.family] = les
            return les
        }()
    let histogram = registry.makeValueHistogram(
        descriptor: descriptor(series.family, series.help), labels: series.labels, buckets: buckets)
    seriesCount += 1
    // Observations that give every bucket the body's count where the total is
    // small; otherwise one observation per bucket (counts need not match).
    var previous = 0.0
    let exact = series.count <= 100_000
    var observations: [(Double, Int)] = []
    for b in sorted {
        let delta = max(0, b.cumulative - previous)
        previous = max(previous, b.cumulative)
        observations.append((b.le, exact ? Int(delta) : 1))
    }
    let above = (buckets.last ?? 0) * 2 + 1
    observations.append((above, exact ? Int(max(0, series.count - previous)) : 1))
    if observations.allSatisfy({ $0.1 == 0 }) { observations = observations.map { ($0.0, 1) } }
    for (value, n) in observations {
        for _ in 0..<n { histogram.record(value) }
    }
}

if skipped > 0 {
    FileHandle.standardError.write(Data("swift-peer: \(skipped) samples of no counter, gauge or histogram family skipped\n".utf8))
}

// MARK: - Serving

let contentType = "text/plain; version=0.0.4; charset=utf-8"
let router = Router()
router.get("/metrics") { _, _ -> Response in
    // Rendered on every request: the library's own path, with its internal
    // buffer reused across calls (returns a copy).
    let bytes = registry.emitToBuffer()
    return Response(
        status: .ok,
        headers: [.contentType: contentType],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
    )
}

let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "swift-peer")
)
FileHandle.standardError.write(
    Data("swift-peer: serving \(seriesCount) series from \(bodyPath) at http://127.0.0.1:\(port)/metrics\n".utf8))
try await app.runService()
