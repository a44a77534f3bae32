#if canImport(Glibc)
import Glibc
#endif
import CSeccomp

/// Turns a `SeccompPolicy` (data, with descriptor roles) into a libseccomp
/// filter with the tile's actual descriptor numbers, and loads it.
///
/// Default action: kill the process. libseccomp rejects two comparisons of
/// one argument in a rule, so "any descriptor but these" (arg0 != a, != b,
/// …) compiles into alternatives with one comparison each: every smaller
/// number that is not excluded, and everything above the largest.
public struct SeccompFilter {
    public struct CompiledRule: Equatable, Sendable {
        public let syscall: String
        /// (argument index, comparison, datum A, datum B), libseccomp style.
        public let comparisons: [Comparison]
    }

    public struct Comparison: Equatable, Sendable {
        public enum Op: Sendable { case eq, ne, gt, le, maskedEq }
        public let arg: UInt32
        public let op: Op
        public let a: UInt64
        public let b: UInt64
    }

    public let rules: [CompiledRule]

    /// Resolves roles to numbers and expands each rule into rules of at most
    /// one comparison per argument. A rule about a descriptor the tile does
    /// not have (no log file configured) can never apply and is dropped.
    public init(_ policy: SeccompPolicy, descriptors: [DescriptorRole: FileDescriptor]) throws {
        var out: [CompiledRule] = []
        for rule in policy.rules {
            var perArg: [Int: [ArgumentCondition]] = [:]
            var impossible = false
            for c in rule.conditions {
                if case .descriptor(let role) = c.value, descriptors[role] == nil {
                    // Equal to a missing descriptor: never. Not equal: always.
                    if case .equal = c.comparison { impossible = true }
                    continue
                }
                perArg[c.index, default: []].append(c)
            }
            if impossible { continue }
            // Alternatives per argument; the rule is their product.
            var product: [[Comparison]] = [[]]
            for (arg, conds) in perArg.sorted(by: { $0.key < $1.key }) {
                let alternatives = try Self.alternatives(arg: UInt32(arg), conds, descriptors, syscall: rule.syscall)
                product = product.flatMap { prefix in alternatives.map { prefix + $0 } }
            }
            for comps in product { out.append(CompiledRule(syscall: rule.syscall, comparisons: comps)) }
        }
        rules = out
    }

    static func value(_ v: ArgumentValue, _ d: [DescriptorRole: FileDescriptor]) -> UInt64 {
        switch v {
        case .constant(let x, _): x
        case .descriptor(let role): UInt64(d[role]!.rawValue)
        }
    }

    static func alternatives(arg: UInt32, _ conds: [ArgumentCondition], _ d: [DescriptorRole: FileDescriptor],
                             syscall: String) throws -> [[Comparison]] {
        if conds.count == 1 {
            let c = conds[0]
            let v = value(c.value, d)
            switch c.comparison {
            case .equal: return [[Comparison(arg: arg, op: .eq, a: v, b: 0)]]
            case .notEqual: return [[Comparison(arg: arg, op: .ne, a: v, b: 0)]]
            case .lessOrEqual: return [[Comparison(arg: arg, op: .le, a: v, b: 0)]]
            case .maskedEqual(let mask): return [[Comparison(arg: arg, op: .maskedEq, a: mask, b: v)]]
            }
        }
        guard conds.allSatisfy({ if case .notEqual = $0.comparison { true } else { false } }) else {
            throw SandboxError(step: "seccomp", message: "\(syscall): several conditions on arg\(arg) must all be != (a policy bug)")
        }
        let excluded = Set(conds.map { value($0.value, d) })
        let top = excluded.max()!
        guard top < 4096 else {
            throw SandboxError(step: "seccomp", message: "\(syscall): cannot exclude value \(top) of arg\(arg) (a policy bug)")
        }
        var alts: [[Comparison]] = (0..<top).filter { !excluded.contains($0) }.map { [Comparison(arg: arg, op: .eq, a: $0, b: 0)] }
        alts.append([Comparison(arg: arg, op: .gt, a: top, b: 0)])
        return alts
    }

    /// Builds the libseccomp context; the caller loads or exports it, then
    /// releases it.
    func context() throws -> scmp_filter_ctx {
        guard let ctx = seccomp_init(UInt32(SCMP_ACT_KILL_PROCESS)) else {
            throw SandboxError(step: "seccomp", message: "seccomp_init failed")
        }
        for rule in rules {
            let nr = seccomp_syscall_resolve_name(rule.syscall)
            guard nr != __NR_SCMP_ERROR else {
                seccomp_release(ctx)
                throw SandboxError(step: "seccomp", message: "unknown syscall \(rule.syscall) in the policy")
            }
            let cmps = rule.comparisons.map { c -> scmp_arg_cmp in
                let op: scmp_compare
                switch c.op {
                case .eq: op = SCMP_CMP_EQ
                case .ne: op = SCMP_CMP_NE
                case .gt: op = SCMP_CMP_GT
                case .le: op = SCMP_CMP_LE
                case .maskedEq: op = SCMP_CMP_MASKED_EQ
                }
                return scmp_arg_cmp(arg: c.arg, op: op, datum_a: c.a, datum_b: c.b)
            }
            let rc = cmps.withUnsafeBufferPointer {
                seccomp_rule_add_array(ctx, UInt32(SCMP_ACT_ALLOW), nr, UInt32($0.count), $0.baseAddress)
            }
            guard rc == 0 else {
                seccomp_release(ctx)
                throw SandboxError(step: "seccomp", message: "seccomp_rule_add(\(rule.syscall)) failed: \(Errno.describe(-rc))")
            }
        }
        return ctx
    }

    /// Installs the filter on this process. Irreversible.
    public func load() throws {
        let ctx = try context()
        defer { seccomp_release(ctx) }
        let rc = seccomp_load(ctx)
        guard rc == 0 else { throw SandboxError(step: "seccomp", message: "seccomp_load failed: \(Errno.describe(-rc))") }
    }

    /// BPF instructions of the compiled filter (exported, not loaded).
    public func instructionCount() throws -> Int {
        let ctx = try context()
        defer { seccomp_release(ctx) }
        let (r, w) = try FileDescriptor.pipe()
        defer { r.close() }
        let rc = seccomp_export_bpf(ctx, w.rawValue)
        w.close()
        guard rc == 0 else { throw SandboxError(step: "seccomp", message: "seccomp_export_bpf failed: \(Errno.describe(-rc))") }
        return try r.readToEnd(limit: 1 << 20, what: "bpf").count / 8  // struct sock_filter is 8 bytes
    }
}

/// A sandbox step that failed. The tile never runs half-sandboxed: this is
/// fatal.
public struct SandboxError: Error, CustomStringConvertible {
    public let step: String
    public let message: String
    public init(step: String, message: String) {
        self.step = step
        self.message = message
    }
    public var description: String { "sandbox step \(step): \(message)" }
}
