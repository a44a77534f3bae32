/// Where each key, value and table header of a TOML document stands.
///
/// TOMLKit reports a position for syntax errors only; every semantic error
/// (wrong type, bad value, unknown key) must still point at a line. This is a
/// small scanner over an already-valid document that records, for every
/// dotted key path, the position of its key and of its value. It follows the
/// TOML 1.0 grammar for keys, strings, arrays and inline tables closely enough
/// to skip over them; it validates nothing (toml++ already did).
public struct TOMLLocator: Sendable {
    public struct Position: Equatable, Sendable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public var description: String { "\(line):\(column)" }
    }

    private var keyPositions: [String: Position] = [:]
    private var valuePositions: [String: Position] = [:]
    private var tablePositions: [String: Position] = [:]

    public init(text: String) {
        var scanner = Scanner(Array(text.unicodeScalars))
        scanner.document(into: &self)
    }

    private static func joined(_ path: [String]) -> String { path.joined(separator: "\u{0}") }

    /// Position of the key itself (or, for a table, of its `[header]`),
    /// falling back to the closest enclosing table that has one.
    public func key(_ path: [String]) -> Position {
        var p = path
        while !p.isEmpty {
            let k = Self.joined(p)
            if let pos = keyPositions[k] ?? tablePositions[k] { return pos }
            p.removeLast()
        }
        return Position(line: 1, column: 1)
    }

    /// Position of the value assigned to `path` (for type and range errors).
    public func value(_ path: [String]) -> Position {
        valuePositions[Self.joined(path)] ?? key(path)
    }

    /// Position just past the last line: where a missing table would go.
    public private(set) var end = Position(line: 1, column: 1)

    fileprivate mutating func recordKey(_ path: [String], _ pos: Position) {
        let k = Self.joined(path)
        if keyPositions[k] == nil { keyPositions[k] = pos }
    }
    fileprivate mutating func recordValue(_ path: [String], _ pos: Position) {
        let k = Self.joined(path)
        if valuePositions[k] == nil { valuePositions[k] = pos }
    }
    fileprivate mutating func recordTable(_ path: [String], _ pos: Position) {
        let k = Self.joined(path)
        if tablePositions[k] == nil { tablePositions[k] = pos }
    }

    private struct Scanner {
        let s: [Unicode.Scalar]
        var i = 0
        var line = 1
        var col = 1

        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { i >= s.count }
        var cur: Unicode.Scalar? { i < s.count ? s[i] : nil }
        func peek(_ k: Int) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }
        var pos: Position { Position(line: line, column: col) }

        mutating func advance() {
            guard i < s.count else { return }
            if s[i] == "\n" { line += 1; col = 1 } else { col += 1 }
            i += 1
        }

        mutating func skipSpaces() {
            while let c = cur, c == " " || c == "\t" { advance() }
        }

        /// Skips blanks, newlines and comments.
        mutating func skipTrivia() {
            while let c = cur {
                if c == " " || c == "\t" || c == "\r" || c == "\n" { advance() }
                else if c == "#" { while let d = cur, d != "\n" { advance() } }
                else { return }
            }
        }

        mutating func skipToLineEnd() { while let c = cur, c != "\n" { advance() } }

        mutating func document(into loc: inout TOMLLocator) {
            var table: [String] = []
            while true {
                skipTrivia()
                guard let c = cur else { break }
                if c == "[" {
                    let start = pos
                    advance()
                    let isArray = cur == "["
                    if isArray { advance() }
                    skipSpaces()
                    table = keyPath()
                    // `[a.b]` also defines `a` here, unless it was defined earlier.
                    for n in 1..<max(table.count, 1) { loc.recordTable(Array(table[0..<n]), start) }
                    loc.recordTable(table, start)
                    _ = isArray
                    skipToLineEnd()
                } else {
                    keyValue(prefix: table, into: &loc)
                    skipToLineEnd()
                }
            }
            loc.end = Position(line: line + (col > 1 ? 1 : 0), column: 1)
        }

        mutating func keyValue(prefix: [String], into loc: inout TOMLLocator) {
            let keyPos = pos
            let path = prefix + keyPath()
            if path.count == prefix.count { advance(); return }  // not a key: step over it
            // A dotted key also defines its intermediate tables.
            for n in (prefix.count + 1)..<path.count { loc.recordKey(Array(path[0..<n]), keyPos) }
            loc.recordKey(path, keyPos)
            skipSpaces()
            if cur == "=" { advance() }
            skipSpaces()
            loc.recordValue(path, pos)
            value(path: path, into: &loc)
        }

        /// `a.b."c d".'e'`: stops before `=`, `]` or anything else.
        mutating func keyPath() -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                guard let c = cur else { return parts }
                if c == "\"" { parts.append(basicString()) }
                else if c == "'" { parts.append(literalString()) }
                else if isBare(c) {
                    var k = ""
                    while let d = cur, isBare(d) { k.unicodeScalars.append(d); advance() }
                    parts.append(k)
                } else { return parts }
                skipSpaces()
                if cur == "." { advance() } else { return parts }
            }
        }

        func isBare(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
        }

        mutating func basicString() -> String {
            var out = ""
            advance()  // opening quote
            while let c = cur, c != "\"", c != "\n" {
                if c == "\\" { advance() }
                if let d = cur { out.unicodeScalars.append(d) }
                advance()
            }
            advance()
            return out
        }

        mutating func literalString() -> String {
            var out = ""
            advance()
            while let c = cur, c != "'", c != "\n" { out.unicodeScalars.append(c); advance() }
            advance()
            return out
        }

        mutating func multiline(_ q: Unicode.Scalar) {
            advance(); advance(); advance()
            while let c = cur {
                if q == "\"" && c == "\\" { advance(); advance(); continue }
                if c == q && peek(1) == q && peek(2) == q {
                    advance(); advance(); advance()
                    // Up to two more quotes may belong to the content.
                    while cur == q { advance() }
                    return
                }
                advance()
            }
        }

        mutating func value(path: [String]?, into loc: inout TOMLLocator) {
            guard let c = cur else { return }
            switch c {
            case "\"":
                if peek(1) == "\"" && peek(2) == "\"" { multiline("\"") } else { _ = basicString() }
            case "'":
                if peek(1) == "'" && peek(2) == "'" { multiline("'") } else { _ = literalString() }
            case "[":
                advance()
                while true {
                    skipTrivia()
                    guard let d = cur else { return }
                    if d == "]" { advance(); return }
                    if d == "," { advance(); continue }
                    value(path: nil, into: &loc)
                }
            case "{":
                advance()
                while true {
                    skipSpaces()
                    guard let d = cur else { return }
                    if d == "}" { advance(); return }
                    if d == "," { advance(); continue }
                    if d == "\n" { return }
                    if let path { keyValue(prefix: path, into: &loc) } else { var sink = TOMLLocator(text: ""); keyValue(prefix: [], into: &sink) }
                }
            default:
                while let d = cur, d != ",", d != "]", d != "}", d != "\n", d != "#", d != " ", d != "\t", d != "\r" {
                    advance()
                }
            }
        }
    }
}
