/// A descriptor a tile keeps open through its sandbox, named by what it is
/// for. Policies refer to roles, not numbers, so `tilectl check --sandbox`
/// can print them before any descriptor exists.
public struct DescriptorRole: Hashable, Sendable, Codable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    public static let stderr = DescriptorRole("stderr")
    public static let logFile = DescriptorRole("log file")
    /// The write end of the pipe whose closing tells the supervisor the tile died.
    public static let deathPipe = DescriptorRole("death pipe")
}

/// A seccomp allowlist, declared as data beside the tile's code: each entry
/// a syscall, the conditions its arguments must meet, and why it is allowed.
/// Anything not listed kills the process.
public struct SeccompPolicy: Sendable {
    public var rules: [SeccompRule]
    public init(_ rules: [SeccompRule]) { self.rules = rules }

    /// The distinct syscalls the policy allows.
    public var syscalls: [String] {
        var seen = Set<String>()
        return rules.compactMap { seen.insert($0.syscall).inserted ? $0.syscall : nil }
    }

    public static func + (a: SeccompPolicy, b: SeccompPolicy) -> SeccompPolicy { SeccompPolicy(a.rules + b.rules) }
}

public struct SeccompRule: Sendable {
    public let syscall: String
    /// All must hold (logical and). Several rules for one syscall are
    /// alternatives (logical or).
    public let conditions: [ArgumentCondition]
    public let reason: String

    public init(_ syscall: String, _ conditions: [ArgumentCondition] = [], reason: String) {
        self.syscall = syscall
        self.conditions = conditions
        self.reason = reason
    }
}

public struct ArgumentCondition: Sendable, CustomStringConvertible {
    public enum Comparison: Sendable {
        case equal, notEqual
        /// `(arg & mask) == value`
        case maskedEqual(mask: UInt64)
        case lessOrEqual
    }

    public let index: Int
    public let comparison: Comparison
    public let value: ArgumentValue

    public static func arg(_ i: Int, equals v: ArgumentValue) -> ArgumentCondition {
        ArgumentCondition(index: i, comparison: .equal, value: v)
    }
    public static func arg(_ i: Int, notEquals v: ArgumentValue) -> ArgumentCondition {
        ArgumentCondition(index: i, comparison: .notEqual, value: v)
    }
    /// The bits of `mask` in argument `i` must equal those in `v`: for
    /// example no PROT_EXEC bit in mmap's protection.
    public static func arg(_ i: Int, masked mask: UInt64, equals v: ArgumentValue) -> ArgumentCondition {
        ArgumentCondition(index: i, comparison: .maskedEqual(mask: mask), value: v)
    }
    public static func arg(_ i: Int, atMost v: ArgumentValue) -> ArgumentCondition {
        ArgumentCondition(index: i, comparison: .lessOrEqual, value: v)
    }

    public var description: String {
        switch comparison {
        case .equal: "arg\(index) == \(value)"
        case .notEqual: "arg\(index) != \(value)"
        case .maskedEqual(let mask): "arg\(index) & 0x\(String(mask, radix: 16)) == \(value)"
        case .lessOrEqual: "arg\(index) <= \(value)"
        }
    }
}

public enum ArgumentValue: Sendable, CustomStringConvertible {
    /// A number, with the name a reader knows it by (`SOCK_CLOEXEC|SOCK_NONBLOCK`).
    case constant(UInt64, String)
    /// The number of the descriptor with that role, known once the tile has
    /// opened it.
    case descriptor(DescriptorRole)

    public var description: String {
        switch self {
        case .constant(let v, let name): name.isEmpty ? String(v) : name
        case .descriptor(let role): "<\(role)>"
        }
    }
}
