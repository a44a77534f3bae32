import Testing

@testable import Shared

struct SeccompFilterTests {
    let fds: [DescriptorRole: FileDescriptor] = [
        .stderr: FileDescriptor(rawValue: 2), .deathPipe: FileDescriptor(rawValue: 4),
        DescriptorRole("listen socket"): FileDescriptor(rawValue: 6),
    ]

    @Test func anyDescriptorButSomeBecomesOneComparisonPerRule() throws {
        let policy = SeccompPolicy([SeccompRule("read", [
            .arg(0, notEquals: .descriptor(.stderr)), .arg(0, notEquals: .descriptor(.deathPipe)),
            .arg(0, notEquals: .descriptor(DescriptorRole("listen socket"))),
        ], reason: "test")])
        let f = try SeccompFilter(policy, descriptors: fds)
        let allowed = f.rules.map { r -> String in
            let c = r.comparisons[0]
            return c.op == .eq ? "=\(c.a)" : ">\(c.a)"
        }
        #expect(allowed == ["=0", "=1", "=3", "=5", ">6"])
        #expect(f.rules.allSatisfy { $0.comparisons.count == 1 })
    }

    @Test func aRuleAboutAMissingDescriptorNeverApplies() throws {
        let policy = SeccompPolicy([
            SeccompRule("write", [.arg(0, equals: .descriptor(.logFile))], reason: "no log file configured"),
            SeccompRule("close", [.arg(0, notEquals: .descriptor(.logFile))], reason: "vacuous condition"),
        ])
        let f = try SeccompFilter(policy, descriptors: fds)
        #expect(f.rules == [SeccompFilter.CompiledRule(syscall: "close", comparisons: [])])
    }

    @Test func compilesWithLibseccomp() throws {
        let f = try SeccompFilter(RuntimePolicy.logging + RuntimePolicy.common, descriptors: fds)
        #expect(try f.instructionCount() > 10)
    }

    @Test func rejectsAnUnknownSyscall() {
        let f = try? SeccompFilter(SeccompPolicy([SeccompRule("no_such_syscall", reason: "typo")]), descriptors: fds)
        #expect(throws: SandboxError.self) { try f?.instructionCount() }
    }

    @Test func rejectsMixedConditionsOnOneArgument() {
        let policy = SeccompPolicy([SeccompRule("read", [.arg(0, equals: .constant(1, "")), .arg(0, notEquals: .constant(2, ""))],
                                                reason: "bug")])
        #expect(throws: SandboxError.self) { try SeccompFilter(policy, descriptors: fds) }
    }
}
