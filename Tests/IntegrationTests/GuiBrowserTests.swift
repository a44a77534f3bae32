#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

extension Integration {
    /// The gui tile's page in a real browser: Debian's headless Chromium,
    /// driven through Selenium by Tests/Scripts/gui-browser.py, against a
    /// booted validator topology, checked against what /metrics says.
    @Suite struct GuiBrowserTests {
        static let driver = Binary.packageRoot + "/Tests/Scripts/gui-browser.py"
        static let mock = Binary.packageRoot + "/Tests/Scripts/gui-mock-server.py"
        /// Screenshots CI keeps (under .build, which git ignores).
        static let shots = Binary.packageRoot + "/.build/gui-screenshots"
        /// `/healthz`'s bound (the gui's stale bound), its push interval, and
        /// what a page needs to show what it got (the driver polls at 0.1 s).
        static let staleBound = 2.0, interval = 0.25, slack = 1.0

        /// Runs the driver to completion; its exit status and what it printed.
        /// (`python3` from PATH: the one .ci/run installed Selenium for.)
        static func browse(_ arguments: [String], timeout: Double = 120) throws -> CommandResult {
            try tilectl(["python3", driver] + arguments, timeout: timeout, binary: "/usr/bin/env")
        }

        /// The seconds the driver printed for `phase` ("seconds stale 2.345").
        static func seconds(_ out: String, _ phase: String) -> Double? {
            out.split(separator: "\n").compactMap { line -> Double? in
                let words = line.split(separator: " ")
                return words.count == 3 && words[0] == "seconds" && words[1] == phase ? Double(words[2]) : nil
            }.first
        }

        /// A PNG of more than a few kilobytes: the driver itself checked it
        /// has more than three colours.
        static func isImage(_ path: String) -> Bool {
            guard let data = FileManager.default.contents(atPath: path), data.count > 8_000 else { return false }
            return data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        }

        @Test func thePageShowsWhatMetricsShowsATileGoingStaleAndTheTopologyStopping() throws {
            try FileManager.default.createDirectory(atPath: Self.shots, withIntermediateDirectories: true)
            let guiPort = HTTPClient.freePort()
            let fx = try Fixture("validator.toml") { $0 + "\n[tiles.gui]\ngui_listen_port = \(guiPort)\n" }
            defer { fx.tearDown() }
            let run = try fx.boot(timeout: 60)
            defer {
                run.kill(SIGTERM)
                #expect(run.waitForExit(timeout: 10))
                #expect(fx.leftovers().isEmpty, "left behind: \(fx.leftovers())")
            }
            let url = "http://127.0.0.1:\(guiPort)/"

            // What the page shows is what Prometheus reads: the tile count,
            // every tile's status and staleness, one link's rate.
            let shot = Self.shots + "/validator.png"
            let check = try Self.browse([
                "check", "--url", url, "--metrics", "http://127.0.0.1:\(fx.port)/metrics", "--screenshot", shot,
            ])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(check.stdout.contains("check: ok"), "\(check.stdout)")
            #expect(Self.isImage(shot), "screenshot \(shot)")

            // A verifier stopped with SIGSTOP is shown stale within the
            // healthz bound (plus one push and the page's drawing), named in
            // the banner; after SIGCONT it recovers.
            let pids = try fx.tilePids()
            let verify1 = try #require(pids["tile_pid{kind=\"verify\",kind_id=\"1\"}"])
            let stale = try Self.browse([
                "wait-stale", "--url", url, "--tile", "verify:1", "--stop-pid", String(verify1), "--timeout", "10",
                "--recover-timeout", "10", "--screenshot", Self.shots + "/validator-stale.png",
            ])
            #expect(stale.status == 0, "\(stale.stdout)\(stale.stderr)")
            let staleAfter = try #require(Self.seconds(stale.stdout, "stale"), "\(stale.stdout)")
            #expect(staleAfter <= Self.staleBound + Self.interval + Self.slack, "stale shown after \(staleAfter) s")
            #expect(staleAfter >= Self.staleBound - Self.interval, "stale shown before the bound: \(staleAfter) s")
            let recovered = try #require(Self.seconds(stale.stdout, "recovered"), "\(stale.stdout)")
            #expect(recovered <= Self.interval + Self.slack + 1, "recovered after \(recovered) s")
            #expect(Glibc.kill(verify1, 0) == 0, "the verifier runs on")

            // Keyboard: every part reachable and operable without a mouse.
            let keys = try Self.browse(["keyboard", "--url", url])
            #expect(keys.status == 0, "\(keys.stdout)\(keys.stderr)")

            // The topology stops: an open page says so at once.
            let watcher = try LiveProcess(
                "/usr/bin/env", ["python3", Self.driver, "wait-unreachable", "--url", url, "--timeout", "30"])
            defer { watcher.kill(SIGKILL) }
            #expect(eventually(timeout: 60) { watcher.stdout.contains("live\n") }, "\(watcher.stdout)\(watcher.stderr)")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(watcher.waitForExit(timeout: 40))
            #expect(watcher.exitStatus == 0, "\(watcher.stdout)\(watcher.stderr)")
            let gone = try #require(Self.seconds(watcher.stdout, "unreachable"), "\(watcher.stdout)")
            #expect(gone <= 3 + Self.slack, "stopped shown after \(gone) s")
        }

        /// At 256 tiles the page stays readable: kinds drawn as one node each,
        /// nothing overlapping, the table scrolling. The page is the same
        /// whoever serves it, so a mock server feeds it 256 tiles (booting
        /// 256 processes here would test the machine, not the page).
        @Test func atTwoHundredFiftySixTilesThePageStaysReadable() throws {
            try FileManager.default.createDirectory(atPath: Self.shots, withIntermediateDirectories: true)
            let port = HTTPClient.freePort()
            let server = try LiveProcess("/usr/bin/env", ["python3", Self.mock, String(port), "--tiles", "256"])
            defer {
                server.kill(SIGTERM)
                _ = server.waitForExit(timeout: 5)
            }
            #expect(eventually(timeout: 20) { server.stdout.contains("listening on") }, "\(server.stderr)")
            let shot = Self.shots + "/256-tiles.png"
            let size = try Self.browse([
                "size", "--url", "http://127.0.0.1:\(port)/", "--tiles", "256", "--screenshot", shot,
            ])
            #expect(size.status == 0, "\(size.stdout)\(size.stderr)")
            #expect(Self.isImage(shot), "screenshot \(shot)")
        }
    }
}
