/// A value of a per-kind tile option, after validation.
package enum OptionValue: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    case integer(Int)
    case float(Double)
    case string(String)
    case boolean(Bool)

    package var description: String {
        switch self {
        case .integer(let v): String(v)
        case .float(let v): String(v)
        case .string(let v): "\"\(v)\""
        case .boolean(let v): String(v)
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
    }

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
