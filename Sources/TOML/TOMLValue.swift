/// A TOML 1.0 value as the parser produced it. Tables and arrays are
/// classes because the parser extends them in place as headers and dotted
/// keys reach back into them; once `TOMLDocument.parse` returns, nothing
/// changes them again.
package enum TOMLValue {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case dateTime(TOMLDateTime)
    case array(TOMLArray)
    case table(TOMLTable)

    package var string: String? { if case .string(let s) = self { s } else { nil } }
    package var integer: Int64? { if case .integer(let i) = self { i } else { nil } }
    package var float: Double? { if case .float(let d) = self { d } else { nil } }
    package var boolean: Bool? { if case .boolean(let b) = self { b } else { nil } }
    package var dateTime: TOMLDateTime? { if case .dateTime(let d) = self { d } else { nil } }
    package var array: TOMLArray? { if case .array(let a) = self { a } else { nil } }
    package var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }

    /// "an integer", "a table": for messages that say what was found.
    package var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .dateTime(let d): d.typeName
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A table: keys in the order the file first names them, each with where
/// its key and its value were written (byte offsets; `TOMLDocument`
/// turns them into lines and columns).
package final class TOMLTable {
    package struct Entry {
        package let key: String
        package fileprivate(set) var value: TOMLValue
        /// Offset of the key where it is first named (for a table opened by
        /// a header, the header's segment that names it).
        package let keyOffset: Int
        /// Offset of the value: the value itself, a table's `[header]` or
        /// `{`, or (for a table only implied by deeper keys) `keyOffset`.
        package fileprivate(set) var valueOffset: Int
    }

    /// How a table came to be; decides whether a header or a dotted key
    /// may still define or extend it (TOML 1.0, "Table").
    enum Origin {
        /// Implied by a longer header (`[a.b]` implies `a`): a header may
        /// still define it, once.
        case implied
        /// Defined by a `[header]` or as an element of `[[header]]`.
        case header
        /// Created by dotted keys in the current section: more dotted keys
        /// in this section may extend it.
        case dottedPending
        /// Created by dotted keys in an earlier section: no header and no
        /// dotted key may define it again (a longer header may pass through).
        case dotted
        /// Written inline (`{ ... }`), or inside an inline table: closed.
        case inline
    }

    package private(set) var entries: [Entry] = []
    /// Keys match by code point, not by Swift's canonical equivalence:
    /// TOML does not normalize, so "\u{E9}" and "e\u{301}" are two keys.
    private var index: [ExactKey: Int] = [:]
    var origin: Origin
    /// Levels below the root (the root is 0).
    let depth: Int

    init(origin: Origin, depth: Int) {
        self.origin = origin
        self.depth = depth
    }

    /// An empty table (what a missing optional table reads as).
    package convenience init() { self.init(origin: .implied, depth: 0) }

    package var keys: [String] { entries.map(\.key) }
    package var count: Int { entries.count }
    package var isEmpty: Bool { entries.isEmpty }

    package subscript(key: String) -> TOMLValue? {
        index[ExactKey(key)].map { entries[$0].value }
    }

    package func entry(_ key: String) -> Entry? {
        index[ExactKey(key)].map { entries[$0] }
    }

    func insert(_ key: String, _ value: TOMLValue, keyOffset: Int, valueOffset: Int) {
        index[ExactKey(key)] = entries.count
        entries.append(Entry(key: key, value: value, keyOffset: keyOffset, valueOffset: valueOffset))
    }

    /// A header defining a table that was only implied points there.
    func setValueOffset(_ key: String, _ offset: Int) {
        if let i = index[ExactKey(key)] { entries[i].valueOffset = offset }
    }

    /// Marks this table and every table below it closed (an inline table,
    /// once its `}` is read).
    func close() {
        origin = .inline
        for e in entries {
            switch e.value {
            case .table(let t): t.close()
            case .array(let a): a.close()
            default: break
            }
        }
    }

    /// Turns this section's dotted-key tables into defined ones (at a new header).
    func settleDotted() {
        if origin == .dottedPending { origin = .dotted }
        for e in entries {
            if case .table(let t) = e.value, t.origin == .dottedPending { t.settleDotted() }
        }
    }
}

/// An array: a value written `[ ... ]` (static: nothing may extend it), or
/// the tables of an array of tables, one per `[[header]]`.
package final class TOMLArray {
    package private(set) var elements: [TOMLValue] = []
    /// Offset of each element.
    package private(set) var offsets: [Int] = []
    /// Made by `[[header]]`s rather than written as a value.
    package let ofTables: Bool

    init(ofTables: Bool) { self.ofTables = ofTables }

    package var count: Int { elements.count }
    package subscript(i: Int) -> TOMLValue { elements[i] }

    func append(_ value: TOMLValue, offset: Int) {
        elements.append(value)
        offsets.append(offset)
    }

    func close() {
        for e in elements { if case .table(let t) = e { t.close() } }
    }
}

/// An offset date-time, local date-time, local date or local time.
package struct TOMLDateTime: Equatable, Sendable, CustomStringConvertible {
    package struct Date: Equatable, Sendable {
        package let year: Int, month: Int, day: Int
    }
    package struct Time: Equatable, Sendable {
        package let hour: Int, minute: Int, second: Int, nanosecond: Int
    }
    package let date: Date?
    package let time: Time?
    /// Minutes east of UTC; nil for a local date-time, date or time.
    package let offsetMinutes: Int?

    package var typeName: String {
        switch (date != nil, time != nil, offsetMinutes != nil) {
        case (true, true, true): "an offset date-time"
        case (true, true, false): "a local date-time"
        case (true, false, _): "a local date"
        default: "a local time"
        }
    }

    /// RFC 3339 text, as TOML writes it.
    package var description: String {
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var out = ""
        if let d = date { out += "\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2))" }
        if let t = time {
            if date != nil { out += "T" }
            out += "\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2))"
            if t.nanosecond > 0 {
                var f = pad(t.nanosecond, 9)
                while f.hasSuffix("0") { f.removeLast() }
                out += "." + f
            }
        }
        if let o = offsetMinutes {
            out += o == 0 ? "Z" : "\(o < 0 ? "-" : "+")\(pad(abs(o) / 60, 2)):\(pad(abs(o) % 60, 2))"
        }
        return out
    }
}

/// A string hashed and compared by its UTF-8 bytes.
struct ExactKey: Hashable {
    let string: String
    init(_ string: String) { self.string = string }
    static func == (a: ExactKey, b: ExactKey) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }
    func hash(into h: inout Hasher) {
        for byte in string.utf8 { h.combine(byte) }
    }
}
