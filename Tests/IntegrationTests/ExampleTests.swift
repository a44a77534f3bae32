#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Examples/CustomTile, a package of its own that depends on this one by
/// path: built as a tile author builds it, then booted with its `ticker`
/// kind feeding the shipped `sink`.
extension Integration {
    @Suite(.serialized) struct ExampleTests {
        static let package = Binary.packageRoot + "/Examples/CustomTile"
        static let scratch = Binary.packageRoot + "/.build-example"
        static var binary: String { scratch + "/debug/tilectl-custom" }

        /// Builds the example once (minutes the first time: its own build
        /// of this package and its dependencies).
        static func build() throws {
            let p = try LiveProcess("/usr/bin/env", ["swift", "build", "--package-path", package, "--scratch-path", scratch])
            guard p.waitForExit(timeout: 1800), p.exitStatus == 0 else {
                throw TestFailure("swift build of Examples/CustomTile failed:\n\(p.stdout.suffix(3000))\n\(p.stderr.suffix(3000))")
            }
        }

        /// The example's topology, as a fixture (its own name, port, pages).
        func fixture(misbehave: Bool = false) throws -> Fixture {
            var toml = try String(contentsOfFile: Self.package + "/ticker.toml", encoding: .utf8)
            if misbehave { toml = toml.replacingOccurrences(of: "rate = 2000", with: "rate = 2000\nmisbehave = true") }
            return try Fixture(toml: toml)
        }

        @Test func theExampleBuildsBootsAndItsKindIsSandboxed() throws {
            try Self.build()
            let fx = try fixture()
            defer { fx.tearDown() }

            // Its policy, as `check --sandbox` shows every kind's.
            let check = try tilectl(["check", "--config", fx.config, "--sandbox"], binary: Self.binary)
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("sandbox of ticker (1 tile): exposure 0.0 PERFECT"), "\(check.stdout)")
            // The allowlist it declared (the sink's, as it happens), without socket.
            let json = try tilectl(["check", "--config", fx.config, "--sandbox", "--json"], binary: Self.binary)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let kinds = try #require((report["sandbox"] as? [String: Any])?["kinds"] as? [[String: Any]])
            func syscalls(_ kind: String) -> Set<String> {
                let k = kinds.first { $0["kind"] as? String == kind }
                let rules = (k?["seccomp"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
                return Set(rules.compactMap { $0["syscall"] as? String })
            }
            #expect(!syscalls("ticker").isEmpty && syscalls("ticker") == syscalls("sink"), "\(syscalls("ticker"))")
            #expect(!syscalls("ticker").contains("socket"))

            // Its metrics beside the shipped kinds', and its fragments
            // through the shipped sink.
            let run = try fx.boot(binary: Self.binary)
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            func value(_ series: String) throws -> Double? {
                let body = try fx.scrape().body
                return body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect(eventually(timeout: 10) { ((try? value(#"ticker_fragments_total{kind="ticker",kind_id="0"}"#)) ?? nil ?? 0) > 1000 })
            #expect(try value(#"ticker_behind{kind="ticker",kind_id="0"}"#) != nil)
            #expect(
                eventually(timeout: 10) {
                    ((try? value(#"link_frag_consumed_total{kind="sink",kind_id="0",link_kind="ticker_sink",link_kind_id="0"}"#)) ?? nil
                        ?? 0)
                        > 1000
                })
            #expect(((try value(#"sink_transactions_total{kind="sink",kind_id="0"}"#)) ?? 0) > 1000)
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 20))
            #expect(run.exitStatus == 0, "\(run.stderr)")
        }

        @Test func itsPolicyKillsACallItDoesNotAllow() throws {
            try Self.build()
            let fx = try fixture(misbehave: true)
            defer { fx.tearDown() }
            let p = try LiveProcess(Self.binary, ["run", "--config", fx.config])
            defer { p.kill(SIGKILL); _ = p.waitForExit(timeout: 10) }
            #expect(p.waitForExit(timeout: 60))
            #expect(p.exitStatus == 1)
            #expect(p.stderr.contains("tile ticker:0 killed by SIGSYS"), "\(p.stderr)")
            #expect(fx.leftovers().isEmpty)
        }
    }
}
