/// A descriptor a tile keeps open through its sandbox, named by what it is
/// for. Policies refer to roles, not numbers, so `tilectl check --sandbox`
/// can print them before any descriptor exists.
public struct DescriptorRole: Hashable, Sendable, Codable, CustomStringConvertible {
    /// What the descriptor is for, as `check --sandbox` prints it.
    public let name: String
    /// A role named `name`: unique among the kind's `descriptorRoles`.
    public init(_ name: String) { self.name = name }
    /// The role's name.
    public var description: String { name }

    /// Standard error, where every tile logs: kept by every tile.
    public static let stderr = DescriptorRole("stderr")
    /// The topology's log file, when it has one: kept by every tile.
    public static let logFile = DescriptorRole("log file")
    /// The write end of the pipe whose closing tells the supervisor the tile died.
    public static let deathPipe = DescriptorRole("death pipe")
}

/// A seccomp allowlist, declared as data beside the tile's code: each entry
/// a syscall, the conditions its arguments must meet, and why it is allowed.
/// Anything not listed kills the process.
public struct SeccompPolicy: Sendable {
    /// The entries, in the order `check --sandbox` prints them.
    public var rules: [SeccompRule]
    /// A policy of `rules`. A syscall the filter compiler does not know,
    /// or a condition on an argument it cannot compare, stops the tile's
    /// boot with the syscall's name (tested for every shipped kind by
    /// `tilectl check --sandbox`).
    public init(_ rules: [SeccompRule]) { self.rules = rules }

    /// The distinct syscalls the policy allows.
    public var syscalls: [String] {
        var seen = Set<String>()
        return rules.compactMap { seen.insert($0.syscall).inserted ? $0.syscall : nil }
    }

    /// Both policies' rules: how a kind adds its own to `RuntimePolicy`'s.
    public static func + (a: SeccompPolicy, b: SeccompPolicy) -> SeccompPolicy { SeccompPolicy(a.rules + b.rules) }
}

/// One allowlist entry: a syscall, optionally only with some argument
/// values, and the reason it is needed (printed by `check --sandbox`).
public struct SeccompRule: Sendable {
    /// The syscall's name as in `man 2` (`read`, `clock_nanosleep`).
    public let syscall: String
    /// All must hold (logical and). Several rules for one syscall are
    /// alternatives (logical or).
    public let conditions: [ArgumentCondition]
    /// Why the tile needs it: shown to whoever audits the policy.
    public let reason: String

    /// Allows `syscall` when every condition holds (always, with none).
    /// Several rules for one syscall allow it when any of them matches.
    public init(_ syscall: String, _ conditions: [ArgumentCondition] = [], reason: String) {
        self.syscall = syscall
        self.conditions = conditions
        self.reason = reason
    }
}

/// A test on one argument of a syscall, compiled into the filter.
public struct ArgumentCondition: Sendable, CustomStringConvertible {
    /// How the argument is compared with the value.
    public enum Comparison: Sendable {
        /// `arg == value`
        case equal
        /// `arg != value`
        case notEqual
        /// `(arg & mask) == value`
        case maskedEqual(mask: UInt64)
        /// `arg <= value`, unsigned
        case lessOrEqual
    }

    /// Which argument, from 0.
    public let index: Int
    /// How it is compared.
    public let comparison: Comparison
    /// What it is compared with.
    public let value: ArgumentValue

    /// Argument `i` must equal `v`.
    public static func arg(_ i: Int, equals v: ArgumentValue) -> ArgumentCondition {
        ArgumentCondition(index: i, comparison: .equal, value: v)
    }
    /// Argument `i` must not equal `v`.
    public static func arg(_ i: Int, notEquals v: ArgumentValue) -> ArgumentCondition {
        ArgumentCondition(index: i, comparison: .notEqual, value: v)
    }
    /// The bits of `mask` in argument `i` must equal those in `v`: for
    /// example no PROT_EXEC bit in mmap's protection.
    public static func arg(_ i: Int, masked mask: UInt64, equals v: ArgumentValue) -> ArgumentCondition {
        ArgumentCondition(index: i, comparison: .maskedEqual(mask: mask), value: v)
    }
    /// Argument `i` must be at most `v`, compared unsigned.
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

/// The value a condition compares an argument with.
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
