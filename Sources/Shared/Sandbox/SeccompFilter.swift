#if canImport(Glibc)
import Glibc
#endif
import CSeccomp

/// Turns a `SeccompPolicy` (data, with descriptor roles) into a libseccomp
/// filter with the tile's actual descriptor numbers, and loads it.
///
/// Default action and bad-architecture action: kill the process (not only
/// the thread). Every condition is compiled the way the kernel reads its
/// argument (`SyscallSignatures`): a 32-bit argument is compared on its low
/// 32 bits, so the upper half of the register, which the kernel ignores, can
/// neither satisfy nor dodge a rule. libseccomp takes one comparison per
/// argument per rule, and its only 32-bit-safe comparison is a masked
/// equality, so a set of values ("any descriptor but these") compiles into
/// alternatives that each match one aligned block of values:
/// `arg & ~(2^k - 1) == base`, with the upper 32 bits masked off.
package struct SeccompFilter {
    package struct CompiledRule: Equatable, Sendable {
        package let syscall: String
        /// All must hold; at most one per argument.
        package let comparisons: [Comparison]
    }

    package struct Comparison: Equatable, Sendable {
        package enum Op: Sendable { case eq, ne, le, maskedEq }
        package let arg: UInt32
        package let op: Op
        /// The operand; for `maskedEq`, the mask.
        package let a: UInt64
        /// For `maskedEq`, the value the masked argument must equal.
        package let b: UInt64

        /// Whether a call whose argument register holds `value` meets it.
        package func holds(_ value: UInt64) -> Bool {
            switch op {
            case .eq: value == a
            case .ne: value != a
            case .le: value <= a
            case .maskedEq: value & a == b
            }
        }
    }

    /// What one argument of one policy rule compiled to: any one of
    /// `alternatives` must hold (each a comparison of that argument).
    package struct ArgumentConstraint: Sendable {
        package let index: Int
        package let argument: SyscallArgument
        package let alternatives: [Comparison]
        /// The policy's own words for it (`arg0 != <stderr>`).
        package let source: [ArgumentCondition]
    }

    /// One policy rule as compiled: its constraints, and the rules of at
    /// most one comparison per argument that libseccomp receives for it.
    package struct Entry: Sendable {
        package let rule: SeccompRule
        package let constraints: [ArgumentConstraint]
        package let compiled: [CompiledRule]
    }

    package let entries: [Entry]
    /// Policy rules no call can meet, and why: about a descriptor this
    /// tile does not have (no log file), or conditions no value meets.
    package let neverApplies: [(rule: SeccompRule, why: String)]
    package let descriptors: [DescriptorRole: FileDescriptor]
    package var rules: [CompiledRule] { entries.flatMap(\.compiled) }

    /// Resolves roles to numbers and compiles every condition.
    ///
    /// - Parameter descriptorLimit: the tile's RLIMIT_NOFILE: a descriptor
    ///   at or above it cannot exist, so "any descriptor but these" means
    ///   the numbers below it. nil: any 32-bit number.
    package init(_ policy: SeccompPolicy, descriptors: [DescriptorRole: FileDescriptor], descriptorLimit: UInt64? = nil) throws {
        self.descriptors = descriptors
        var entries: [Entry] = []
        var never: [(rule: SeccompRule, why: String)] = []
        rules: for rule in policy.rules {
            var perArg: [Int: [ArgumentCondition]] = [:]
            for c in rule.conditions {
                if case .descriptor(let role) = c.value, descriptors[role] == nil {
                    // Equal to a descriptor the tile does not have: never.
                    // Not equal to it: always.
                    if case .equal = c.comparison {
                        never.append((rule, "the tile has no \(role)"))
                        continue rules
                    }
                    if case .notEqual = c.comparison { continue }
                    throw RuntimeError(
                        sandboxStep: "seccomp", "\(rule.syscall): \(c) names a descriptor the tile does not have (a policy bug)")
                }
                perArg[c.index, default: []].append(c)
            }
            var constraints: [ArgumentConstraint] = []
            for (index, conds) in perArg.sorted(by: { $0.key < $1.key }) {
                guard let argument = SyscallSignatures.argument(rule.syscall, index) else {
                    throw RuntimeError(
                        sandboxStep: "seccomp",
                        "\(rule.syscall): no signature for arg\(index), so its width is unknown "
                            + "(add it to SyscallSignatures; a policy bug)")
                }
                let alternatives = try Self.compile(
                    conds, argument, index: UInt32(index), descriptors, limit: descriptorLimit,
                    syscall: rule.syscall)
                guard let alternatives else {
                    never.append((rule, "no value of arg\(index) (\(argument.name)) meets its conditions"))
                    continue rules
                }
                if alternatives.isEmpty { continue }  // every value meets it
                constraints.append(ArgumentConstraint(index: index, argument: argument, alternatives: alternatives, source: conds))
            }
            // The rule is the product of its arguments' alternatives.
            var product: [[Comparison]] = [[]]
            for c in constraints { product = product.flatMap { prefix in c.alternatives.map { prefix + [$0] } } }
            entries.append(
                Entry(
                    rule: rule, constraints: constraints,
                    compiled: product.map { CompiledRule(syscall: rule.syscall, comparisons: $0) }))
        }
        self.entries = entries
        neverApplies = never
    }

    static func value(_ v: ArgumentValue, _ d: [DescriptorRole: FileDescriptor]) -> UInt64 {
        switch v {
        case .constant(let x, _): x
        case .descriptor(let role): UInt64(UInt32(bitPattern: d[role]!.rawValue))
        }
    }

    /// The comparisons, any of which admits a value meeting every one of
    /// `conds`. nil: no value does; empty: every value does.
    static func compile(
        _ conds: [ArgumentCondition], _ argument: SyscallArgument, index: UInt32,
        _ d: [DescriptorRole: FileDescriptor], limit: UInt64?, syscall: String
    ) throws -> [Comparison]? {
        func bug(_ what: String) -> RuntimeError {
            RuntimeError(sandboxStep: "seccomp", "\(syscall): \(what) on arg\(index) (\(argument.name)) (a policy bug)")
        }
        let masked = conds.filter { if case .maskedEqual = $0.comparison { true } else { false } }
        if !masked.isEmpty {
            guard conds.count == 1, case .maskedEqual(let mask) = conds[0].comparison else {
                throw bug("a masked condition combined with another")
            }
            let width: UInt64 = argument.kind.bits == 64 ? .max : 0xFFFF_FFFF
            return [Comparison(arg: index, op: .maskedEq, a: mask & width, b: value(conds[0].value, d) & mask & width)]
        }
        if argument.kind.bits == 64 {
            guard conds.count == 1 else { throw bug("several conditions on a 64-bit argument") }
            let v = value(conds[0].value, d)
            switch conds[0].comparison {
            case .equal: return [Comparison(arg: index, op: .eq, a: v, b: 0)]
            case .notEqual: return [Comparison(arg: index, op: .ne, a: v, b: 0)]
            case .lessOrEqual: return [Comparison(arg: index, op: .le, a: v, b: 0)]
            case .maskedEqual: preconditionFailure("handled above")
            }
        }
        // 32 bits: the set of admitted values, as intervals, intersected
        // over the conditions, then covered by aligned blocks.
        // "Any descriptor but these": a descriptor can only be one the
        // tile keeps or one it opens, which is below its RLIMIT_NOFILE.
        var set: IntervalSet
        let excludes = conds.contains { if case .notEqual = $0.comparison { true } else { false } }
        if argument.kind == .descriptor, excludes, let limit, limit < 1 << 32 {
            set = limit == 0 ? IntervalSet() : IntervalSet(0, limit - 1)
            for fd in d.values.map({ UInt64(UInt32(bitPattern: $0.rawValue)) }) where fd >= limit { set = set.adding(fd) }
        } else {
            set = IntervalSet(0, (1 << 32) - 1)
        }
        for c in conds {
            let v = value(c.value, d) & 0xFFFF_FFFF
            switch c.comparison {
            case .equal: set = set.intersecting(IntervalSet(v, v))
            case .notEqual: set = set.removing(v)
            case .lessOrEqual: set = set.intersecting(IntervalSet(0, v))
            case .maskedEqual: preconditionFailure("handled above")
            }
        }
        if set.isEmpty { return nil }
        let blocks = set.alignedBlocks()
        if blocks.count == 1 && blocks[0].size == 1 << 32 { return [] }
        return blocks.map { Comparison(arg: index, op: .maskedEq, a: 0xFFFF_FFFF & ~($0.size - 1), b: $0.base) }
    }

    /// Builds the libseccomp context; the caller loads or exports it, then
    /// releases it.
    func context() throws -> scmp_filter_ctx {
        guard let ctx = seccomp_init(UInt32(SCMP_ACT_KILL_PROCESS)) else {
            throw RuntimeError(sandboxStep: "seccomp", "seccomp_init failed")
        }
        // A call made through another architecture's entry (int 0x80 on
        // x86_64) kills the process too, not just the thread.
        let arch = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, UInt32(SCMP_ACT_KILL_PROCESS))
        guard arch == 0 else {
            seccomp_release(ctx)
            throw RuntimeError(
                sandboxStep: "seccomp", "seccomp_attr_set(ACT_BADARCH, KILL_PROCESS) failed: \(Errno.describe(-arch))", errno: -arch)
        }
        for rule in rules {
            let nr = seccomp_syscall_resolve_name(rule.syscall)
            guard nr != __NR_SCMP_ERROR else {
                seccomp_release(ctx)
                throw RuntimeError(sandboxStep: "seccomp", "unknown syscall \(rule.syscall) in the policy")
            }
            let cmps = rule.comparisons.map { c -> scmp_arg_cmp in
                let op: scmp_compare
                switch c.op {
                case .eq: op = SCMP_CMP_EQ
                case .ne: op = SCMP_CMP_NE
                case .le: op = SCMP_CMP_LE
                case .maskedEq: op = SCMP_CMP_MASKED_EQ
                }
                return scmp_arg_cmp(arg: c.arg, op: op, datum_a: c.a, datum_b: c.b)
            }
            let rc = cmps.withUnsafeBufferPointer {
                seccomp_rule_add_exact_array(ctx, UInt32(SCMP_ACT_ALLOW), nr, UInt32($0.count), $0.baseAddress)
            }
            guard rc == 0 else {
                seccomp_release(ctx)
                throw RuntimeError(sandboxStep: "seccomp", "seccomp_rule_add(\(rule.syscall)) failed: \(Errno.describe(-rc))", errno: -rc)
            }
        }
        return ctx
    }

    /// Installs the filter on this process. Irreversible.
    package func load() throws {
        let ctx = try context()
        defer { seccomp_release(ctx) }
        let rc = seccomp_load(ctx)
        guard rc == 0 else { throw RuntimeError(sandboxStep: "seccomp", "seccomp_load failed: \(Errno.describe(-rc))", errno: -rc) }
    }

    /// The compiled BPF program (exported, not loaded): 8 bytes per
    /// instruction, as the kernel runs it.
    package func bpf() throws -> [UInt8] {
        let ctx = try context()
        defer { seccomp_release(ctx) }
        let (r, w) = try FileDescriptor.pipe()
        defer { r.close() }
        let rc = seccomp_export_bpf(ctx, w.rawValue)
        w.close()
        guard rc == 0 else { throw RuntimeError(sandboxStep: "seccomp", "seccomp_export_bpf failed: \(Errno.describe(-rc))", errno: -rc) }
        return try r.readToEnd(limit: 1 << 20, what: "bpf")
    }

    /// BPF instructions of the compiled filter.
    package func instructionCount() throws -> Int { try bpf().count / 8 }

    /// The number of `name` on this architecture, as `seccomp_data.nr`
    /// holds it; nil for a name libseccomp does not know.
    package static func syscallNumber(_ name: String) -> Int32? {
        let nr = seccomp_syscall_resolve_name(name)
        return nr == __NR_SCMP_ERROR ? nil : nr
    }

    /// The architecture the filter is compiled for, as `seccomp_data.arch`
    /// holds it (AUDIT_ARCH_*).
    package static var nativeArchitecture: UInt32 { seccomp_arch_native() }
}

/// Disjoint, sorted, inclusive intervals of 32-bit values.
struct IntervalSet: Equatable {
    var intervals: [(lo: UInt64, hi: UInt64)] = []

    init() {}
    init(_ lo: UInt64, _ hi: UInt64) { intervals = lo <= hi ? [(lo, hi)] : [] }

    var isEmpty: Bool { intervals.isEmpty }

    func intersecting(_ other: IntervalSet) -> IntervalSet {
        var out = IntervalSet()
        for a in intervals {
            for b in other.intervals {
                let lo = max(a.lo, b.lo), hi = min(a.hi, b.hi)
                if lo <= hi { out.intervals.append((lo, hi)) }
            }
        }
        return out
    }

    func adding(_ v: UInt64) -> IntervalSet {
        var all = intervals + [(v, v)]
        all.sort { $0.lo < $1.lo }
        var out = IntervalSet()
        for i in all {
            if let last = out.intervals.last, i.lo <= last.hi &+ 1 {
                out.intervals[out.intervals.count - 1].hi = max(last.hi, i.hi)
            } else {
                out.intervals.append(i)
            }
        }
        return out
    }

    func removing(_ v: UInt64) -> IntervalSet {
        var out = IntervalSet()
        for i in intervals {
            guard i.lo <= v && v <= i.hi else { out.intervals.append(i); continue }
            if i.lo < v { out.intervals.append((i.lo, v - 1)) }
            if v < i.hi { out.intervals.append((v + 1, i.hi)) }
        }
        return out
    }

    /// The fewest blocks `[base, base + size)`, `size` a power of two and
    /// `base` a multiple of it, that cover exactly the set.
    func alignedBlocks() -> [(base: UInt64, size: UInt64)] {
        var out: [(base: UInt64, size: UInt64)] = []
        for i in intervals {
            var lo = i.lo
            while lo <= i.hi {
                var size: UInt64 = lo == 0 ? 1 << 32 : lo & (~lo &+ 1)
                while lo + size - 1 > i.hi { size >>= 1 }
                out.append((lo, size))
                lo += size
            }
        }
        return out
    }

    static func == (a: IntervalSet, b: IntervalSet) -> Bool {
        a.intervals.count == b.intervals.count && zip(a.intervals, b.intervals).allSatisfy { $0.lo == $1.lo && $0.hi == $1.hi }
    }
}

extension SeccompFilter.ArgumentConstraint {
    /// What the kernel checks, read back from the compiled comparisons:
    /// `fd == 5 (listen socket)`, `fd in 0–1, 6–132 (any but …)`,
    /// `prot & 0x4 == 0`. 32-bit arguments are compared on their low 32
    /// bits only.
    package var compiledDescription: String {
        func show(_ v: UInt64) -> String { v < 4096 ? String(v) : "0x" + String(v, radix: 16) }
        var text: String
        let blocks = alternatives.compactMap { c -> (UInt64, UInt64)? in
            guard c.op == .maskedEq, argument.kind.bits == 32 else { return nil }
            let low = ~c.a & 0xFFFF_FFFF
            guard low & (low &+ 1) == 0 else { return nil }  // a block: mask is 32 ones then k zeros
            return (c.b, c.b + low)
        }
        if blocks.count == alternatives.count {
            var merged: [(UInt64, UInt64)] = []
            for b in blocks.sorted(by: { $0.0 < $1.0 }) {
                if let last = merged.last, last.1 &+ 1 == b.0 { merged[merged.count - 1].1 = b.1 } else { merged.append(b) }
            }
            if merged.count == 1 && merged[0].0 == merged[0].1 {
                text = "\(argument.name) == \(show(merged[0].0))"
            } else {
                text =
                    "\(argument.name) in "
                    + merged.map { $0.0 == $0.1 ? show($0.0) : "\(show($0.0))–\(show($0.1))" }.joined(separator: ", ")
            }
        } else {
            text = alternatives.map { c in
                switch c.op {
                case .eq: "\(argument.name) == \(show(c.a))"
                case .ne: "\(argument.name) != \(show(c.a))"
                case .le: "\(argument.name) <= \(show(c.a))"
                case .maskedEq: "\(argument.name) & 0x\(String(c.a, radix: 16)) == \(show(c.b))"
                }
            }.joined(separator: " or ")
        }
        // The policy's names for the values, where it gave any.
        let names: [String] = source.compactMap { cond in
            switch (cond.comparison, cond.value) {
            case (.equal, .descriptor(let role)): return role.name
            case (.equal, .constant(let v, let name)) where !name.isEmpty && name != String(v): return name
            case (.maskedEqual, .constant(_, let name)) where !name.isEmpty: return name
            default: return nil
            }
        }
        let excluded = source.compactMap { cond -> String? in
            if case .notEqual = cond.comparison, case .descriptor(let role) = cond.value { return role.name }
            return nil
        }
        if !excluded.isEmpty {
            text += " (any descriptor but \(excluded.joined(separator: ", ")))"
        } else if !names.isEmpty {
            text += " (\(names.joined(separator: ", ")))"
        }
        return text
    }
}

extension SeccompFilter.Entry {
    /// Every argument condition as compiled, or `any arguments`.
    package var compiledDescription: String {
        constraints.isEmpty ? "any arguments" : constraints.map(\.compiledDescription).joined(separator: ", ")
    }
}
