/// A syntax or definition error at a byte offset (TOMLDocument gives it a
/// line and column).
struct ParseFailure: Error {
    let offset: Int
    let message: String
}

/// One pass over the bytes of a TOML 1.0 document: lines, keys, headers and
/// the rules on which tables may be defined or extended. Values are in
/// TOMLParser+Values.swift.
struct TOMLParser {
    let b: [UInt8]
    let n: Int
    var i = 0
    let root = TOMLTable(origin: .header, depth: 0)
    /// Tables made by dotted keys since the last header: settled (closed
    /// to headers and to dotted keys of later sections) at the next header.
    var pendingDotted: [TOMLTable] = []

    init(_ bytes: [UInt8]) {
        b = bytes
        n = bytes.count
    }

    mutating func document() throws(ParseFailure) -> TOMLTable {
        try validateUTF8()
        // A byte-order mark may open the file (editors on Windows write one).
        if n >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
        var section = root
        while true {
            skipSpace()
            guard i < n else { return root }
            switch b[i] {
            case Byte.hash: try comment()
            case Byte.lf, Byte.cr: try newline()
            case Byte.lbracket:
                section = try header()
                try endOfLine(after: "the table header")
            default:
                try keyValue(into: section)
                try endOfLine(after: "the value")
            }
        }
    }

    // MARK: lines

    mutating func skipSpace() {
        while i < n, b[i] == Byte.space || b[i] == Byte.tab { i += 1 }
    }

    /// Spaces, comments and newlines (inside an array).
    mutating func skipBlank() throws(ParseFailure) {
        while i < n {
            switch b[i] {
            case Byte.space, Byte.tab: i += 1
            case Byte.hash: try comment()
            case Byte.lf, Byte.cr: try newline()
            default: return
            }
        }
    }

    mutating func newline() throws(ParseFailure) {
        if b[i] == Byte.lf { i += 1; return }
        guard i + 1 < n, b[i + 1] == Byte.lf else {
            throw fail("a carriage return (\\r) not followed by a line feed; end lines with \\n or \\r\\n")
        }
        i += 2
    }

    mutating func comment() throws(ParseFailure) {
        i += 1
        while i < n, b[i] != Byte.lf {
            if b[i] == Byte.cr, i + 1 < n, b[i + 1] == Byte.lf { return }
            if isControl(b[i]) {
                throw fail("\(found(i)) in a comment; comments may hold tabs but no other control characters")
            }
            i += 1
        }
    }

    /// After a key/value pair or a header: spaces, a comment, then the end
    /// of the line or of the file.
    mutating func endOfLine(after what: String) throws(ParseFailure) {
        skipSpace()
        if i < n, b[i] == Byte.hash { try comment() }
        guard i < n else { return }
        guard b[i] == Byte.lf || b[i] == Byte.cr else {
            throw fail(
                "expected the end of the line after \(what), found \(found(i)); "
                    + "put each key = value and each [header] on a line of its own")
        }
        try newline()
    }

    // MARK: keys

    /// A dotted key: each part and the offset where it is written.
    mutating func key() throws(ParseFailure) -> [(name: String, offset: Int)] {
        var parts: [(name: String, offset: Int)] = []
        while true {
            let start = i
            guard i < n else { throw fail("expected a key, found \(found(i))") }
            let name: String
            switch b[i] {
            case Byte.quote:
                if startsTriple(Byte.quote) { throw fail("a key cannot be a multi-line string; quote it with \"...\"") }
                name = try basicString()
            case Byte.apostrophe:
                if startsTriple(Byte.apostrophe) { throw fail("a key cannot be a multi-line string; quote it with '...'") }
                name = try literalString()
            default:
                while i < n, isBareKey(b[i]) { i += 1 }
                guard i > start else {
                    throw fail("expected a key, found \(found(i)); keys are A-Z a-z 0-9 _ - or a quoted string")
                }
                name = String(decoding: b[start..<i], as: UTF8.self)
            }
            parts.append((name, start))
            skipSpace()
            guard i < n, b[i] == Byte.dot else { return parts }
            i += 1
            skipSpace()
            guard parts.count < TOMLDocument.maxNesting else { throw tooDeep(start) }
        }
    }

    /// `key = value`, added to `table`: the root, the current section, or
    /// an inline table being read.
    mutating func keyValue(into table: TOMLTable) throws(ParseFailure) {
        let parts = try key()
        guard i < n, b[i] == Byte.equals else {
            let k = parts.map(\.name).map(quotedKey).joined(separator: ".")
            throw fail("expected \"=\" after the key \(k), found \(found(i)); write key = value")
        }
        i += 1
        skipSpace()
        let valueOffset = i
        var t = table
        for (name, offset) in parts.dropLast() {
            t = try dottedStep(t, name, offset)
        }
        let (name, offset) = parts[parts.count - 1]
        if let existing = t.entry(name) {
            throw ParseFailure(
                offset: offset,
                message: "\(quotedKey(name)) is already defined at line \(line(existing.keyOffset)); "
                    + "each key is set once: remove one of them")
        }
        let value = try self.value(depth: t.depth + 1)
        t.insert(name, value, keyOffset: offset, valueOffset: valueOffset)
    }

    /// One step of a dotted key `a.b = 1`: the table `a`, made when missing.
    mutating func dottedStep(_ t: TOMLTable, _ name: String, _ offset: Int) throws(ParseFailure) -> TOMLTable {
        guard let existing = t.entry(name) else {
            let sub = try addTable(to: t, name, offset, origin: .dottedPending)
            pendingDotted.append(sub)
            return sub
        }
        guard case .table(let sub) = existing.value else {
            throw ParseFailure(
                offset: offset,
                message: "\(quotedKey(name)) is \(existing.value.typeName) (line \(line(existing.keyOffset))), "
                    + "so a dotted key cannot add keys below it")
        }
        switch sub.origin {
        case .dottedPending:
            return sub
        case .implied:
            sub.origin = .dottedPending
            pendingDotted.append(sub)
            return sub
        case .header, .dotted:
            throw ParseFailure(
                offset: offset,
                message: "table \(quotedKey(name)) is already defined at line \(line(existing.valueOffset)); "
                    + "add its keys under its own [header], not with dotted keys from here")
        case .inline:
            throw ParseFailure(
                offset: offset,
                message: "\(quotedKey(name)) is an inline table (line \(line(existing.valueOffset))), "
                    + "which is complete once written; add the key inside its { }")
        }
    }

    func addTable(
        to t: TOMLTable, _ name: String, _ offset: Int, origin: TOMLTable.Origin,
        valueOffset: Int? = nil
    ) throws(ParseFailure) -> TOMLTable {
        guard t.depth + 1 < TOMLDocument.maxNesting else { throw tooDeep(offset) }
        let sub = TOMLTable(origin: origin, depth: t.depth + 1)
        t.insert(name, .table(sub), keyOffset: offset, valueOffset: valueOffset ?? offset)
        return sub
    }

    // MARK: headers

    /// `[a.b]` or `[[a.b]]`: the table that keys on the next lines go into.
    mutating func header() throws(ParseFailure) -> TOMLTable {
        let start = i
        let isArray = i + 1 < n && b[i + 1] == Byte.lbracket
        i += isArray ? 2 : 1
        skipSpace()
        let parts = try key()
        let close = isArray ? "]]" : "]"
        guard i < n, b[i] == Byte.rbracket, !isArray || (i + 1 < n && b[i + 1] == Byte.rbracket) else {
            let at = isArray && i < n && b[i] == Byte.rbracket ? i + 1 : i
            throw ParseFailure(offset: at, message: "expected \"\(close)\" to close the header, found \(found(at))")
        }
        i += isArray ? 2 : 1

        for t in pendingDotted where t.origin == .dottedPending { t.origin = .dotted }
        pendingDotted.removeAll()

        let dotted = parts.map(\.name).map(quotedKey).joined(separator: ".")
        var t = root
        for (name, offset) in parts.dropLast() {
            guard let existing = t.entry(name) else {
                t = try addTable(to: t, name, offset, origin: .implied)
                continue
            }
            switch existing.value {
            case .table(let sub) where sub.origin != .inline:
                t = sub
            case .array(let a) where a.ofTables:
                guard case .table(let last) = a[a.count - 1] else { preconditionFailure("an array of tables holds tables") }
                t = last
            default:
                throw ParseFailure(
                    offset: offset,
                    message: "[\(dotted)] reaches into \(quotedKey(name)), which is "
                        + "\(describe(existing.value)) (line \(line(existing.valueOffset))) and cannot be extended by a header")
            }
        }
        let (name, offset) = parts[parts.count - 1]
        if isArray {
            let array: TOMLArray
            if let existing = t.entry(name) {
                guard case .array(let a) = existing.value, a.ofTables else {
                    throw ParseFailure(
                        offset: offset,
                        message: "[[\(dotted)]] needs an array of tables, but \(quotedKey(name)) is "
                            + "\(describe(existing.value)) (line \(line(existing.valueOffset)))")
                }
                array = a
            } else {
                guard t.depth + 1 < TOMLDocument.maxNesting else { throw tooDeep(offset) }
                array = TOMLArray(ofTables: true)
                t.insert(name, .array(array), keyOffset: offset, valueOffset: start)
            }
            let element = TOMLTable(origin: .header, depth: t.depth + 1)
            array.append(.table(element), offset: start)
            return element
        }
        guard let existing = t.entry(name) else {
            return try addTable(to: t, name, offset, origin: .header, valueOffset: start)
        }
        guard case .table(let sub) = existing.value, sub.origin == .implied else {
            let what: String
            switch existing.value {
            case .table(let sub) where sub.origin == .inline: what = "is an inline table"
            case .table: what = "is already defined"
            case .array(let a) where a.ofTables: what = "is an array of tables (write [[\(dotted)]] to add one)"
            default: what = "is \(existing.value.typeName)"
            }
            throw ParseFailure(
                offset: offset,
                message: "[\(dotted)]: table \(quotedKey(name)) \(what) at line \(line(existing.valueOffset)); "
                    + "define each table once")
        }
        sub.origin = .header
        t.setValueOffset(name, start)
        return sub
    }

    func describe(_ v: TOMLValue) -> String {
        switch v {
        case .table(let t) where t.origin == .inline: "an inline table"
        case .array(let a) where !a.ofTables: "an array value"
        default: v.typeName
        }
    }

    // MARK: errors and characters

    func fail(_ message: String) -> ParseFailure { ParseFailure(offset: i, message: message) }

    func tooDeep(_ offset: Int) -> ParseFailure {
        ParseFailure(
            offset: offset, message: "nesting deeper than \(TOMLDocument.maxNesting) levels of tables and arrays; flatten the document")
    }

    /// The line of an offset (for "already defined at line N").
    func line(_ offset: Int) -> Int {
        var l = 1
        for k in 0..<min(offset, n) where b[k] == Byte.lf { l += 1 }
        return l
    }

    /// What stands at an offset, for "found ..." (quoted and escaped).
    func found(_ at: Int) -> String {
        guard at < n else { return "the end of the file" }
        let c = b[at]
        if c == Byte.lf || (c == Byte.cr && at + 1 < n && b[at + 1] == Byte.lf) { return "the end of the line" }
        if isControl(c) || c == Byte.cr { return "control character \(unicodeName(UInt32(c)))" }
        var end = at + 1
        while end < n, b[end] & 0xC0 == 0x80 { end += 1 }
        return quoted(String(decoding: b[at..<end], as: UTF8.self))
    }

    func startsTriple(_ q: UInt8) -> Bool {
        i + 2 < n && b[i] == q && b[i + 1] == q && b[i + 2] == q
    }

    /// Rejects bytes that are not UTF-8 before anything else reads them.
    func validateUTF8() throws(ParseFailure) {
        var k = 0
        while k < n {
            let c = b[k]
            var width = 0
            switch c {
            case 0x00...0x7F: width = 1
            case 0xC2...0xDF: width = 2
            case 0xE0...0xEF: width = 3
            case 0xF0...0xF4: width = 4
            default: width = 0
            }
            var ok = width > 0 && k + width <= n
            if ok { for m in 1..<max(width, 1) where b[k + m] & 0xC0 != 0x80 { ok = false } }
            if ok, width == 3 {
                let v = (UInt32(c & 0x0F) << 12) | (UInt32(b[k + 1] & 0x3F) << 6)
                ok = v >= 0x800 && !(0xD800...0xDFFF).contains(v)
            }
            if ok, width == 4 {
                let v = (UInt32(c & 0x07) << 18) | (UInt32(b[k + 1] & 0x3F) << 12)
                ok = v >= 0x10000 && v <= 0x10FFFF
            }
            guard ok else {
                let hex = String(c, radix: 16, uppercase: true)
                throw ParseFailure(
                    offset: k,
                    message: "byte 0x\(hex.count == 1 ? "0" + hex : hex) is not UTF-8 text; "
                        + "TOML is UTF-8 text (is this the right file?)")
            }
            k += width
        }
    }
}

/// A key as TOML would write it: bare when it can be.
package func quotedKey(_ k: String) -> String {
    !k.isEmpty && k.utf8.allSatisfy(isBareKey) ? k : quoted(k)
}

/// `"text"` with quotes, backslashes and control characters escaped.
package func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if u.value < 0x20 || u.value == 0x7F || (0x80..<0xA0).contains(u.value)
                || u.value == 0x2028 || u.value == 0x2029
            {
                let hex = String(u.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

func unicodeName(_ v: UInt32) -> String {
    let hex = String(v, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
}

func isBareKey(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == Byte.underscore || c == Byte.minus
}

/// Control characters TOML allows in no string or comment (tab is allowed).
func isControl(_ c: UInt8) -> Bool {
    (c < 0x20 && c != Byte.tab) || c == 0x7F
}

enum Byte {
    static let tab: UInt8 = 0x09, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D, space: UInt8 = 0x20
    static let quote: UInt8 = 0x22, hash: UInt8 = 0x23, apostrophe: UInt8 = 0x27, plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C, minus: UInt8 = 0x2D, dot: UInt8 = 0x2E, colon: UInt8 = 0x3A
    static let equals: UInt8 = 0x3D, lbracket: UInt8 = 0x5B, backslash: UInt8 = 0x5C, rbracket: UInt8 = 0x5D
    static let underscore: UInt8 = 0x5F, lbrace: UInt8 = 0x7B, rbrace: UInt8 = 0x7D
}
