import Testing
@testable import TOML

// What DifferentialTests and ConformanceTests share: JSON read with keys
// as Unicode scalars, our values in the same JSON, and the checks and
// quoting of what they report.

// MARK: errors

/// What is wrong with the error for a document we rightly reject, or nil.
func checkError(_ error: TOMLError, _ bytes: [UInt8]) -> String? {
    if error.message.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
        return "the error message is not one line: \(quoted(error.message))"
    }
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    let p = error.position
    guard p.line >= 1, p.column >= 1, p.line <= lines.count + 1 else {
        return "the error is at \(p), outside the document's \(lines.count) lines: \(error)"
    }
    // Columns count characters; the error may point just past the line's end.
    if p.line <= lines.count {
        let width = lines[p.line - 1].filter { $0 & 0xC0 != 0x80 }.count
        if p.column > width + 1 { return "the error is at \(p), past the end of line \(p.line) (\(width) characters): \(error)" }
    }
    return nil
}

// MARK: canonical values

/// Text compared by Unicode scalars (a Swift String compares by canonical
/// equivalence, which would hide "é" written two ways).
struct Text: Hashable, Comparable, CustomStringConvertible {
    let scalars: [UInt32]
    init(_ s: String) { scalars = s.unicodeScalars.map(\.value) }
    init(scalars: [UInt32]) { self.scalars = scalars }
    static func < (a: Text, b: Text) -> Bool { a.scalars.lexicographicallyPrecedes(b.scalars) }
    var string: String {
        var s = String.UnicodeScalarView()
        for v in scalars { s.append(Unicode.Scalar(v) ?? "\u{FFFD}") }
        return String(s)
    }
    var description: String { quoted(string) }
}

/// The JSON that toml-differential.py prints and toml-test's expectations
/// are written in: objects, arrays and strings are all they use.
indirect enum JSON: Equatable, CustomStringConvertible {
    case object([Text: JSON])
    case array([JSON])
    case string(Text)

    static func scalar(_ type: String, _ value: String) -> JSON {
        .object([Text("t"): .string(Text(type)), Text("v"): .string(Text(value))])
    }

    /// Compact, with keys sorted, and scalars as type:value.
    var description: String {
        switch self {
        case .string(let t): return t.description
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o):
            if o.count == 2, case .string(let t)? = o[Text("t")], case .string(let v)? = o[Text("v")] {
                return "\(t.string):\(v.description)"
            }
            return "{" + o.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

/// A value as toml-differential.py writes tomllib's: floats by bit
/// pattern (any NaN as "nan"), date-times with `fractionDigits` digits of
/// the second (tomllib keeps 6, TOMLDateTime 9).
func canonical(_ v: TOMLValue, fractionDigits: Int) -> JSON {
    func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    switch v {
    case .string(let s): return .scalar("string", s)
    case .integer(let i): return .scalar("integer", String(i))
    case .float(let d):
        if d.isNaN { return .scalar("float", "nan") }
        let hex = String(d.bitPattern, radix: 16)
        return .scalar("float", String(repeating: "0", count: 16 - hex.count) + hex)
    case .boolean(let b): return .scalar("bool", b ? "true" : "false")
    case .dateTime(let dt):
        let date = dt.date.map { "\(pad($0.year, 4))-\(pad($0.month, 2))-\(pad($0.day, 2))" }
        let unit = (fractionDigits..<9).reduce(1) { n, _ in n * 10 }
        let time = dt.time.map {
            "\(pad($0.hour, 2)):\(pad($0.minute, 2)):\(pad($0.second, 2)).\(pad($0.nanosecond / unit, fractionDigits))"
        }
        switch (date, time, dt.offsetMinutes) {
        case (let d?, let t?, let o?):
            return .scalar("datetime", "\(d)T\(t)\(o < 0 ? "-" : "+")\(pad(abs(o) / 60, 2)):\(pad(abs(o) % 60, 2))")
        case (let d?, let t?, nil): return .scalar("datetime-local", "\(d)T\(t)")
        case (let d?, nil, _): return .scalar("date-local", d)
        case (nil, let t?, _): return .scalar("time-local", t)
        case (nil, nil, _): return .scalar("invalid-datetime", dt.description)
        }
    case .array(let a): return .array((0..<a.count).map { canonical(a[$0], fractionDigits: fractionDigits) })
    case .table(let t):
        var o: [Text: JSON] = [:]
        for e in t.entries { o[Text(e.key)] = canonical(e.value, fractionDigits: fractionDigits) }
        return .object(o)
    }
}

// MARK: JSON

/// Just enough JSON for the generator's lines and toml-test's expectations,
/// with keys and strings kept as scalars (Foundation's JSON and Swift
/// dictionaries of String keys would merge keys that are canonically
/// equivalent).
struct JSONReader {
    struct Bad: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "bad JSON at byte \(offset)" }
    }

    let b: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { b = bytes }

    mutating func document() throws(Bad) -> JSON {
        let v = try value()
        skip()
        guard i == b.count else { throw Bad(offset: i) }
        return v
    }

    mutating func skip() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func expect(_ c: UInt8) throws(Bad) {
        skip()
        guard i < b.count, b[i] == c else { throw Bad(offset: i) }
        i += 1
    }

    mutating func value() throws(Bad) -> JSON {
        skip()
        guard i < b.count else { throw Bad(offset: i) }
        switch b[i] {
        case UInt8(ascii: "{"):
            var o: [Text: JSON] = [:]
            try elements(closedBy: UInt8(ascii: "}")) { (r: inout JSONReader) throws(Bad) in
                r.skip()
                let k = try r.string()
                try r.expect(UInt8(ascii: ":"))
                o[k] = try r.value()
            }
            return .object(o)
        case UInt8(ascii: "["):
            var a: [JSON] = []
            try elements(closedBy: UInt8(ascii: "]")) { (r: inout JSONReader) throws(Bad) in a.append(try r.value()) }
            return .array(a)
        case UInt8(ascii: "\""):
            return .string(try string())
        default:
            throw Bad(offset: i)
        }
    }

    /// An object's members or an array's elements, from its opening bracket
    /// to `close`: `element` reads one, this the commas between them.
    mutating func elements(closedBy close: UInt8, _ element: (inout JSONReader) throws(Bad) -> Void) throws(Bad) {
        i += 1
        skip()
        if i < b.count, b[i] == close { i += 1; return }
        while true {
            try element(&self)
            skip()
            guard i < b.count else { throw Bad(offset: i) }
            i += 1
            if b[i - 1] == close { return }
            guard b[i - 1] == UInt8(ascii: ",") else { throw Bad(offset: i - 1) }
        }
    }

    mutating func hex4() throws(Bad) -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw Bad(offset: i)
        }
        i += 4
        return v
    }

    mutating func string() throws(Bad) -> Text {
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw Bad(offset: i) }
        i += 1
        var bytes: [UInt8] = []
        var scalars: [UInt32] = []
        func flush() {
            scalars += String(decoding: bytes, as: UTF8.self).unicodeScalars.map(\.value)
            bytes.removeAll()
        }
        while true {
            guard i < b.count else { throw Bad(offset: i) }
            let c = b[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            guard c == UInt8(ascii: "\\") else { bytes.append(c); continue }
            guard i < b.count else { throw Bad(offset: i) }
            let e = b[i]
            i += 1
            let simple: [UInt8: UInt8] = [
                UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F,
                UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A,
                UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
            ]
            if let s = simple[e] { bytes.append(s); continue }
            guard e == UInt8(ascii: "u") else { throw Bad(offset: i - 1) }
            flush()
            var v = try hex4()
            if (0xD800..<0xDC00).contains(v), i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                i += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw Bad(offset: i - 4) }
                v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
            }
            scalars.append(v)
        }
        flush()
        return Text(scalars: scalars)
    }
}

// MARK: reporting

/// A document as a one-line string: printable ASCII and valid UTF-8 as
/// they are, the rest escaped.
func escaped(_ bytes: [UInt8]) -> String {
    var out = "\""
    var k = 0
    while k < bytes.count {
        let c = bytes[k]
        switch c {
        case 0x0A: out += "\\n"; k += 1; continue
        case 0x0D: out += "\\r"; k += 1; continue
        case 0x09: out += "\\t"; k += 1; continue
        case 0x22: out += "\\\""; k += 1; continue
        case 0x5C: out += "\\\\"; k += 1; continue
        case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(c)); k += 1; continue
        default: break
        }
        // A whole UTF-8 sequence when there is one; else the byte in hex.
        let width = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0
        var scalar: Unicode.Scalar?
        if width > 0, k + width <= bytes.count {
            var it = bytes[k..<k + width].makeIterator()
            var decoder = UTF8()
            if case .scalarValue(let u) = decoder.decode(&it), it.next() == nil { scalar = u }
        }
        if let u = scalar, u.value >= 0xA0, u.value != 0x2028, u.value != 0x2029, u.value != 0xFEFF {
            out.unicodeScalars.append(u)
            k += width
        } else {
            let hex = String(c, radix: 16, uppercase: true)
            out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            k += 1
        }
    }
    return out + "\""
}
