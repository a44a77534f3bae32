/// A value of a per-kind tile option, after validation.
public enum OptionValue: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    case integer(Int)
    case float(Double)
    case string(String)
    case boolean(Bool)

    public var description: String {
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
    public enum ValueType: Sendable {
        case integer(ClosedRange<Int>)
        /// A number; integers are accepted and widened.
        case number(ClosedRange<Double>)
        case boolean
        case choice([String])
        /// A dotted-quad IPv4 address.
        case ipv4Address
        /// Any string (the loader checks its form where one matters).
        case text
        /// A list of declared link names.
        case linkNames
    }

    public let key: String
    public let type: ValueType
    public let defaultValue: OptionValue
    public let help: String

    public init(_ key: String, _ type: ValueType, default defaultValue: OptionValue, help: String) {
        self.key = key
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
    }

    /// What a user should write, for error messages: `an integer from 1 to 65535`.
    public var expectation: String {
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
    public var typeDescription: String {
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
public func parseIPv4(_ s: String) -> [UInt8]? {
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
