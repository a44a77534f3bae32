#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// What an operator runs against a live `configs/validator.toml`: the
/// monitor, the graph, the shipped Prometheus and Grafana files, the log.
extension Integration {
    @Suite struct OperatorTests {
        static let tileNames = ["source:0", "verify:0", "verify:1", "verify:2", "verify:3", "dedup:0", "sink:0", "metric:0"]

        /// `kind:id` → host pid, from the metric tile's `tile_pid`.
        func pidsByName(_ fx: Fixture) throws -> [String: Int32] {
            var out: [String: Int32] = [:]
            for (series, pid) in try fx.tilePids() {
                let kind = series.firstMatch(of: /kind="([a-z]+)"/)?.1 ?? ""
                let id = series.firstMatch(of: /kind_id="([0-9]+)"/)?.1 ?? ""
                out["\(kind):\(id)"] = pid
            }
            return out
        }

        @Test func monitorPrintsOneSnapshotOfARunningValidator() throws {
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            let pids = try pidsByName(fx)
            #expect(pids.count == 8)

            let r = try tilectl(["monitor", "--config", fx.config, "--once", "--interval", "0.5"])
            print("monitor --once:\n\(r.stdout)")
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("topology \"\(fx.name)\": 8 tiles, 6 links, supervisor pid \(run.pid)") == true)
            #expect(!r.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
            for name in Self.tileNames {
                let row = try #require(lines.first { $0.hasPrefix(name + " ") }, "no row for \(name)")
                let fields = row.split(separator: " ", omittingEmptySubsequences: true)
                #expect(fields.count >= 3 && Int32(fields[1]) == pids[name], "\(name): \(row), pid \(String(describing: pids[name]))")
                #expect(fields.count >= 3 && fields[2] == "running", "\(row)")
            }
            // Every verify tile reads the source's link, and fragments flow.
            let inLinks = lines.filter { $0.hasPrefix("  <- ") }
            #expect(inLinks.count == 4 + 4 + 1, "\(inLinks)")
            let rates = inLinks.compactMap { $0.firstMatch(of: /([0-9]+) frags\/s/).map { Int($0.1)! } }
            #expect(rates.count == inLinks.count && rates.allSatisfy { $0 > 0 }, "\(inLinks)")

            // Not a terminal and no --once: still one snapshot, exit 0.
            let piped = try tilectl(["monitor", "--config", fx.config, "--interval", "0.2"], timeout: 20)
            #expect(piped.status == 0)
            #expect(piped.stdout.hasPrefix("topology \"\(fx.name)\""))
        }

        /// Starts `monitor` on a terminal (a pseudo-terminal from
        /// Tests/Scripts/in-pty.py), which types `send` after `wait` seconds.
        func monitorInATerminal(_ fx: Fixture, wait: Double, send: String?) throws -> LiveProcess {
            var args = ["--wait", String(wait), "--timeout", "5"]
            if let send { args += ["--send", send] }
            return try LiveProcess(
                Binary.packageRoot + "/Tests/Scripts/in-pty.py",
                args + ["--", Binary.tilectl, "monitor", "--config", fx.config, "--interval", "0.3"])
        }

        /// Pids of the processes whose command line contains `arguments`, in order.
        static func processes(running arguments: [String]) -> [Int32] {
            let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
            return pids.filter { pid in
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                return argv.count >= arguments.count
                    && (0...(argv.count - arguments.count)).contains { Array(argv[$0..<$0 + arguments.count]) == arguments }
            }
        }

        /// How the monitor in the terminal ended, and what it wrote there.
        func outcome(_ p: LiveProcess) throws -> (status: Int, killed: Bool, output: String) {
            #expect(p.waitForExit(timeout: 30))
            let json = try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: Any] ?? [:]
            return (json["status"] as? Int ?? -999, json["killed"] as? Bool ?? true, json["output"] as? String ?? "")
        }

        @Test func monitorOnATerminalRefreshesInColourAndQuitsOnQ() throws {
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }

            let r = try outcome(try monitorInATerminal(fx, wait: 2, send: "q"))
            #expect(r.status == 0 && !r.killed, "q did not quit: status \(r.status), killed \(r.killed)")
            #expect(r.output.hasPrefix("\u{1B}[?1049h"), "the alternate screen first")
            #expect(r.output.hasSuffix("\u{1B}[?25h\u{1B}[?1049l"), "the terminal put back last")
            #expect(r.output.components(separatedBy: "\u{1B}[?1049l").count == 2, "the terminal put back once")
            let refreshes = r.output.components(separatedBy: "rates over 0.3 s").count - 1
            #expect(refreshes >= 3, "\(refreshes) refreshes in 2 s at 0.3 s")
            #expect(r.output.contains("\u{1B}[32mrunning\u{1B}[0m"), "status in colour")
            for name in Self.tileNames { #expect(r.output.contains(name), "no row for \(name)") }
        }

        /// The topology stops while a live monitor has its workspaces mapped:
        /// the monitor says so and exits 1, and the huge pages the run reserved
        /// still go back to the kernel (they used to stay reserved: the run gave
        /// back only the pages that were free when it exited).
        @Test func aTopologyStoppingUnderALiveMonitorEndsItAndGivesBackItsHugePages() throws {
            let fx = try Fixture("validator.toml", pageSize: "auto")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { if run.exitStatus == nil { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) } }
            #expect(run.stderr.contains("page size huge (2 MiB)"), "\(run.stderr)")

            let monitor = try monitorInATerminal(fx, wait: 6, send: nil)
            // Stop the run only once the monitor has its workspaces mapped
            // (a fixed sleep lost that race on a loaded machine: the monitor
            // started after the run had stopped).
            #expect(
                eventually(timeout: 30) {
                    Self.processes(running: ["monitor", "--config", fx.config]).contains { pid in
                        ((try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? "").contains("tilectl.\(fx.name).")
                    }
                }, "the monitor never mapped the workspaces")
            usleep(700_000)  // and has drawn a couple of times
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0)
            let stopped = try outcome(monitor)
            #expect(stopped.status == 1 && !stopped.killed, "status \(stopped.status), killed \(stopped.killed)")
            #expect(
                stopped.output.hasSuffix("\u{1B}[?25h\u{1B}[?1049ltilectl: error: topology \"\(fx.name)\" stopped\r\n"),
                "\(stopped.output.suffix(120).debugDescription)")
            #expect(stopped.output.components(separatedBy: "\u{1B}[?1049l").count == 2, "the terminal put back once")

            // Before tearDown's `configure fini`, which would hide a leak the ledger knows of.
            #expect(
                Fixture.hugepages() == fx.hugepagesBefore,
                "nr_hugepages \(Fixture.hugepages()) after the run, \(fx.hugepagesBefore) before it")
            let surplus = "/sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages"
            #expect(eventually(timeout: 2) { (try? String(contentsOfFile: surplus, encoding: .utf8)) == "0\n" })
        }

        @Test func monitorOfATopologyThatIsNotRunningSaysSoInOneLine() throws {
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let r = try tilectl(["monitor", "--config", fx.config, "--once"])
            #expect(r.status == 1)
            #expect(r.stdout.isEmpty)
            #expect(r.stderrLines.count == 1, "\(r.stderr)")
            #expect(r.stderr.contains("topology \"\(fx.name)\" is not running"))
            #expect(r.stderr.contains("start it with `tilectl run --config \(fx.config)`"))
        }

        @Test func checkGraphDrawsEveryTileAndLinkAndRendersSVG() throws {
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let r = try tilectl(["check", "--config", fx.config, "--graph"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix("digraph \"\(fx.name)\" {"))
            for name in Self.tileNames { #expect(r.stdout.contains("  \"\(name)\""), "node \(name)") }
            let edges = r.stdout.split(separator: "\n").filter { $0.contains(" -> ") }
            #expect(edges.count == 4 + 4 + 1)
            #expect(edges.filter { $0.contains("depth 512, mtu 1232") }.count == 8)
            #expect(edges.contains { $0.contains("\"dedup:0\" -> \"sink:0\"") && $0.contains("depth 4096, mtu 1232") })

            // Graphviz reads it (scripts/setup.sh installs it).
            let svg = fx.dir + "/validator.svg"
            let rendered = try tilectl(["check", "--config", fx.config, "--graph-svg", svg])
            #expect(rendered.status == 0, "\(rendered.stderr)")
            let text = try String(contentsOfFile: svg, encoding: .utf8)
            #expect(text.contains("<svg"))
            for name in Self.tileNames { #expect(text.contains(">\(name)</text>"), "\(name) in the SVG") }

            // Without Graphviz: one line that says how to install it, nothing written.
            let missing = fx.dir + "/missing.svg"
            let none = try tilectl(["check", "--config", fx.config, "--graph-svg", missing], environment: ["PATH": "/nonexistent"])
            #expect(none.status == 1)
            #expect(none.stderrLines.count == 1, "\(none.stderr)")
            #expect(none.stderr.contains("Graphviz is not installed") && none.stderr.contains("apt-get install graphviz"))
            #expect(!FileManager.default.fileExists(atPath: missing))
        }

        @Test func theLogFileHasEveryLineWithTimeLevelAndWhoAndStderrOnlyWarnings() throws {
            let log = NSTemporaryDirectory() + "tilectl-log-\(UUID().uuidString).log"
            defer { unlink(log) }
            let fx = try Fixture("validator.toml", pageSize: "auto") {
                $0.replacingOccurrences(
                    of: #"(?m)^\[log\]\n(.*\n)*?(?=\[)"#,
                    with: "[log]\npath = \"\(log)\"\nlevel_logfile = \"debug\"\n\n", options: .regularExpression)
            }
            defer { fx.tearDown() }
            let run = try LiveProcess(Binary.tilectl, ["run", "--config", fx.config])
            defer { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) }
            func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            #expect(eventually(timeout: 30) { logText().contains("is up:") }, "log: \(logText())\nstderr: \(run.stderr)")
            let pids = try pidsByName(fx)
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0)

            let lines = logText().split(separator: "\n").map(String.init)
            let shape = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} (DEBUG  |INFO   |NOTICE |WARNING|ERR    ) (supervisor|[a-z]+:\d+): ./
            for line in lines { #expect(line.firstMatch(of: shape) != nil, "not `time level who: message`: \(line)") }
            let text = logText()
            // Start-up says what it did: page size and pages, the workspaces, the listen URL, each tile's pid.
            #expect(text.contains("supervisor: page size "))
            #expect(lines.contains { $0.contains("DEBUG   supervisor: workspace ") })
            #expect(text.contains("metric:0: serving metrics at http://127.0.0.1:\(fx.port)/metrics"))
            let up = try #require(lines.first { $0.contains("is up:") })
            for name in Self.tileNames {
                let pid = try #require(pids[name])
                #expect(up.contains("\(name)=\(pid)"), "\(name) in \(up)")
                #expect(text.contains("\(name): running (pid \(pid))"), "\(name) says its pid")
                #expect(text.contains("\(name): halted by the supervisor"))
            }
            #expect(text.contains("supervisor: every tile halted; the topology is stopped"))
            // With a log file and no level_stderr, the terminal gets warnings and worse only.
            #expect(!run.stderr.contains("INFO") && !run.stderr.contains("NOTICE"), "stderr: \(run.stderr)")
        }

        /// Metric names a PromQL expression reads (functions, keywords, labels,
        /// ranges and variables taken out).
        static func metricNames(_ expr: String) -> Set<String> {
            var e = expr.replacing(/\{[^}]*\}/, with: "").replacing(/\[[^\]]*\]/, with: "")
            e = e.replacing(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/, with: "")
            var names: Set<String> = []
            // Whole runs of word characters, so that 1e9 is a number, not "e9".
            for m in e.matches(of: /([0-9A-Za-z_.$]+)(\s*\()?/) where m.2 == nil {
                let name = String(m.1)
                guard name.wholeMatch(of: /[a-zA-Z_][a-zA-Z0-9_]*/) != nil else { continue }
                if !["and", "or", "unless", "bool", "offset", "inf", "nan"].contains(name) { names.insert(name) }
            }
            return names
        }

        @Test func theShippedPrometheusAndGrafanaFilesReadMetricsTheTopologyExports() throws {
            let root = Binary.packageRoot
            for (what, file) in [("config", "prometheus.yml"), ("rules", "tilectl-rules.yml")] {
                let p = try LiveProcess("/usr/bin/promtool", ["check", what, root + "/configs/" + file])
                #expect(p.waitForExit(timeout: 30))
                #expect(p.exitStatus == 0, "promtool check \(what) \(file): \(p.stdout) \(p.stderr)")
            }

            var expressions: [String] = []
            let dashboard =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: root + "/configs/grafana/tilectl-dashboard.json"))) as? [String: Any]
            let panels = try #require(dashboard?["panels"] as? [[String: Any]])
            for panel in panels {
                for target in panel["targets"] as? [[String: Any]] ?? [] {
                    expressions.append(try #require(target["expr"] as? String))
                }
            }
            #expect(expressions.count >= 20)
            let rules = try String(contentsOfFile: root + "/configs/tilectl-rules.yml", encoding: .utf8)
            expressions += rules.matches(of: /(?m)^\s*expr: (.*)$/).map { String($0.1) }

            // Every name they read is a family the validator topology exports.
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            let body = try fx.scrape().body
            var exported: Set<String> = ["up"]  // Prometheus's own, per target
            for m in body.matches(of: /(?m)^([a-zA-Z_][a-zA-Z0-9_]*)[{ ]/) { exported.insert(String(m.1)) }
            let read = expressions.reduce(into: Set<String>()) { $0.formUnion(Self.metricNames($1)) }
            #expect(read.count >= 15, "\(read.sorted())")
            #expect(read.subtracting(exported).isEmpty, "read but not exported: \(read.subtracting(exported).sorted())")
        }
    }
}
