import Foundation
import Shared

/// `--json`: the machine-readable forms of `check`, `monitor` and `ready`.
/// Each object names its schema in `schema` (`docs/schema/<name>.schema.json`,
/// JSON Schema 2020-12, `urn:tilectl:schema:<name>:<version>`). Within a
/// version fields are only ever added; removing or retyping one makes a new
/// version. Keys are snake_case; times are seconds, sizes bytes.
enum JSONOutput {
    static func schema(_ name: String) -> String { "urn:tilectl:schema:\(name):1" }

    static func print<T: Encodable>(_ value: T) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        Swift.print(String(decoding: try e.encode(value), as: UTF8.self))
    }

    /// An optional written as `null` rather than left out: every key the
    /// schema lists is always there.
    struct OrNull<T: Encodable>: Encodable {
        let value: T?
        init(_ value: T?) { self.value = value }
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            if let value { try c.encode(value) } else { try c.encodeNil() }
        }
    }

    /// A tile option's value as JSON has it.
    enum Value: Encodable {
        case option(OptionValue)
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .option(.integer(let v)): try c.encode(v)
            case .option(.float(let v)): try c.encode(v)
            case .option(.string(let v)): try c.encode(v)
            case .option(.boolean(let v)): try c.encode(v)
            case .option(.strings(let v)): try c.encode(v)
            }
        }
    }

    struct Exposure: Encodable {
        let score: Double
        let level: String
        /// The checks that cost points.
        let costs: [Cost]
        struct Cost: Encodable {
            let name: String
            let weight: Int
            let exposure: Double
            let detail: String
        }
        init(_ e: ExposureReport) {
            score = (e.score * 10).rounded() / 10
            level = e.level
            costs = e.costs.map { Cost(name: $0.name, weight: $0.weight, exposure: $0.exposure, detail: $0.detail) }
        }
    }

    struct Limit: Encodable {
        let name: String
        let value: OrNull<UInt64>
        let derivation: OrNull<String>
        let reason: String

        init(_ l: ResourceLimit) {
            name = l.name
            value = OrNull(l.value)
            derivation = OrNull(l.derivation)
            reason = l.reason
        }
    }

    struct Seccomp: Encodable {
        let syscalls: Int
        let bpfInstructions: OrNull<Int>
        let rules: [Rule]
        struct Rule: Encodable {
            let syscall: String
            let condition: String
            let reason: String
        }
        init(_ policy: SeccompPolicy, _ filter: SeccompFilter?, instructions: Int?) {
            syscalls = policy.syscalls.count
            bpfInstructions = OrNull(instructions)
            rules = filter?.entries.map { Rule(syscall: $0.rule.syscall, condition: $0.compiledDescription, reason: $0.rule.reason) } ?? []
        }
    }
}
