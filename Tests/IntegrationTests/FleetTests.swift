#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The fleet files in configs/fleet/, by the tools that read them: a real
/// Prometheus discovering topologies from file_sd files, promtool, and the
/// Kubernetes schema (offline, with kubernetes-validate).
extension Integration {
    @Suite struct FleetTests {
        static let fleet = Binary.packageRoot + "/configs/fleet"

        func run(_ tool: String, _ arguments: [String], in dir: String? = nil) throws -> LiveProcess {
            let p = try LiveProcess(tool, arguments)
            #expect(p.waitForExit(timeout: 120), "\(tool) \(arguments)")
            return p
        }

        @Test func aRealPrometheusFindsThreeTopologiesFromFileSDAndRecordsTheFleetRules() throws {
            let fixtures = try (0..<3).map { _ in try Fixture(pageSize: "normal") }
            defer { fixtures.forEach { $0.tearDown() } }
            let runs = try fixtures.map { try $0.boot() }
            defer {
                runs.forEach {
                    $0.kill(SIGTERM); _ = $0.waitForExit(timeout: 10)
                }
            }
            let dir = fixtures[0].dir
            let targets = dir + "/targets"
            try FileManager.default.createDirectory(atPath: targets, withIntermediateDirectories: true)

            // The shipped config, its paths pointed here, every second.
            var config = try String(contentsOfFile: Self.fleet + "/prometheus.yml", encoding: .utf8)
            config = config.replacingOccurrences(of: "/etc/prometheus/tilectl-targets/*.json", with: targets + "/*.json")
                .replacingOccurrences(of: "../tilectl-rules.yml", with: Binary.packageRoot + "/configs/tilectl-rules.yml")
                .replacingOccurrences(of: "- tilectl-fleet-rules.yml", with: "- " + Self.fleet + "/tilectl-fleet-rules.yml")
                .replacingOccurrences(of: "scrape_interval: 5s", with: "scrape_interval: 1s")
                .replacingOccurrences(of: "scrape_timeout: 4s", with: "scrape_timeout: 1s")
                .replacingOccurrences(of: "evaluation_interval: 15s", with: "evaluation_interval: 1s")
            try config.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
            let check = try run("/usr/bin/promtool", ["check", "config", dir + "/prometheus.yml"])
            #expect(check.exitStatus == 0, "\(check.stdout)\(check.stderr)")

            // Two hosts named in one file; the third host comes later, in a
            // file of its own, without its own `host` label.
            try """
            [{"targets": ["127.0.0.1:\(fixtures[0].port)"], "labels": {"host": "a", "topology": "\(fixtures[0].name)"}},
             {"targets": ["127.0.0.1:\(fixtures[1].port)"], "labels": {"host": "b", "topology": "\(fixtures[1].name)"}}]
            """.write(toFile: targets + "/ab.json", atomically: true, encoding: .utf8)

            let webPort = HTTPClient.freePort()
            let prom = try LiveProcess(
                "/usr/bin/prometheus",
                [
                    "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/tsdb",
                    "--web.listen-address=127.0.0.1:\(webPort)", "--log.level=warn",
                ])
            defer { prom.kill(SIGTERM); _ = prom.waitForExit(timeout: 10) }
            func query(_ q: String) -> [(labels: [String: String], value: String)] {
                let path = "/api/v1/query?query=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q)
                guard let r = try? HTTPClient.request(port: webPort, path: path), r.status == 200,
                    let json = try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
                    let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
                else { return [] }
                return result.compactMap {
                    guard let labels = $0["metric"] as? [String: String], let v = $0["value"] as? [Any], v.count == 2,
                        let s = v[1] as? String
                    else { return nil }
                    return (labels, s)
                }
            }
            #expect(eventually(timeout: 60) { query("up{job=\"tilectl\"} == 1").count == 2 }, "\(prom.stderr)")
            try """
            [{"targets": ["127.0.0.1:\(fixtures[2].port)"], "labels": {"topology": "\(fixtures[2].name)"}}]
            """.write(toFile: targets + "/c.json", atomically: true, encoding: .utf8)
            #expect(eventually(timeout: 60) { query("up{job=\"tilectl\"} == 1").count == 3 }, "a file added is a host added")
            let up = query("up{job=\"tilectl\"}")
            print("up: \(up.map { "\($0.labels["host"] ?? "?")=\($0.value)" }.sorted())")
            #expect(up.map { $0.labels["host"] ?? "" }.sorted() == ["127.0.0.1", "a", "b"], "the third's host is its address's")
            #expect(up.allSatisfy { $0.value == "1" })

            // The recording rules, over the live series.
            #expect(eventually(timeout: 30) { query("job:up:sum").first?.value == "3" })
            #expect(
                eventually(timeout: 30) {
                    let running = query("host_kind:tile_status_running:count{kind=\"synth\"}")
                    return running.count == 3 && running.allSatisfy { $0.value == "2" }
                })
            #expect(
                eventually(timeout: 30) {
                    let builds = query("version_commit:tilectl_build_info:count")
                    return builds.count == 1 && builds[0].value == "3"
                })
        }

        @Test func theRulesPassTheirUnitTestsAndTheManifestsTheKubernetesSchema() throws {
            let rules = try run("/usr/bin/promtool", ["test", "rules", Self.fleet + "/tilectl-fleet-rules.test.yml"])
            #expect(rules.exitStatus == 0 && rules.stdout.contains("SUCCESS"), "\(rules.stdout)\(rules.stderr)")
            let federate = try run("/usr/bin/promtool", ["check", "config", Self.fleet + "/federate.yml"])
            #expect(federate.exitStatus == 0, "\(federate.stdout)\(federate.stderr)")

            let manifest = Self.fleet + "/kubernetes/tilectl.yaml"
            let k8s = try run("/usr/bin/env", ["kubernetes-validate", "--strict", manifest])
            #expect(k8s.exitStatus == 0, "\(k8s.stdout)\(k8s.stderr)")
            #expect(k8s.stdout.contains("daemonset/tilectl-validator") || k8s.stderr.contains("daemonset/tilectl-validator"))

            // The topology in its ConfigMap is one tilectl accepts.
            let toml = NSTemporaryDirectory() + "tilectl-k8s-\(UUID().uuidString.prefix(8)).toml"
            defer { unlink(toml) }
            let extract = try run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import sys, yaml; open(sys.argv[2], 'w').write(list(yaml.safe_load_all(open(sys.argv[1])))[0]['data']['validator.toml'])",
                    manifest, toml,
                ])
            #expect(extract.exitStatus == 0, "\(extract.stderr)")
            let check = try tilectl(["check", "--config", toml, "--json"])
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("\"prometheus_listen_address\" : \"0.0.0.0\""))
        }
    }
}
