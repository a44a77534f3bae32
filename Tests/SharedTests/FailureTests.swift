#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@testable import Shared

/// The two failures tilectl reports carry their exit status, errno and
/// subject as values; the code that recovers and these tests read the
/// values, never the text.
struct FailureTests {
    @Test func aConfigurationErrorExitsTwoAndARuntimeErrorOne() {
        let config: any TilectlFailure = ConfigError(file: "t.toml", line: 3, column: 7, message: "bad")
        let runtime: any TilectlFailure = RuntimeError("a tile died")
        #expect(config.exitStatus == 2)
        #expect(runtime.exitStatus == 1)
    }

    @Test func aFailedCallCarriesItsErrno() throws {
        let e = try #require(throws: RuntimeError.self) {
            try Sys.check("open(/nonexistent/x)", open("/nonexistent/x", O_RDONLY))
        }
        #expect(e.subject == .call("open(/nonexistent/x)"))
        #expect(e.errno == ENOENT)
        #expect(e.fix == nil && e.context.isEmpty)
    }

    @Test func contextAndFixKeepTheValues() {
        let e = RuntimeError(call: "bind(127.0.0.1:81)", errno: EACCES)
            .with(fix: "run as root")
            .within("listen socket")
            .within("tile metric:0")
        #expect(e.subject == .call("bind(127.0.0.1:81)"))
        #expect(e.errno == EACCES)
        #expect(e.fix == "run as root")
        #expect(e.context == ["tile metric:0", "listen socket"])
        #expect(e.exitStatus == 1)
    }

    @Test func withinWrapsAnyErrorButAConfigurationError() throws {
        struct Foreign: Error {}
        let wrapped = try #require(throws: RuntimeError.self) {
            try RuntimeError.within("step") { throw Foreign() }
        }
        #expect(wrapped.context == ["step"] && wrapped.errno == 0 && wrapped.subject == .condition)

        let config = ConfigError(file: "t.toml", line: 1, column: 1, message: "bad")
        let kept = try #require(throws: ConfigError.self) {
            try RuntimeError.within("step") { throw config }
        }
        #expect(kept == config)

        let inner = RuntimeError(sandboxStep: "7 landlock", errno: ENOSYS)
        let outer = try #require(throws: RuntimeError.self) {
            try RuntimeError.within("tile synth:0") { throw inner }
        }
        #expect(outer.subject == .sandboxStep("7 landlock") && outer.errno == ENOSYS && outer.context == ["tile synth:0"])
    }

    @Test func aSandboxStepThatFailedOnACallKeepsItsErrno() {
        let cause = RuntimeError(call: "open(/proc/self/status)", errno: EACCES)
        let e = RuntimeError(sandboxStep: "5 /proc/self/status", cause)
        #expect(e.subject == .sandboxStep("5 /proc/self/status"))
        #expect(e.errno == EACCES)
    }

    @Test func anUndeclaredDescriptorIsTheDescriptorStep() throws {
        let keep: [DescriptorRole: FileDescriptor] = [.stderr: FileDescriptor(rawValue: 2)]
        let e = try #require(throws: RuntimeError.self) { try Sandbox.checkDescriptors(keep, open: [2, 7]) }
        #expect(e.subject == .sandboxStep("2 descriptors"))
        #expect(e.errno == 0)
    }

    @Test func aPlantedLinkIsAPathErrorWithItsErrno() throws {
        let dir = NSTemporaryDirectory() + "tilectl-failure-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(symlink("/etc", dir + "/link") == 0)
        let e = try #require(throws: RuntimeError.self) { try TrustedDirectory.open(dir + "/link") }
        #expect(e.path == dir + "/link")
        #expect([ENOTDIR, ELOOP].contains(e.errno))  // O_PATH|O_NOFOLLOW|O_DIRECTORY on a link
        #expect(e.fix != nil)

        let missing = try #require(throws: RuntimeError.self) { try TrustedDirectory.open(dir + "/absent") }
        #expect(missing.path == dir + "/absent" && missing.errno == ENOENT)
    }
}
