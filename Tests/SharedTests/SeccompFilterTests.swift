import Testing

@testable import Shared

struct SeccompFilterTests {
    let listen = DescriptorRole("listen socket")
    var fds: [DescriptorRole: FileDescriptor] {
        [
            .stderr: FileDescriptor(rawValue: 2), .deathPipe: FileDescriptor(rawValue: 3), .logFile: FileDescriptor(rawValue: 4),
            listen: FileDescriptor(rawValue: 5),
        ]
    }

    /// The metric tile's "any connection": every descriptor below the limit
    /// but the kept ones, as aligned blocks on the low 32 bits.
    @Test func anyDescriptorButSomeBecomesBlocksOnTheLow32Bits() throws {
        let policy = SeccompPolicy([
            SeccompRule(
                "close",
                [
                    .arg(0, notEquals: .descriptor(.stderr)), .arg(0, notEquals: .descriptor(.deathPipe)),
                    .arg(0, notEquals: .descriptor(.logFile)), .arg(0, notEquals: .descriptor(listen)),
                ], reason: "test")
        ])
        let f = try SeccompFilter(policy, descriptors: fds, descriptorLimit: 133)
        #expect(f.entries[0].compiledDescription == "fd in 0–1, 6–132 (any descriptor but stderr, death pipe, log file, listen socket)")
        // Every comparison masks the upper half of the register away.
        #expect(f.rules.allSatisfy { $0.comparisons.count == 1 && $0.comparisons[0].op == .maskedEq && $0.comparisons[0].a >> 32 == 0 })
        func allowed(_ v: UInt64) -> Bool { f.rules.contains { $0.comparisons.allSatisfy { $0.holds(v) } } }
        for fd: UInt64 in [0, 1, 6, 7, 100, 132] {
            #expect(allowed(fd) && allowed(fd | 1 << 32) && allowed(fd | 0xFFFF_FFFF_0000_0000), "\(fd)")
        }
        for fd: UInt64 in [2, 3, 4, 5, 133, 1000, 0xFFFF_FFFF] {
            #expect(!allowed(fd) && !allowed(fd | 1 << 32) && !allowed(fd | 0x8000_0000_0000_0000), "\(fd)")
        }
    }

    /// Without a limit the set runs to 2^32 - 1; a block of all 32 bits
    /// would be "any value" and is dropped.
    @Test func withoutALimitTheSetRunsToTheTopOf32Bits() throws {
        let policy = SeccompPolicy([SeccompRule("close", [.arg(0, notEquals: .descriptor(.stderr))], reason: "test")])
        let f = try SeccompFilter(policy, descriptors: fds)
        #expect(f.entries[0].compiledDescription.hasPrefix("fd in 0–1, 3–0xffffffff"))
        let all = try SeccompFilter(
            SeccompPolicy([SeccompRule("close", [.arg(0, atMost: .constant(0xFFFF_FFFF, ""))], reason: "t")]),
            descriptors: fds)
        #expect(all.rules == [SeccompFilter.CompiledRule(syscall: "close", comparisons: [])])
    }

    @Test func equalityOnA32BitArgumentIgnoresTheUpperHalf() throws {
        let f = try SeccompFilter(
            SeccompPolicy([SeccompRule("write", [.arg(0, equals: .descriptor(.stderr))], reason: "t")]),
            descriptors: fds, descriptorLimit: 0)
        let c = try #require(f.rules.first?.comparisons.first)
        #expect(c.op == .maskedEq && c.a == 0xFFFF_FFFF && c.b == 2)
        #expect(f.entries[0].compiledDescription == "fd == 2 (stderr)")
    }

    @Test func a64BitArgumentIsComparedWhole() throws {
        let f = try SeccompFilter(
            SeccompPolicy([SeccompRule("accept4", [.arg(1, equals: .constant(0, "NULL"))], reason: "t")]),
            descriptors: fds)
        #expect(f.rules[0].comparisons == [SeccompFilter.Comparison(arg: 1, op: .eq, a: 0, b: 0)])
        #expect(f.entries[0].compiledDescription == "addr == 0 (NULL)")
    }

    @Test func aRuleAboutAMissingDescriptorNeverApplies() throws {
        var d = fds
        d[.logFile] = nil
        let policy = SeccompPolicy([
            SeccompRule("write", [.arg(0, equals: .descriptor(.logFile))], reason: "no log file configured"),
            SeccompRule("close", [.arg(0, notEquals: .descriptor(.logFile))], reason: "vacuous condition"),
        ])
        let f = try SeccompFilter(policy, descriptors: d)
        #expect(f.rules == [SeccompFilter.CompiledRule(syscall: "close", comparisons: [])])
    }

    @Test func contradictoryConditionsMakeARuleThatNeverApplies() throws {
        let policy = SeccompPolicy([
            SeccompRule(
                "read", [.arg(0, equals: .constant(1, "")), .arg(0, notEquals: .constant(1, ""))],
                reason: "never")
        ])
        #expect(try SeccompFilter(policy, descriptors: fds).rules.isEmpty)
    }

    @Test func aConditionOnAnArgumentOfUnknownWidthIsRejected() {
        let policy = SeccompPolicy([SeccompRule("getpid", [.arg(0, equals: .constant(1, ""))], reason: "bug")])
        #expect(throws: RuntimeError.self) { try SeccompFilter(policy, descriptors: fds) }
    }

    @Test func aMaskedConditionCombinedWithAnotherIsRejected() {
        let policy = SeccompPolicy([
            SeccompRule(
                "mmap", [.arg(2, masked: 4, equals: .constant(0, "")), .arg(2, equals: .constant(3, ""))],
                reason: "bug")
        ])
        #expect(throws: RuntimeError.self) { try SeccompFilter(policy, descriptors: fds) }
    }

    @Test func compilesWithLibseccomp() throws {
        let f = try SeccompFilter(RuntimePolicy.logging + RuntimePolicy.common, descriptors: fds)
        #expect(try f.instructionCount() > 10)
    }

    @Test func rejectsAnUnknownSyscall() {
        let f = try? SeccompFilter(SeccompPolicy([SeccompRule("no_such_syscall", reason: "typo")]), descriptors: fds)
        #expect(throws: RuntimeError.self) { try f?.instructionCount() }
    }

    @Test func intervalSetsCoverExactlyTheirValues() {
        var s = IntervalSet(0, 20)
        s = s.removing(3).removing(0).removing(20).adding(40)
        let blocks = s.alignedBlocks()
        var covered = Set<UInt64>()
        for b in blocks {
            #expect(b.base % b.size == 0 && b.size.nonzeroBitCount == 1)
            for v in b.base..<(b.base + b.size) { covered.insert(v) }
        }
        #expect(covered == Set([1, 2] + Array(4...19) + [40]))
    }
}
