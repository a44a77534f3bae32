/// Values: strings (four kinds), numbers, booleans, date-times, arrays and
/// inline tables, as TOML 1.0 writes them.
extension TOMLParser {
    mutating func value(depth: Int) throws(ParseFailure) -> TOMLValue {
        guard depth < TOMLDocument.maxNesting else { throw tooDeep(i) }
        guard i < n else { throw fail("expected a value after \"=\", found the end of the file") }
        switch b[i] {
        case Byte.quote: return .string(startsTriple(Byte.quote) ? try multilineString(basic: true) : try basicString())
        case Byte.apostrophe: return .string(startsTriple(Byte.apostrophe) ? try multilineString(basic: false) : try literalString())
        case Byte.lbracket: return try array(depth: depth)
        case Byte.lbrace: return try inlineTable(depth: depth)
        case 0x30...0x39, Byte.plus, Byte.minus: return try numberOrDate()
        case 0x41...0x5A, 0x61...0x7A: return try word()
        default:
            throw fail(
                "expected a value, found \(found(i)); a value is a \"string\", a number, true, false, a date, [an array] or {an inline table}"
            )
        }
    }

    // MARK: words and numbers

    /// `true`, `false`, `inf`, `nan`, or text someone forgot to quote.
    mutating func word() throws(ParseFailure) -> TOMLValue {
        let start = i
        while i < n, isBareKey(b[i]) || b[i] == Byte.dot { i += 1 }
        let w = String(decoding: b[start..<i], as: UTF8.self)
        switch w {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf": return .float(.infinity)
        case "nan": return .float(.nan)
        default:
            let fix =
                w.lowercased() == "true" || w.lowercased() == "false"
                ? "booleans are lowercase: \(w.lowercased())"
                : "strings are quoted: \(quoted(w))"
            throw ParseFailure(offset: start, message: "\(quoted(w)) is not a value; \(fix)")
        }
    }

    static func isNumberChar(_ c: UInt8) -> Bool {
        isBareKey(c) || c == Byte.plus || c == Byte.dot || c == Byte.colon
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// A number or a date-time: the run of characters they can hold, then
    /// the grammar of whichever it looks like.
    mutating func numberOrDate() throws(ParseFailure) -> TOMLValue {
        let start = i
        while i < n, Self.isNumberChar(b[i]) { i += 1 }
        // `1979-05-27 07:32:00`: a space may separate a date from its time.
        if i - start == 10, b[start + 4] == Byte.minus, i + 3 < n, b[i] == Byte.space,
            Self.isDigit(b[i + 1]), Self.isDigit(b[i + 2]), b[i + 3] == Byte.colon
        {
            i += 1
            while i < n, Self.isNumberChar(b[i]) { i += 1 }
        }
        let token = b[start..<i]
        // Only YYYY- or HH: starts a date or a time: 0.6E-8_236 is a float.
        let looksLikeDate =
            token.count >= 10 && token[start..<start + 4].allSatisfy(Self.isDigit)
            && token[start + 4] == Byte.minus
        let looksLikeTime =
            token.count >= 8 && token[start..<start + 2].allSatisfy(Self.isDigit)
            && token[start + 2] == Byte.colon
        if looksLikeDate || looksLikeTime { return .dateTime(try dateTime(token)) }
        return try number(token)
    }

    /// Digits of one radix with single underscores between them; false
    /// when empty or an underscore is misplaced.
    static func digitRun(_ t: ArraySlice<UInt8>, _ k: inout Int, _ isDigit: (UInt8) -> Bool) -> Bool {
        let start = k
        var afterUnderscore = true
        while k < t.endIndex, isDigit(t[k]) || t[k] == Byte.underscore {
            if t[k] == Byte.underscore && afterUnderscore { return false }
            afterUnderscore = t[k] == Byte.underscore
            k += 1
        }
        return k > start && !afterUnderscore
    }

    func number(_ t: ArraySlice<UInt8>) throws(ParseFailure) -> TOMLValue {
        let text = String(decoding: t, as: UTF8.self)
        func bad(_ why: String) -> ParseFailure {
            ParseFailure(offset: t.startIndex, message: "\(quoted(text)) is not a number: \(why)")
        }
        let underscores = "an underscore must stand between two digits (write 1_000)"
        var k = t.startIndex
        let signed = t[k] == Byte.plus || t[k] == Byte.minus
        let negative = t[k] == Byte.minus
        if signed { k += 1 }
        let body = String(decoding: t[k...], as: UTF8.self)
        if body == "inf" { return .float(negative ? -.infinity : .infinity) }
        if body == "nan" { return .float(negative ? -.nan : .nan) }

        if t.endIndex - k >= 2, t[k] == 0x30, let radix = [0x78: 16, 0x6F: 8, 0x62: 2][t[k + 1]] {
            guard !signed else { throw bad("a hexadecimal, octal or binary integer takes no sign") }
            k += 2
            let digitValue: (UInt8) -> Int? = { c in
                switch c {
                case 0x30...0x39: Int(c - 0x30)
                case 0x61...0x66: Int(c - 0x61 + 10)
                case 0x41...0x46: Int(c - 0x41 + 10)
                default: nil
                }
            }
            let isDigit: (UInt8) -> Bool = { c in (digitValue(c) ?? radix) < radix }
            let digitsStart = k
            guard k < t.endIndex else { throw bad("expected base-\(radix) digits after \(quoted(String(decoding: t, as: UTF8.self)))") }
            guard Self.digitRun(t, &k, isDigit), k == t.endIndex else {
                throw bad(
                    k < t.endIndex && t[k] != Byte.underscore
                        ? "\(quoted(String(UnicodeScalar(t[k])))) is not a base-\(radix) digit"
                        : underscores)
            }
            var v: Int64 = 0
            for c in t[digitsStart..<k] where c != Byte.underscore {
                let (m, o1) = v.multipliedReportingOverflow(by: Int64(radix))
                let (s, o2) = m.addingReportingOverflow(Int64(digitValue(c)!))
                guard !o1 && !o2 else { throw bad("it does not fit a 64-bit signed integer") }
                v = s
            }
            return .integer(v)
        }

        let intStart = k
        guard k < t.endIndex, Self.isDigit(t[k]) else { throw bad("expected a digit after the sign") }
        guard Self.digitRun(t, &k, Self.isDigit) else { throw bad(underscores) }
        if t[intStart] == 0x30 && k - intStart > 1 { throw bad("leading zeros are not allowed (write 7, not 07)") }
        var isFloat = false
        if k < t.endIndex, t[k] == Byte.dot {
            isFloat = true
            k += 1
            guard k < t.endIndex, Self.isDigit(t[k]) else { throw bad("a decimal point needs digits on both sides (write 1.0)") }
            guard Self.digitRun(t, &k, Self.isDigit) else { throw bad(underscores) }
        }
        if k < t.endIndex, t[k] == 0x65 || t[k] == 0x45 {
            isFloat = true
            k += 1
            if k < t.endIndex, t[k] == Byte.plus || t[k] == Byte.minus { k += 1 }
            guard k < t.endIndex, Self.isDigit(t[k]) else { throw bad("an exponent needs digits (write 1e6)") }
            guard Self.digitRun(t, &k, Self.isDigit) else { throw bad(underscores) }
        }
        guard k == t.endIndex else {
            throw bad(
                "unexpected \(quoted(String(decoding: t[k..<min(k + 1, t.endIndex)], as: UTF8.self))); "
                    + "write integers like 42, -17, 1_000, 0xff and floats like 3.14, 1e6")
        }
        let digits = t.filter { $0 != Byte.underscore }
        if isFloat {
            guard let d = Double(String(decoding: digits, as: UTF8.self)) else { throw bad("not a float") }
            return .float(d)
        }
        var v: Int64 = 0
        for c in digits[(signed ? 1 : 0)...] {
            // Accumulated negative, so that -9223372036854775808 fits.
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(c - 0x30))
            guard !o1 && !o2 else { throw bad("it does not fit a 64-bit signed integer") }
            v = s
        }
        if !negative {
            guard v != .min else { throw bad("it does not fit a 64-bit signed integer") }
            v = -v
        }
        return .integer(v)
    }

    /// RFC 3339 as TOML takes it: a date, a time, or both, with an offset
    /// only when there is a date.
    func dateTime(_ t: ArraySlice<UInt8>) throws(ParseFailure) -> TOMLDateTime {
        let text = String(decoding: t, as: UTF8.self)
        func bad(_ why: String) -> ParseFailure {
            ParseFailure(
                offset: t.startIndex,
                message: "\(quoted(text)) is not a valid date or time: \(why); "
                    + "write 1979-05-27, 07:32:00, 1979-05-27T07:32:00 or 1979-05-27T07:32:00Z")
        }
        var k = t.startIndex
        func digits(_ count: Int) -> Int? {
            guard k + count <= t.endIndex else { return nil }
            var v = 0
            for c in t[k..<k + count] {
                guard Self.isDigit(c) else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            k += count
            return v
        }
        func take(_ c: UInt8) -> Bool {
            guard k < t.endIndex, t[k] == c else { return false }
            k += 1
            return true
        }
        var date: TOMLDateTime.Date?
        if t.count >= 5 && t[k + 4] == Byte.minus {
            guard let y = digits(4), take(Byte.minus), let m = digits(2), take(Byte.minus), let d = digits(2) else {
                throw bad("a date is YYYY-MM-DD")
            }
            guard (1...12).contains(m) else { throw bad("month \(m) is not 01 to 12") }
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
            guard (1...days).contains(d) else { throw bad("day \(d) is not in month \(m) of \(y)") }
            date = TOMLDateTime.Date(year: y, month: m, day: d)
            if k == t.endIndex { return TOMLDateTime(date: date, time: nil, offsetMinutes: nil) }
            guard take(0x54) || take(0x74) || take(Byte.space) else { throw bad("a date and its time are joined by T") }
        }
        guard let h = digits(2), take(Byte.colon), let mi = digits(2), take(Byte.colon), let s = digits(2) else {
            throw bad("a time is HH:MM:SS")
        }
        guard h <= 23, mi <= 59, s <= 59 else {
            throw bad("\(String(decoding: t[k - 8..<k], as: UTF8.self)) is not a time of day (00:00:00 to 23:59:59)")
        }
        var nanos = 0
        if take(Byte.dot) {
            let fracStart = k
            while k < t.endIndex, Self.isDigit(t[k]) { k += 1 }
            guard k > fracStart else { throw bad("a fraction of a second needs digits") }
            // Nanoseconds: the first nine digits; any beyond are dropped.
            for (j, c) in t[fracStart..<min(k, fracStart + 9)].enumerated() {
                nanos += Int(c - 0x30) * [100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1000, 100, 10, 1][j]
            }
        }
        let time = TOMLDateTime.Time(hour: h, minute: mi, second: s, nanosecond: nanos)
        var offset: Int?
        if k < t.endIndex {
            guard date != nil else { throw bad("a time of day alone takes no offset") }
            if take(0x5A) || take(0x7A) {
                offset = 0
            } else {
                let sign = t[k] == Byte.minus ? -1 : 1
                guard take(Byte.plus) || take(Byte.minus), let oh = digits(2), take(Byte.colon), let om = digits(2) else {
                    throw bad("an offset is Z, +HH:MM or -HH:MM")
                }
                guard oh <= 23, om <= 59 else { throw bad("offset \(oh):\(om) is out of range") }
                offset = sign * (oh * 60 + om)
            }
        }
        guard k == t.endIndex else { throw bad("unexpected text after it") }
        return TOMLDateTime(date: date, time: time, offsetMinutes: offset)
    }

    // MARK: strings

    /// `"..."`, with escapes, on one line.
    mutating func basicString() throws(ParseFailure) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < n, b[i] != Byte.lf, b[i] != Byte.cr else {
                throw ParseFailure(
                    offset: start,
                    message: "this string is not closed on its line; end it with \", "
                        + "or write a multi-line string between \"\"\" and \"\"\"")
            }
            switch b[i] {
            case Byte.quote:
                i += 1
                return String(decoding: out, as: UTF8.self)
            case Byte.backslash:
                try escape(&out)
            case let c where isControl(c):
                throw fail("\(found(i)) in a string; write it as an escape such as \\u\(unicodeName(UInt32(c)).dropFirst(2))")
            case let c:
                out.append(c)
                i += 1
            }
        }
    }

    /// `'...'`: taken as written, on one line.
    mutating func literalString() throws(ParseFailure) -> String {
        let start = i
        i += 1
        let contentStart = i
        while true {
            guard i < n, b[i] != Byte.lf, b[i] != Byte.cr else {
                throw ParseFailure(
                    offset: start,
                    message: "this string is not closed on its line; end it with ', "
                        + "or write a multi-line string between ''' and '''")
            }
            if b[i] == Byte.apostrophe {
                i += 1
                return String(decoding: b[contentStart..<i - 1], as: UTF8.self)
            }
            if isControl(b[i]) {
                throw fail("\(found(i)) in a literal string, which has no escapes; use a \"basic\" string and \\u escapes")
            }
            i += 1
        }
    }

    /// `"""..."""` (basic: escapes and line-ending backslashes) or
    /// `'''...'''` (literal). A newline right after the opening quotes is
    /// not part of the string; newlines are given as \n.
    mutating func multilineString(basic: Bool) throws(ParseFailure) -> String {
        let start = i
        let q = basic ? Byte.quote : Byte.apostrophe
        i += 3
        if i < n, b[i] == Byte.lf { i += 1 } else if i + 1 < n, b[i] == Byte.cr, b[i + 1] == Byte.lf { i += 2 }
        var out: [UInt8] = []
        while true {
            guard i < n else {
                let quotes = basic ? "\"\"\"" : "'''"
                throw ParseFailure(offset: start, message: "this multi-line string is not closed; end it with \(quotes)")
            }
            let c = b[i]
            if c == q {
                var run = 0
                while i + run < n, b[i + run] == q { run += 1 }
                if run >= 3 {
                    // Up to two quotes may end the content right before the closing three.
                    guard run <= 5 else {
                        throw ParseFailure(offset: i + 5, message: "too many quotes: a multi-line string ends at the third")
                    }
                    out.append(contentsOf: repeatElement(q, count: run - 3))
                    i += run
                    return String(decoding: out, as: UTF8.self)
                }
                out.append(contentsOf: repeatElement(q, count: run))
                i += run
            } else if basic && c == Byte.backslash {
                var k = i + 1
                while k < n, b[k] == Byte.space || b[k] == Byte.tab { k += 1 }
                if k < n, b[k] == Byte.lf || (b[k] == Byte.cr && k + 1 < n && b[k + 1] == Byte.lf) {
                    // A line-ending backslash: drop it, the newline and the blanks that follow.
                    i = k
                    while i < n {
                        if b[i] == Byte.space || b[i] == Byte.tab || b[i] == Byte.lf {
                            i += 1
                        } else if b[i] == Byte.cr, i + 1 < n, b[i + 1] == Byte.lf {
                            i += 2
                        } else {
                            break
                        }
                    }
                } else {
                    try escape(&out)
                }
            } else if c == Byte.lf {
                out.append(Byte.lf)
                i += 1
            } else if c == Byte.cr, i + 1 < n, b[i + 1] == Byte.lf {
                out.append(Byte.lf)
                i += 2
            } else if isControl(c) || c == Byte.cr {
                throw fail("\(found(i)) in a string; write it as an escape such as \\u\(unicodeName(UInt32(c)).dropFirst(2))")
            } else {
                out.append(c)
                i += 1
            }
        }
    }

    /// One escape sequence in a basic string, appended as UTF-8.
    mutating func escape(_ out: inout [UInt8]) throws(ParseFailure) {
        guard i + 1 < n else { throw fail("a backslash ends the file; close the string") }
        let e = b[i + 1]
        let simple: [UInt8: UInt8] = [
            0x62: 0x08, 0x74: 0x09, 0x6E: 0x0A, 0x66: 0x0C, 0x72: 0x0D, Byte.quote: Byte.quote,
            Byte.backslash: Byte.backslash,
        ]
        if let c = simple[e] {
            out.append(c)
            i += 2
            return
        }
        guard e == 0x75 || e == 0x55 else {
            throw fail(
                "\(found(i + 1)) after a backslash is not an escape; use \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX or \\UXXXXXXXX "
                    + "(a backslash itself is \\\\)")
        }
        let count = e == 0x75 ? 4 : 8
        var v: UInt32 = 0
        for k in 0..<count {
            let at = i + 2 + k
            guard at < n, let d = hexValue(b[at]) else {
                throw fail("\\\(e == 0x75 ? "u" : "U") needs \(count) hexadecimal digits")
            }
            v = v << 4 | UInt32(d)
        }
        guard let scalar = Unicode.Scalar(v) else {
            throw fail(
                "\\\(e == 0x75 ? "u" : "U") escape \(unicodeName(v)) is not a Unicode scalar value (surrogates and values past U+10FFFF are not)"
            )
        }
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
        i += 2 + count
    }

    func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    // MARK: arrays and inline tables

    /// `[ v, v, ... ]`: may span lines and hold comments; a trailing comma is fine.
    mutating func array(depth: Int) throws(ParseFailure) -> TOMLValue {
        let start = i
        i += 1
        let a = TOMLArray(ofTables: false)
        while true {
            try skipBlank()
            guard i < n else { throw ParseFailure(offset: start, message: "this array is not closed; end it with ]") }
            if b[i] == Byte.rbracket {
                i += 1
                return .array(a)
            }
            let at = i
            a.append(try value(depth: depth + 1), offset: at)
            try skipBlank()
            guard i < n else { throw ParseFailure(offset: start, message: "this array is not closed; end it with ]") }
            if b[i] == Byte.comma {
                i += 1
            } else if b[i] != Byte.rbracket {
                throw fail("expected \",\" or \"]\" after an array element, found \(found(i))")
            }
        }
    }

    /// `{ k = v, ... }`: on one line, no trailing comma, complete once closed.
    mutating func inlineTable(depth: Int) throws(ParseFailure) -> TOMLValue {
        let start = i
        i += 1
        let t = TOMLTable(origin: .inline, depth: depth)
        let oneLine = "an inline table is written on one line; close it with } before the line ends, or use a [header] table"
        skipSpace()
        if i < n, b[i] == Byte.rbrace {
            i += 1
            return .table(t)
        }
        while true {
            guard i < n else { throw ParseFailure(offset: start, message: "this inline table is not closed; end it with }") }
            guard b[i] != Byte.lf, b[i] != Byte.cr else { throw fail(oneLine) }
            try keyValue(into: t)
            skipSpace()
            guard i < n else { throw ParseFailure(offset: start, message: "this inline table is not closed; end it with }") }
            switch b[i] {
            case Byte.comma:
                i += 1
                skipSpace()
                if i < n, b[i] == Byte.rbrace { throw fail("a comma before } is not allowed in an inline table; remove it") }
            case Byte.rbrace:
                i += 1
                t.close()
                return .table(t)
            case Byte.lf, Byte.cr:
                throw fail(oneLine)
            default:
                throw fail("expected \",\" or \"}\" in the inline table, found \(found(i))")
            }
        }
    }
}
