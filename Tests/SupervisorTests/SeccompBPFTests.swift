#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@testable import Shared
@testable import Supervisor

/// Runs the BPF that libseccomp compiles for every shipped tile kind (and
/// for the reaper and the supervisor) through a classic BPF interpreter,
/// with arguments chosen to meet and to miss each rule, and checks the
/// kernel's verdict against the compiled rules `check --sandbox` prints,
/// and that a 32-bit argument is judged on its low 32 bits only.
struct SeccompBPFTests {
    struct Subject: CustomTestStringConvertible, Sendable {
        let name: String
        let filter: @Sendable () throws -> SeccompFilter
        var testDescription: String { name }
    }

    static let topology = try! TopologyLoader(kinds: Registry.production).load(
        path: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/validator.toml").path)

    static let subjects: [Subject] = {
        var out: [Subject] = []
        for kind in Registry.production.all {
            let t = topology
            out.append(Subject(name: kind.kind, filter: { try SandboxProfile(kind: kind, topology: t).filter() }))
        }
        out.append(
            Subject(
                name: "reaper",
                filter: {
                    try SeccompFilter(
                        Reaper.policy,
                        descriptors: [
                            Reaper.controlRole: FileDescriptor(rawValue: 7),
                            Reaper.reportRole: FileDescriptor(rawValue: 9),
                        ])
                }))
        out.append(
            Subject(
                name: "supervisor",
                filter: {
                    try SeccompFilter(
                        Supervisor.policy(reaper: 4242),
                        descriptors: [
                            .stderr: .standardError, .logFile: FileDescriptor(rawValue: 3),
                            Supervisor.signalsRole: FileDescriptor(rawValue: 5),
                            Supervisor.controlRole: FileDescriptor(rawValue: 6), Supervisor.reportRole: FileDescriptor(rawValue: 8),
                        ])
                }))
        return out
    }()

    /// What the compiled rules say about a call.
    static func allowedByRules(_ f: SeccompFilter, _ syscall: String, _ args: [UInt64]) -> Bool {
        f.rules.contains { $0.syscall == syscall && $0.comparisons.allSatisfy { $0.holds(args[Int($0.arg)]) } }
    }

    @Test(arguments: subjects)
    func theKernelsVerdictIsTheCompiledRules(_ subject: Subject) throws {
        let filter = try subject.filter()
        let bpf = ClassicBPF(try filter.bpf())
        let arch = SeccompFilter.nativeArchitecture
        var rng = SplitMix64(seed: 0x5EC0_0B9F)
        var checked = 0, allowed = 0
        for syscall in Set(filter.rules.map(\.syscall)) {
            let nr = try #require(SeccompFilter.syscallNumber(syscall))
            let widths = SyscallSignatures.table[syscall]
            for rule in filter.rules where rule.syscall == syscall {
                for round in 0..<64 {
                    // Arguments that meet the rule, then (on odd rounds) one of them changed.
                    var args = (0..<6).map { _ in Self.interesting(&rng) }
                    for c in rule.comparisons {
                        switch c.op {
                        case .eq, .le: args[Int(c.arg)] = c.a
                        case .maskedEq: args[Int(c.arg)] = c.b | (rng.next() & ~c.a)
                        case .ne: args[Int(c.arg)] = c.a &+ 1
                        }
                    }
                    if round % 2 == 1 { args[Int(rng.next() % 6)] = Self.interesting(&rng) }
                    let verdict = try bpf.run(.init(nr: nr, arch: arch, args: args))
                    let expected = Self.allowedByRules(filter, syscall, args)
                    #expect(
                        verdict == (expected ? ClassicBPF.allow : ClassicBPF.killProcess),
                        "\(subject.name) \(syscall)\(args.map { "0x" + String($0, radix: 16) })")
                    checked += 1
                    if expected { allowed += 1 }
                    // A 32-bit argument: whatever its upper half holds, the same verdict.
                    for (i, w) in (widths ?? []).enumerated() where w.kind.bits == 32 {
                        var flipped = args
                        flipped[i] = (flipped[i] & 0xFFFF_FFFF) | (rng.next() << 32)
                        #expect(
                            try bpf.run(.init(nr: nr, arch: arch, args: flipped)) == verdict,
                            "\(subject.name) \(syscall) arg\(i) upper half changed the verdict")
                    }
                }
            }
        }
        #expect(allowed > 0 && allowed < checked, "both verdicts exercised: \(allowed) of \(checked)")
        print(
            "seccomp BPF of \(subject.name): \(try filter.instructionCount()) instructions, \(checked) calls run through it "
                + "(\(allowed) allowed), each 32-bit argument's upper half changed too: the verdicts are the compiled rules'")
    }

    /// A rule dropped as "never applies" only for a descriptor the process
    /// does not have: never because its conditions compiled to nothing.
    @Test(arguments: subjects)
    func noRuleIsDroppedButForAMissingDescriptor(_ subject: Subject) throws {
        let filter = try subject.filter()
        for (rule, why) in filter.neverApplies {
            #expect(why.hasPrefix("the tile has no "), "\(subject.name) \(rule.syscall): \(why)")
        }
    }

    @Test(arguments: subjects)
    func aCallNotListedOrThroughAnotherArchitectureKillsTheProcess(_ subject: Subject) throws {
        let filter = try subject.filter()
        let bpf = ClassicBPF(try filter.bpf())
        let listed = Set(filter.rules.map(\.syscall))
        for name in ["openat", "socket", "execve", "ptrace", "clone", "mmap", "kill", "unshare", "prctl", "seccomp"]
        where !listed.contains(name) {
            let nr = try #require(SeccompFilter.syscallNumber(name))
            #expect(try bpf.run(.init(nr: nr, arch: SeccompFilter.nativeArchitecture)) == ClassicBPF.killProcess, "\(name)")
        }
        // i386's write, through int 0x80 on x86_64: not the thread, the process.
        #expect(try bpf.run(.init(nr: 4, arch: 0x4000_0003)) == ClassicBPF.killProcess)
    }

    /// The finding this guards: `close(0x1_0000_0000 | fd)` closed the metric
    /// tile's listen socket (the kernel reads the low 32 bits) while the
    /// filter compared 64.
    @Test func theMetricTileCannotCloseItsOwnDescriptorsThroughTheUpperHalf() throws {
        let metric = try #require(Registry.production["metric"])
        let profile = SandboxProfile(kind: metric, topology: Self.topology)
        let bpf = ClassicBPF(try profile.filter().bpf())
        let arch = SeccompFilter.nativeArchitecture
        for syscall in ["close", "read", "sendto"] {
            let nr = try #require(SeccompFilter.syscallNumber(syscall))
            var args: [UInt64] = [0, 0, 0, UInt64(MSG_NOSIGNAL), 0, 0]
            for (role, fd) in profile.descriptors {
                for high: UInt64 in [0, 1 << 32, 0xFFFF_FFFF << 32] {
                    args[0] = high | UInt64(fd.rawValue)
                    #expect(try bpf.run(.init(nr: nr, arch: arch, args: args)) == ClassicBPF.killProcess, "\(syscall) \(role) high \(high)")
                }
            }
            args[0] = 1 << 32 | 7  // a connection: the kernel reads 7
            #expect(try bpf.run(.init(nr: nr, arch: arch, args: args)) == ClassicBPF.allow, "\(syscall) of a connection")
        }
    }

    static func interesting(_ rng: inout SplitMix64) -> UInt64 {
        switch rng.next() % 5 {
        case 0: return rng.next() % 16
        case 1: return rng.next() % 300
        case 2: return rng.next()
        case 3: return (rng.next() << 32) | (rng.next() % 16)
        default: return 0xFFFF_FFFF
        }
    }
}
