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
