/// A value of a per-kind tile option, after validation.
package enum OptionValue: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    case integer(Int)
    case float(Double)
    case string(String)
    case boolean(Bool)
    /// A list of strings (`.hostNames`).
    case strings([String])

    package var description: String {
        switch self {
        case .integer(let v): String(v)
        case .float(let v): String(v)
        case .string(let v): "\"\(v)\""
        case .boolean(let v): String(v)
        case .strings(let v): "[" + v.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }
}

/// One option a tile kind accepts in its `[tiles.<kind>]` table, declared as
/// data beside the tile's code: the loader validates against it and `check`
/// and the README's reference print it.
public struct TileOption: Sendable {
    /// The values an option accepts.
    public enum ValueType: Sendable {
        /// An integer in the range.
        case integer(ClosedRange<Int>)
        /// A number; integers are accepted and widened.
        case number(ClosedRange<Double>)
        /// `true` or `false`.
        case boolean
        /// One of the strings listed.
        case choice([String])
        /// A dotted-quad IPv4 address.
        case ipv4Address
        /// Any string (the loader checks its form where one matters).
        case text
        /// A list of declared link names.
        case linkNames
        /// A list of at most `TileOption.maxHostNames` DNS host names
        /// (`isHostName`), each listed once.
        case hostNames
    }

    /// The most names a `.hostNames` option lists: each is compared with
    /// every request it guards.
    public static let maxHostNames = 32

    package let key: String
    package let type: ValueType
    package let defaultValue: OptionValue
    package let help: String

    package init(_ key: String, _ type: ValueType, default defaultValue: OptionValue, help: String) {
        self.key = key
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
    }

    /// What a user should write, for error messages: `an integer from 1 to 65535`.
    package var expectation: String {
        switch type {
        case .integer(let r): "an integer from \(r.lowerBound) to \(r.upperBound)"
        case .number(let r): "a number from \(r.lowerBound) to \(r.upperBound)"
        case .boolean: "true or false"
        case .choice(let c): "one of " + c.map { "\"\($0)\"" }.joined(separator: ", ")
        case .ipv4Address: "an IPv4 address such as \"127.0.0.1\""
        case .text: "a string"
        case .linkNames: "an array of link names"
        case .hostNames: "an array of at most \(Self.maxHostNames) host names, such as [\"gui.example\"]"
        }
    }

    /// The type, as the reference prints it.
    package var typeDescription: String {
        switch type {
        case .integer(let r): "integer, \(r.lowerBound) to \(r.upperBound)"
        case .number(let r): "number, \(r.lowerBound) to \(r.upperBound)"
        case .boolean: "boolean"
        case .choice(let c): c.map { "`\"\($0)\"`" }.joined(separator: ", ")
        case .ipv4Address: "IPv4 address"
        case .text: "string"
        case .linkNames: "array of link names"
        case .hostNames: "array of host names"
        }
    }
}

/// Parses a dotted-quad IPv4 address into network-order bytes.
package func parseIPv4(_ s: String) -> [UInt8]? {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var out: [UInt8] = []
    for p in parts {
        guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt8(p) else { return nil }
        if p.count > 1 && p.first == "0" { return nil }  // no octal-looking octets
        out.append(v)
    }
    return out
}

/// Whether `s` is a DNS host name (RFC 1123 §2.1): labels of 1 to 63
/// letters, digits and hyphens, neither starting nor ending with a hyphen,
/// joined by dots, 253 characters at most; the last label not all digits
/// (that reads as an IPv4 address, RFC 1123 §2.1 and WHATWG URL's host
/// parser). No trailing dot.
package func isHostName(_ s: String) -> Bool {
    let bytes = Array(s.utf8)
    guard !bytes.isEmpty, bytes.count <= 253 else { return false }
    var labelStart = 0
    var lastAllDigits = false
    for i in 0...bytes.count {
        guard i == bytes.count || bytes[i] == UInt8(ascii: ".") else { continue }
        let label = bytes[labelStart..<i]
        guard !label.isEmpty, label.count <= 63, label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else {
            return false
        }
        var allDigits = true
        for c in label {
            let digit = c >= 0x30 && c <= 0x39
            let letter = (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
            guard digit || letter || c == UInt8(ascii: "-") else { return false }
            if !digit { allDigits = false }
        }
        lastAllDigits = allDigits
        labelStart = i + 1
    }
    return !lastAllDigits
}

/// A tile kind's option as a typed key: declared once, as a static of the
/// kind, and read as `tile[Self.port]`. A misspelt key is a compile error,
/// and the Swift type cannot disagree with the declared one (each
/// initializer takes only the value types that read as `Value`).
public struct OptionKey<Value: Sendable>: Sendable {
    /// What the loader validates against, `check` and the reference print.
    public let declaration: TileOption
    let read: @Sendable (OptionValue) -> Value?

    init(_ declaration: TileOption, _ read: @escaping @Sendable (OptionValue) -> Value?) {
        self.declaration = declaration
        self.read = read
    }

    /// The option's key in `[tiles.<kind>]`.
    public var key: String { declaration.key }
}

extension OptionKey where Value == Int {
    /// An integer option in `range`, `d` when absent. A value out of range
    /// or of another type is a topology-file error with its line and column.
    public init(_ key: String, _ range: ClosedRange<Int>, default d: Int, help: String) {
        self.init(TileOption(key, .integer(range), default: .integer(d), help: help)) {
            if case .integer(let v) = $0 { v } else { nil }
        }
    }
}

extension OptionKey where Value == Double {
    /// A number; an integer in the file is accepted and widened.
    public init(_ key: String, _ range: ClosedRange<Double>, default d: Double, help: String) {
        self.init(TileOption(key, .number(range), default: .float(d), help: help)) {
            switch $0 {
            case .float(let v): v
            case .integer(let v): Double(v)
            default: nil
            }
        }
    }
}

extension OptionKey where Value == Bool {
    /// A boolean option, `d` when absent.
    public init(_ key: String, default d: Bool, help: String) {
        self.init(TileOption(key, .boolean, default: .boolean(d), help: help)) {
            if case .boolean(let v) = $0 { v } else { nil }
        }
    }
}

extension OptionKey where Value == String {
    /// A string of the form `type` checks: `.ipv4Address`, `.choice`, `.text`.
    public init(_ key: String, _ type: TileOption.ValueType, default d: String, help: String) {
        switch type {
        case .ipv4Address, .choice, .text: break
        default: preconditionFailure("option \(key): \(type) does not read as a string")
        }
        self.init(TileOption(key, type, default: .string(d), help: help)) {
            if case .string(let v) = $0 { v } else { nil }
        }
    }
}

extension OptionKey where Value == [String] {
    /// A list of host names (`.hostNames`), `d` when absent; each one a
    /// DNS name, listed once, at most `TileOption.maxHostNames` of them.
    public init(hostNames key: String, default d: [String] = [], help: String) {
        self.init(TileOption(key, .hostNames, default: .strings(d), help: help)) {
            if case .strings(let v) = $0 { v } else { nil }
        }
    }
}

extension TileSpec {
    /// The value of a declared option. The loader validated every option
    /// against its declaration before this value existed, so a missing or
    /// mistyped one is a programming error (an option read by a kind that
    /// did not declare it).
    public subscript<V>(_ option: OptionKey<V>) -> V {
        guard let raw = options[option.key], let v = option.read(raw) else {
            preconditionFailure("\(name): option \(option.key) is not declared by kind \(kind)")
        }
        return v
    }
}
