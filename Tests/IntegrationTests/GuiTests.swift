#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

extension Integration {
    /// The gui tile in a booted validator topology, as a browser and as a
    /// hostile client talk to it.
    @Suite struct GuiTests {
        /// Runs `body` against the validator topology with a `[tiles.gui]` on
        /// a free port (huge pages when the host has them), and stops it after:
        /// no tile left, no workspace, every page given back.
        static func withGui(_ body: (Fixture, Int) throws -> Void) throws {
            let guiPort = HTTPClient.freePort()
            let fx = try Fixture("validator.toml") { $0 + "\n[tiles.gui]\ngui_listen_port = \(guiPort)\n" }
            defer { fx.tearDown() }
            let run = try fx.boot(timeout: 60)
            defer {
                run.kill(SIGTERM)
                #expect(run.waitForExit(timeout: 10), "the topology stops on SIGTERM")
                #expect(fx.leftovers().isEmpty, "left behind: \(fx.leftovers())")
            }
            try body(fx, guiPort)
        }

        static func guiPid(_ fx: Fixture) throws -> Int32? {
            try fx.tilePids()["tile_pid{kind=\"gui\",kind_id=\"0\"}"]
        }

        /// `count` bytes or until `seconds` pass, from a fresh connection
        /// that sent `request`; how it ended ("EOF", "reset", "open").
        static func read(port: Int, _ request: String, seconds: Double) throws -> (text: String, end: String) {
            let fd = try HTTPClient.connect(port: port, timeout: 0.1)
            defer { close(fd) }
            _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var got: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { got += buf[0..<n]; continue }
                if n == 0 { return (String(decoding: got, as: UTF8.self), "EOF") }
                if errno == ECONNRESET { return (String(decoding: got, as: UTF8.self), "reset") }
            }
            return (String(decoding: got, as: UTF8.self), "open")
        }

        @Test func servesThePageTheSnapshotAndTheStreamOfTheValidator() throws {
            try Self.withGui { fx, port in
                // The page, its style and script: as they are in the tree,
                // gzipped on the wire (the client inflates and checks).
                for (path, file, type) in [
                    ("/", "index.html", "text/html; charset=utf-8"), ("/app.js", "app.js", "text/javascript; charset=utf-8"),
                    ("/app.css", "app.css", "text/css; charset=utf-8"),
                ] {
                    let r = try HTTPClient.request(port: port, path: path)
                    #expect(r.status == 200, "\(path)")
                    #expect(r.headers["content-type"] == type)
                    #expect(r.headers["content-encoding"] == "gzip")
                    #expect(r.headers["content-security-policy"]?.hasPrefix("default-src 'none'; script-src 'self';") == true)
                    let onDisk = try String(contentsOfFile: Binary.packageRoot + "/Sources/GuiTile/Assets/" + file, encoding: .utf8)
                    #expect(r.body == onDisk, "\(path) is the file the binary was built with")
                }

                // The snapshot: every tile of the topology, every one running.
                let tiles = try fx.tilePids().count
                #expect(tiles == 9, "8 validator tiles and the gui")
                // Rendered every 250 ms: the one after "is up" says every tile runs.
                var r = try HTTPClient.request(port: port, path: "/api/v1/snapshot")
                var snapshot: [String: Any] = [:]
                for _ in 0..<20 {
                    r = try HTTPClient.request(port: port, path: "/api/v1/snapshot")
                    snapshot = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
                    if snapshot["healthy"] as? Bool == true { break }
                    usleep(100_000)
                }
                #expect(r.status == 200)
                #expect(r.headers["content-type"] == "application/json")
                #expect(r.headers["cache-control"] == "no-store")
                #expect(snapshot["healthy"] as? Bool == true)
                let (valid, why) = try runScript(
                    Binary.packageRoot + "/Tests/Scripts/validate-json.py", [Binary.packageRoot + "/docs/schema/gui-snapshot.schema.json"],
                    input: Data(r.body.utf8))
                #expect(valid == 0, "docs/schema/gui-snapshot.schema.json: \(why)")
                #expect(snapshot["schema"] as? String == "urn:tilectl:schema:gui-snapshot:1")
                #expect(snapshot["topology"] as? String == fx.name)
                let list = try #require(snapshot["tiles"] as? [[String: Any]])
                #expect(list.count == tiles)
                #expect(list.allSatisfy { $0["status"] as? String == "running" }, "\(list.map { $0["status"] ?? "?" })")
                let pids = try fx.tilePids()
                for t in list {
                    let series = "tile_pid{kind=\"\(t["kind"]!)\",kind_id=\"\(t["kind_id"]!)\"}"
                    #expect(pids[series].map(Int.init) == t["pid"] as? Int, "\(series)")
                }
                #expect((snapshot["links"] as? [Any])?.count == 9, "source_verify to 4 verifiers, 4 verify_dedup, dedup_sink")

                // The stream: retry, then an event every 250 ms, seq rising.
                let (text, end) = try Self.read(port: port, "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", seconds: 1.6)
                #expect(end == "open")
                #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"))
                let body = try #require(text.components(separatedBy: "\r\n\r\n").dropFirst().first)
                #expect(body.hasPrefix("retry: 2000\n\n"))
                let events = body.components(separatedBy: "event: snapshot\ndata: ").dropFirst()
                #expect(events.count >= 5, "\(events.count) events in 1.6 s")
                var seqs: [Int] = []
                for e in events.dropLast() {
                    let line = try #require(e.split(separator: "\n", maxSplits: 1).first)
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    seqs.append(json["seq"] as? Int ?? -1)
                }
                #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "\(seqs)")
                // Links carry transactions by now.
                let lastLine = try #require(events.dropLast().last?.split(separator: "\n").first)
                let last = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
                let rates = (last["links"] as? [[String: Any]] ?? []).compactMap { $0["frags_per_second"] as? Double }
                #expect(rates.contains { $0 > 0 }, "\(rates)")
            }
        }

        @Test func refusesWebSocketsOtherOriginsAndAnythingButReadingAndKeepsItsStreamsBounded() throws {
            try Self.withGui { fx, port in
                let pid = try #require(try Self.guiPid(fx))
                let ws =
                    "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                let (bytes, end) = try HTTPClient.exchangeToEnd(port: port, Array(ws.utf8), quiet: 2)
                #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
                #expect(end == "EOF", "a close, never a 101")

                let cross = try HTTPClient.request(port: port, path: "/api/v1/snapshot", headers: ["Origin: http://evil.example"])
                #expect(cross.status == 403)
                #expect(!cross.headers.keys.contains { $0.hasPrefix("access-control-") })
                let same = try HTTPClient.request(port: port, path: "/api/v1/snapshot", headers: ["Origin: http://127.0.0.1:\(port)"])
                #expect(same.status == 200)
                #expect(try HTTPClient.request(port: port, method: "POST", path: "/api/v1/snapshot").status == 405)

                // 20 pages at once: 16 streams; each newcomer beyond closes the oldest.
                var fds: [Int32] = []
                defer { fds.forEach { close($0) } }
                for _ in 0..<20 {
                    let fd = try HTTPClient.connect(port: port, timeout: 0.05)
                    _ = Array("GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8).withUnsafeBytes {
                        send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                    }
                    fds.append(fd)
                    usleep(20_000)
                }
                usleep(800_000)
                var closed = 0, live = 0
                var buf = [UInt8](repeating: 0, count: 1 << 16)
                for fd in fds {
                    var got = 0
                    var ended = false
                    while true {
                        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                        if n > 0 { got += n; continue }
                        if n == 0 || errno == ECONNRESET { ended = true }
                        break
                    }
                    if ended { closed += 1 } else if got > 0 { live += 1 }
                }
                #expect(live == 16 && closed == 4, "\(live) streams live, \(closed) closed")
                let metrics = try fx.scrape().body
                #expect(metrics.contains("gui_streams_evicted_total{kind=\"gui\",kind_id=\"0\"} 4\n"))
                #expect(metrics.contains("gui_streams_active{kind=\"gui\",kind_id=\"0\"} 16\n"), "published at housekeeping")
                #expect(try Self.guiPid(fx) == pid, "the same gui tile, still serving")
                #expect(try HTTPClient.request(port: port, path: "/api/v1/snapshot").status == 200)

                // Its sandbox, as `check --sandbox` shows it: the metric tile's policy.
                let check = try tilectl(["check", "--config", fx.config, "--sandbox"]).stdout
                // Each section up to the blank line that ends it.
                func section(_ title: String) -> String? {
                    check.components(separatedBy: title).dropFirst().first?.components(separatedBy: "\n\n").first
                }
                let gui = try #require(section("sandbox of gui (1 tile): "))
                let metric = try #require(section("sandbox of metric (1 tile): "))
                #expect(gui.hasPrefix("exposure 0.0 PERFECT"))
                #expect(gui.contains("descriptors   2 stderr, 3 death pipe, 5 listen socket; nothing else"))
                let seccomp = { (s: String) in s.split(separator: "\n").first { $0.hasPrefix("  seccomp") }.map { $0.prefix(24) } }
                #expect(seccomp(gui) == "  seccomp       17 sysca", "\(seccomp(gui) ?? "none")")
                #expect(seccomp(gui) == seccomp(metric))
                #expect(gui.contains("    accept4        fd == 5 (listen socket)"))
                #expect(!gui.contains("    socket ") && !gui.contains("    openat "))
            }
        }

        @Test func everyHostileRequestGetsA4xxOrACloseFromTheGui() throws {
            try Self.withGui { fx, port in
                let pid = try #require(try Self.guiPid(fx))
                let corpus = Binary.packageRoot + "/Tests/Corpus"
                var files: [String] = []
                for dir in ["gui-hostile", "http-hostile"] {
                    files += try FileManager.default.contentsOfDirectory(atPath: corpus + "/" + dir).filter { $0.hasSuffix(".bin") }
                        .sorted().map { dir + "/" + $0 }
                }
                #expect(files.count >= 280)
                let rssBefore = residentKiB(pid)
                var outcomes: [String: Int] = [:]
                for file in files {
                    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + file)))
                    let expect = corpus + "/" + file.dropLast(4) + ".expect"
                    // The gui's exact answers; the metric tile's are its own.
                    if file.hasPrefix("gui-"), let template = FileManager.default.contents(atPath: expect).map(Array.init) {
                        let (got, end) = try HTTPClient.exchangeToEnd(port: port, bytes)
                        let closes =
                            String(decoding: template, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").last?
                            .contains("\r\nConnection: close\r\n") ?? false
                        #expect(matchesTemplate(got, template), "\(file): got \(String(decoding: got, as: UTF8.self).debugDescription)")
                        #expect(end == (closes ? "EOF" : "open"), "\(file): ended with \(end)")
                        outcomes["exact", default: 0] += 1
                        continue
                    }
                    if FileManager.default.fileExists(atPath: expect) { continue }
                    switch try react(port: port, bytes) {
                    case .answered(let statuses):
                        #expect(!statuses.isEmpty && statuses.allSatisfy { (400..<500).contains($0) }, "\(file): \(statuses)")
                        outcomes[String(statuses.last ?? 0), default: 0] += 1
                    case .closed:
                        outcomes["close", default: 0] += 1
                    case .silentAndOpen:
                        Issue.record("\(file): neither answered nor closed")
                    }
                }
                let rssAfter = residentKiB(pid)
                #expect(rssAfter - rssBefore < 1024, "gui tile RSS grew from \(rssBefore) to \(rssAfter) KiB")
                #expect(try Self.guiPid(fx) == pid, "the same gui tile")
                #expect(try HTTPClient.request(port: port, path: "/api/v1/snapshot").status == 200)
                print(
                    "gui hostile HTTP: \(files.count) requests; outcomes \(outcomes.sorted { $0.key < $1.key }); RSS \(rssBefore) -> \(rssAfter) KiB"
                )
            }
        }
    }
}
