#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Runs a helper script with `input` on stdin; its exit status and stdout.
func runScript(_ path: String, _ args: [String], input: Data) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let inPipe = Pipe(), outPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    p.standardError = outPipe
    try p.run()
    inPipe.fileHandleForWriting.write(input)
    try inPipe.fileHandleForWriting.close()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: out, as: UTF8.self))
}

extension Integration {
    @Suite struct ScrapeTests {
        static let parser = Binary.packageRoot + "/Tests/Scripts/parse-exposition.py"

        /// Runs `body` against the validator topology, unthrottled (its source
        /// as fast as it goes), and stops it after.
        static func withSaturatedValidator(_ body: (Fixture) throws -> Void) throws {
            let fx = try Fixture("validator.toml", pageSize: "normal", edit: LinkFlowTests.validator(limit: 0))
            defer { fx.tearDown() }
            let run = try fx.boot(timeout: 60)
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            try body(fx)
        }

        @Test func bothFormatsParseWithPromtoolAndPrometheusClient() throws {
            try Self.withSaturatedValidator { fx in
                let text = try fx.scrape()
                #expect(text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
                let samplesInText = text.body.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
                #expect(try promtool(text.body) == 0)
                let (rc, parsed) = try runScript(Self.parser, ["text"], input: Data(text.body.utf8))
                #expect(rc == 0, "\(parsed)")
                #expect(Int(parsed.trimmingCharacters(in: .whitespacesAndNewlines)) == samplesInText)

                let om = try HTTPClient.request(port: fx.port, headers: ["Accept: application/openmetrics-text; version=1.0.0"])
                #expect(om.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
                #expect(om.body.hasSuffix("# EOF\n"))
                let (rc2, parsed2) = try runScript(Self.parser, ["openmetrics"], input: Data(om.body.utf8))
                #expect(rc2 == 0, "\(parsed2)")
                #expect(Int(parsed2.trimmingCharacters(in: .whitespacesAndNewlines)) == samplesInText)

                // What runs: the version and the commit `tilectl --version`
                // reports, which is the checkout's HEAD.
                let version = try tilectl(["--version"])
                let reported = try #require(
                    version.stdout.wholeMatch(of: /([0-9]+\.[0-9]+\.[0-9]+) \(commit ([0-9a-f]{40})(-dirty)?\)\n/),
                    "\(version.stdout)")
                let git = try LiveProcess("/usr/bin/git", ["-C", Binary.packageRoot, "rev-parse", "HEAD"])
                #expect(git.waitForExit(timeout: 30))
                #expect(String(reported.2) == git.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                let labels = "{version=\"\(reported.1)\",commit=\"\(reported.2)\(reported.3 ?? "")\"} 1\n"
                #expect(text.body.contains("# TYPE tilectl_build_info gauge\ntilectl_build_info" + labels))
                #expect(om.body.contains("# TYPE tilectl_build info\ntilectl_build_info" + labels))
            }
        }

        static let consistency = Binary.packageRoot + "/Tests/Scripts/scrape-consistency.py"

        /// 1,000 scrapes of the saturated validator with Prometheus's own
        /// request (OpenMetrics preferred, gzip), every body inflated by
        /// Python's gzip and parsed by prometheus_client's strict OpenMetrics
        /// parser: histograms cumulative, +Inf equal to _count, no counter
        /// decreasing. Then curl --compressed, another inflater.
        @Test func aThousandPrometheusScrapesOfTheSaturatedValidatorAreConsistent() throws {
            try Self.withSaturatedValidator { fx in
                let before = total(samples(try fx.scrape().body), "source_transactions_total")

                let p = try LiveProcess(Self.consistency, ["--port", String(fx.port), "--scrapes", "1000"])
                #expect(p.waitForExit(timeout: 600))
                #expect(p.exitStatus == 0, "\(p.stdout) \(p.stderr)")
                print("consistency: \(p.stdout.trimmingCharacters(in: .newlines))")
                let after = total(samples(try fx.scrape().body), "source_transactions_total")
                #expect(after > before + 10_000, "saturated: the source sent \(after - before) transactions meanwhile")

                let curl = try LiveProcess(
                    "/usr/bin/curl",
                    [
                        "--silent", "--show-error", "--fail", "--compressed",
                        "-H", "Accept: application/openmetrics-text;version=1.0.0",
                        "http://127.0.0.1:\(fx.port)/metrics",
                    ])
                #expect(curl.waitForExit(timeout: 30))
                #expect(curl.exitStatus == 0, "\(curl.stderr)")
                let (rc, parsed) = try runScript(Self.parser, ["openmetrics"], input: Data(curl.stdout.utf8))
                #expect(rc == 0 && (Int(parsed.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 100, "\(parsed)")
            }
        }

        @Test func gzipIsServedWhenAccepted() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            let raw = try HTTPClient.exchange(
                port: fx.port,
                Array(
                    "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n".utf8))
            let terminator: [UInt8] = [13, 10, 13, 10]
            let found = (0..<(raw.count - 3)).first { Array(raw[$0..<($0 + 4)]) == terminator }
            let split = try #require(found)
            let head = String(decoding: raw[0..<split], as: UTF8.self)
            #expect(head.contains("Content-Encoding: gzip"))
            let body = Data(raw[(split + 4)...])
            #expect(body.starts(with: [0x1F, 0x8B]), "gzip magic")
            let (rc, out) = try runScript(
                "/usr/bin/python3", ["-c", "import gzip,sys; sys.stdout.write(gzip.decompress(sys.stdin.buffer.read()).decode())"],
                input: body)
            #expect(rc == 0)
            #expect(out.contains("tile_heartbeat_timestamp_nanos{kind=\"synth\",kind_id=\"1\"}"))
        }

        @Test func healthzGoesStaleWhenATileStopsAndRecovers() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            #expect(eventually(timeout: 5) { (try? fx.scrape("/healthz").status) == 200 })
            let pid = try #require(try fx.tilePids()["tile_pid{kind=\"synth\",kind_id=\"1\"}"])
            let stopped = Date()
            kill(pid, SIGSTOP)
            var stale = ""
            #expect(
                eventually(timeout: 5) {
                    guard let r = try? fx.scrape("/healthz"), r.status == 503 else { return false }
                    stale = r.body
                    return true
                })
            let staleAfter = Date().timeIntervalSince(stopped)
            #expect(stale.hasPrefix("stale: synth:1 (last heartbeat "), "\(stale)")
            let resumed = Date()
            kill(pid, SIGCONT)
            #expect(eventually(timeout: 5) { (try? fx.scrape("/healthz").status) == 200 })
            print(
                "SIGSTOP synth:1 -> /healthz 503 after \(Int(staleAfter * 1000)) ms (\(stale.prefix { $0 != "\n" })); "
                    + "SIGCONT -> 200 after \(Int(Date().timeIntervalSince(resumed) * 1000)) ms")
        }

        @Test func aRealPrometheusScrapesEverySample() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }

            let webPort = HTTPClient.freePort()
            let config = fx.dir + "/prometheus.yml"
            try """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: tilectl
                static_configs:
                  - targets: ["127.0.0.1:\(fx.port)"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let prom = try LiveProcess(
                "/usr/bin/prometheus",
                [
                    "--config.file=\(config)", "--storage.tsdb.path=\(fx.dir)/tsdb",
                    "--web.listen-address=127.0.0.1:\(webPort)", "--log.level=warn",
                ])
            defer { prom.kill(SIGTERM); _ = prom.waitForExit(timeout: 10) }

            func query(_ q: String) -> String? {
                let path = "/api/v1/query?query=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q)
                guard let r = try? HTTPClient.request(port: webPort, path: path), r.status == 200,
                    let json = try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
                    let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                    let value = result.first?["value"] as? [Any], value.count == 2
                else { return nil }
                return value[1] as? String
            }
            #expect(eventually(timeout: 30) { query("up{job=\"tilectl\"}") == "1" }, "prometheus: \(prom.stderr)")
            let expected = try fx.scrape().body.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
            let scraped = query("scrape_samples_scraped{job=\"tilectl\"}")
            #expect(scraped == String(expected), "prometheus scraped \(scraped ?? "nothing"), the body has \(expected)")
        }
    }
}
