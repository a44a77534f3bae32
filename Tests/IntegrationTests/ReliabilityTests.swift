#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Resident memory of a process, in KiB (VmRSS).
func residentKiB(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
}

/// How the server answered one request.
enum Reaction: Equatable {
    /// The status of every complete response, in order.
    case answered([Int])
    /// Closed without a word (after we stopped sending, or before).
    case closed
    case silentAndOpen
}

/// The statuses of the complete responses at the start of `bytes`.
func responseStatuses(_ bytes: [UInt8]) -> [Int] {
    var statuses: [Int] = []
    var at = 0
    while at < bytes.count {
        guard
            let end = (at..<max(at, bytes.count - 3)).first(where: {
                bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
            })
        else { break }
        let head = String(decoding: bytes[at..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard head[0].hasPrefix("HTTP/1.1 "), let status = Int(head[0].dropFirst(9).prefix(3)) else { break }
        let length =
            head.dropFirst().first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        guard end + 4 + length <= bytes.count else { break }
        statuses.append(status)
        at = end + 4 + length
    }
    return statuses
}

/// Sends `bytes` and reads what comes back: done at the first complete
/// response (or close); if nothing comes within `wait`, stops sending
/// (shutdown) and reads until the server closes.
func react(port: Int, _ bytes: [UInt8], wait: Double = 0.1) throws -> Reaction {
    let fd = try HTTPClient.connect(port: port, timeout: wait)
    defer { close(fd) }
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }  // the server closed early (a 431 mid-send)
        off += n
    }
    var got: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    var shut = false
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            got += buf[0..<n]
            let statuses = responseStatuses(got)
            if !statuses.isEmpty && !shut && statuses.count >= 1 && got.count > 0 {
                // A complete response; a pipelined one may follow at once.
                usleep(20_000)
                let more = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if more > 0 { got += buf[0..<more] }
                return .answered(responseStatuses(got))
            }
            continue
        }
        if n == 0 || errno == ECONNRESET { break }
        // Silence: stop sending, and see what the server makes of it.
        if shut { return .silentAndOpen }
        shutdown(fd, Int32(SHUT_WR))
        shut = true
    }
    let statuses = responseStatuses(got)
    return statuses.isEmpty ? .closed : .answered(statuses)
}

/// Whether `got` is what a `.expect` template stands for: its bytes, but
/// `{date}` is an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and
/// `{digits}` a decimal number.
func matchesTemplate(_ got: [UInt8], _ template: [UInt8]) -> Bool {
    let date = Array("{date}".utf8), digits = Array("{digits}".utf8)
    // "Www, DD Mmm YYYY HH:MM:SS GMT": a letter, digit or the literal byte.
    let shape = Array("Aaa, 00 Aaa 0000 00:00:00 GMT".utf8)
    var g = 0, t = 0
    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    while t < template.count {
        if template[t...].starts(with: date) {
            guard g + shape.count <= got.count else { return false }
            for (k, c) in shape.enumerated() {
                let b = got[g + k]
                let ok =
                    c == UInt8(ascii: "0")
                    ? isDigit(b) : (c == UInt8(ascii: "A") || c == UInt8(ascii: "a")) && k < 16 ? isLetter(b) : b == c
                guard ok else { return false }
            }
            g += shape.count
            t += date.count
        } else if template[t...].starts(with: digits) {
            let start = g
            while g < got.count, isDigit(got[g]) { g += 1 }
            guard g > start else { return false }
            t += digits.count
        } else {
            guard g < got.count, got[g] == template[t] else { return false }
            g += 1
            t += 1
        }
    }
    return g == got.count
}

extension Integration {
    @Suite struct ReliabilityTests {
        static let corpus = Binary.packageRoot + "/Tests/Corpus"

        @Test func everyHostileRequestGetsA4xxOrACloseOrItsExactBytesAndMemoryStaysBounded() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            let metricPid = try #require(try fx.tilePids()["tile_pid{kind=\"metric\",kind_id=\"0\"}"])

            let dir = Self.corpus + "/http-hostile"
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".bin") }.sorted()
            #expect(files.count >= 200)
            var outcomes: [String: Int] = [:]
            let rssBefore = residentKiB(metricPid)
            var rssAfterFirstPass = 0
            for pass in 1...3 {
                for file in files {
                    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file)))
                    let expectPath = dir + "/" + file.dropLast(4) + ".expect"
                    if let template = FileManager.default.contents(atPath: expectPath).map(Array.init) {
                        // Exactly these bytes, then EOF after `Connection: close`, else an open, quiet connection.
                        let (got, end) = try HTTPClient.exchangeToEnd(port: fx.port, bytes)
                        let closes =
                            String(decoding: template, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").last?
                            .contains("\r\nConnection: close\r\n") ?? false
                        let exact = matchesTemplate(got, template)
                        #expect(exact, "\(file): got \(String(decoding: got, as: UTF8.self).debugDescription)")
                        #expect(end == (closes ? "EOF" : "open"), "\(file): the stream ended with \(end)")
                        if pass == 1 { outcomes["exact", default: 0] += 1 }
                        continue
                    }
                    let r = try react(port: fx.port, bytes)
                    switch r {
                    case .answered(let statuses):
                        // A valid request pipelined ahead of the hostile part is answered 200 first.
                        let hostile = file.contains("pipelined-valid") ? Array(statuses.drop { $0 == 200 }) : statuses
                        #expect(!hostile.isEmpty && hostile.allSatisfy { (400..<500).contains($0) }, "\(file): \(statuses)")
                        if pass == 1 { outcomes[String(hostile.last ?? 0), default: 0] += 1 }
                    case .closed:
                        if pass == 1 { outcomes["close", default: 0] += 1 }
                    case .silentAndOpen:
                        Issue.record("\(file): neither answered nor closed")
                    }
                }
                if pass == 1 { rssAfterFirstPass = residentKiB(metricPid) }
            }
            let rssAfter = residentKiB(metricPid)
            #expect(rssAfter - rssAfterFirstPass < 1024, "metric tile RSS grew from \(rssAfterFirstPass) to \(rssAfter) KiB")
            // Still the same process, still serving.
            #expect(try fx.tilePids()["tile_pid{kind=\"metric\",kind_id=\"0\"}"] == metricPid)
            #expect(try fx.scrape().status == 200)
            #expect(run.exitStatus == nil, "the topology is still up")
            print(
                "hostile HTTP: \(files.count) requests x 3 passes; outcomes \(outcomes.sorted { $0.key < $1.key }); "
                    + "metric tile RSS \(rssBefore) KiB before, \(rssAfterFirstPass) KiB after pass 1, \(rssAfter) KiB after pass 3")
        }

        @Test func everyBadTopologyFileGetsOneLineWithAPositionAndLeavesNothing() throws {
            let dir = Self.corpus + "/bad-topologies"
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(files.count >= 50)
            let shmBefore = Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm"))
            let mountsBefore = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
            for file in files {
                let path = dir + "/" + file
                for command in [["run"], ["check"]] {
                    let r = try tilectl(command + ["--config", path], timeout: 30)
                    #expect(r.status == 2, "\(command[0]) \(file): exit \(r.status)")
                    #expect(r.stderrLines.count == 1, "\(command[0]) \(file): \(r.stderr)")
                    let line = r.stderr.trimmingCharacters(in: .newlines)
                    let prefix = "tilectl: error: \(path):"
                    let position = line.hasPrefix(prefix) ? line.dropFirst(prefix.count).split(separator: ":").prefix(2) : []
                    #expect(
                        position.count == 2 && position.allSatisfy { Int($0) != nil && Int($0)! > 0 },
                        "\(file): no line:column in \(line)")
                }
            }
            let shmAfter = Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm"))
            #expect(shmAfter.subtracting(shmBefore).isEmpty, "left behind: \(shmAfter.subtracting(shmBefore))")
            #expect((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) == mountsBefore, "nothing mounted")
        }

        static let overload = Binary.packageRoot + "/Tests/Scripts/overload.py"

        func overload(_ fx: Fixture, _ mode: String, connections: Int) throws -> [String: Any] {
            let p = try LiveProcess(
                Self.overload,
                [
                    mode, "--port", String(fx.port), "--connections", String(connections),
                    "--seconds", "8",
                ])
            #expect(p.waitForExit(timeout: 60))
            let json = try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: Any] ?? [:]
            print("overload \(mode): \(p.stdout.trimmingCharacters(in: .newlines))")
            return json
        }

        @Test func scrapesSucceedThroughAConnectionFloodAndSlowloris() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            let metricPid = try #require(try fx.tilePids()["tile_pid{kind=\"metric\",kind_id=\"0\"}"])

            let flood = try overload(fx, "flood", connections: 1000)
            #expect((flood["success"] as? Double ?? 0) >= 0.99, "\(flood)")
            #expect((flood["p99_ms"] as? Double ?? .infinity) < 1000, "\(flood)")
            #expect((flood["scrapes"] as? Int ?? 0) >= 20, "\(flood)")

            let slowloris = try overload(fx, "slowloris", connections: 400)
            #expect((slowloris["success"] as? Double ?? 0) >= 0.99, "\(slowloris)")
            #expect((slowloris["p99_ms"] as? Double ?? .infinity) < 1000, "\(slowloris)")

            #expect(try fx.tilePids()["tile_pid{kind=\"metric\",kind_id=\"0\"}"] == metricPid, "the metric tile never restarted")
            #expect(
                eventually(timeout: 15) {
                    samples((try? fx.scrape().body) ?? "")["metric_conn_active{kind=\"metric\",kind_id=\"0\"}"].flatMap { Int($0) } ?? 99
                        <= 2
                }, "the attackers' connections are gone")
        }

        @Test(arguments: ["source", "verify", "dedup", "sink", "metric"])
        func killingATileOfEachKindStopsEverythingWithinASecond(_ kind: String) throws {
            let fx = try Fixture("validator.toml", pageSize: "normal", edit: LinkFlowTests.validator(limit: 0))
            defer { fx.tearDown() }
            let run = try fx.boot(timeout: 60)
            defer { if run.exitStatus == nil { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) } }
            let pids = try fx.tilePids()
            #expect(pids.count == 8)
            let victim = try #require(pids["tile_pid{kind=\"\(kind)\",kind_id=\"0\"}"])
            let t0 = Date()
            kill(victim, SIGKILL)
            #expect(run.waitForExit(timeout: 5))
            let took = Date().timeIntervalSince(t0)
            #expect(took < 1.0, "run took \(took) s to stop")
            #expect(run.exitStatus == 1)
            #expect(run.stderr.contains("tile \(kind):0 killed by SIGKILL; the topology is stopped"))
            #expect(eventually(timeout: 1) { pids.values.allSatisfy { !isTileAlive($0) } }, "orphans")
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
            print("SIGKILL \(kind):0 -> run exited 1 after \(Int(took * 1000)) ms")
        }
    }
}
