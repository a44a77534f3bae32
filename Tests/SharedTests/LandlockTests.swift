#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Shared

/// The masks are trimmed to the kernel's ABI (a right an older kernel does
/// not know makes it refuse the whole ruleset); enforcing is exercised by
/// the escape tiles of the integration tests.
struct LandlockTests {
    @Test func eachABIKnowsItsRights() {
        #expect(Landlock.FileAccess.known(abi: 1).rawValue == 0x1FFF)
        #expect(!Landlock.FileAccess.known(abi: 1).contains(.truncate))
        #expect(Landlock.FileAccess.known(abi: 2).rawValue == 0x3FFF)
        #expect(Landlock.FileAccess.known(abi: 3).contains(.truncate))
        #expect(Landlock.FileAccess.known(abi: 4) == Landlock.FileAccess.known(abi: 3))
        #expect(Landlock.FileAccess.known(abi: 5).rawValue == 0xFFFF)
        #expect(Landlock.FileAccess.known(abi: 7) == Landlock.FileAccess.known(abi: 5))
    }

    /// A ruleset is made and takes a rule (the packed attribute the shim
    /// builds) without being enforced on the test process.
    @Test func aRulesetTakesAPathRule() throws {
        guard Landlock.abiVersion() > 0 else { return }  // no Landlock on this kernel
        let ruleset = Landlock.filesystemRuleset()
        try #require(ruleset >= 0, "landlock_create_ruleset: \(Errno.describe(errno))")
        defer { close(ruleset) }
        let dir = open("/tmp", O_RDONLY | O_DIRECTORY)
        defer { close(dir) }
        #expect(Landlock.allow([.readDir, .removeFile], beneath: dir, in: ruleset) == 0, "\(Errno.describe(errno))")
        // A right the ruleset does not handle is refused by the kernel,
        // so a bit past the known ones is trimmed, not passed on.
        #expect(Landlock.allow(Landlock.FileAccess(rawValue: 1 << 40 | 1 << 3), beneath: dir, in: ruleset) == 0)
    }
}
