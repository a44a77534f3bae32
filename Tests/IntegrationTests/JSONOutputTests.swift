#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `check`, `monitor` and `ready` with `--json`, each validated against its
/// schema in docs/schema/ by Python's jsonschema, and checked against what
/// the text output and the running topology say.
extension Integration {
    @Suite struct JSONOutputTests {
        static let validator = Binary.packageRoot + "/Tests/Scripts/validate-json.py"

        /// Validates `json` against docs/schema/`name`.schema.json; returns it parsed.
        func validated(_ json: String, _ name: String) throws -> [String: Any] {
            let (rc, out) = try runScript(Self.validator, [Binary.packageRoot + "/docs/schema/\(name).schema.json"], input: Data(json.utf8))
            #expect(rc == 0 && out == "valid\n", "\(name): \(out)")
            return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        }

        @Test func checkJSONIsTheTextReportAndItsSandboxes() throws {
            let config = Binary.packageRoot + "/configs/validator.toml"
            let text = try tilectl(["check", "--config", config, "--sandbox"])
            let json = try tilectl(["check", "--config", config, "--json", "--sandbox"])
            #expect(json.status == 0, "\(json.stderr)")
            let o = try validated(json.stdout, "check")
            #expect(o["schema"] as? String == "urn:tilectl:schema:check:1")
            let tiles = try #require(o["tiles"] as? [[String: Any]])
            #expect(
                tiles.map { $0["name"] as? String } == [
                    "source:0", "verify:0", "verify:1", "verify:2", "verify:3", "dedup:0", "sink:0", "metric:0",
                ])
            let metric = try #require(tiles.last?["options"] as? [String: Any])
            #expect(metric["prometheus_listen_port"] as? Int == 7999, "options keep their types")
            let workspaces = try #require(o["workspaces"] as? [[String: Any]])
            #expect(workspaces.reduce(0) { $0 + ($1["footprint_bytes"] as? Int ?? 0) } == o["total_footprint_bytes"] as? Int)
            // Each kind's allowlist is the one the text prints.
            let sandbox = try #require(o["sandbox"] as? [String: Any])
            for kind in try #require(sandbox["kinds"] as? [[String: Any]]) {
                let seccomp = try #require(kind["seccomp"] as? [String: Any])
                let name = kind["kind"] as! String
                let header =
                    "  seccomp       \(seccomp["syscalls"] as! Int) syscalls, \(seccomp["bpf_instructions"] as! Int) BPF instructions"
                let section = try #require(text.stdout.range(of: "sandbox of \(name) ("))
                #expect(text.stdout[section.upperBound...].contains(header), "\(name): \(header)")
            }
            let confinements = try #require(sandbox["confinements"] as? [[String: Any]])
            #expect(confinements.map { $0["name"] as? String } == ["reaper", "supervisor"])

            // Without --sandbox the key is there, and null.
            let plain = try validated(try tilectl(["check", "--config", config, "--json"]).stdout, "check")
            #expect(plain["sandbox"] is NSNull)
            // --json with --graph is a usage error.
            #expect(try tilectl(["check", "--config", config, "--json", "--graph"]).status == 2)
        }

        @Test func monitorAndReadyJSONOfARunningValidator() throws {
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let notRunning = try tilectl(["ready", "--config", fx.config, "--timeout", "0", "--json"])
            #expect(notRunning.status == 1)
            let n = try validated(notRunning.stdout, "ready")
            #expect(n["ready"] as? Bool == false && n["state"] as? String == "not_running")

            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            let ready = try tilectl(["ready", "--config", fx.config, "--timeout", "30", "--json"])
            #expect(ready.status == 0, "\(ready.stderr)")
            let r = try validated(ready.stdout, "ready")
            #expect(r["ready"] as? Bool == true && (r["tiles"] as? [Any])?.count == 8)

            let monitor = try tilectl(["monitor", "--config", fx.config, "--json", "--interval", "0.5"])
            #expect(monitor.status == 0, "\(monitor.stderr)")
            let m = try validated(monitor.stdout, "monitor")
            #expect(m["supervisor_pid"] as? Int == Int(run.pid))
            let tiles = try #require(m["tiles"] as? [[String: Any]])
            #expect(tiles.count == 8)
            let pids = try fx.tilePids()
            for t in tiles {
                #expect(t["status"] as? String == "running", "\(t)")
                #expect(t["pid_verified"] as? Bool == true, "\(t)")
                let series = "kind=\"\(t["kind"]!)\",kind_id=\"\(t["kind_id"]!)\""
                #expect(pids.first { $0.key.contains(series) }?.value == (t["pid"] as? Int).map(Int32.init), "\(series)")
                let shares = try #require(t["regime_shares"] as? [String: Double])
                #expect(abs(shares.values.reduce(0, +) - 1) < 0.01, "\(t["name"]!): \(shares)")
            }
            // Fragments flow into the verifiers.
            let verify = tiles.filter { $0["kind"] as? String == "verify" }
            #expect(verify.allSatisfy { (($0["inputs"] as? [[String: Any]])?.first?["frags_per_second"] as? Double ?? 0) > 0 }, "\(verify)")
        }
    }
}
