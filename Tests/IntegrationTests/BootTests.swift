#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Boots the default topology as a user would and talks to it over HTTP,
/// with signals and through /proc.
extension Integration {
    @Suite struct BootTests {
        @Test func bootsServesAndStopsCleanlyOnSIGTERM() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let run = try fx.boot()
            #expect(run.stderr.contains("serving metrics at http://127.0.0.1:\(fx.port)/metrics"))

            let ok = try fx.scrape()
            #expect(ok.status == 200)
            #expect(ok.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(ok.headers["content-length"] == String(ok.wireBodyBytes))
            let first = samples(ok.body)
            for tile in ["kind=\"metric\",kind_id=\"0\"", "kind=\"synth\",kind_id=\"0\"", "kind=\"synth\",kind_id=\"1\""] {
                #expect(first["tile_status{\(tile)}"] == "1", "\(tile) running")
            }
            #expect(try promtool(ok.body) == 0)

            #expect(try fx.scrape("/nope").status == 404)
            #expect(try HTTPClient.request(port: fx.port, method: "POST").status == 400)
            #expect(try HTTPClient.request(port: fx.port, method: "DELETE", path: "/nope").status == 400)
            let head = try HTTPClient.request(port: fx.port, method: "HEAD")
            #expect(head.status == 200 && head.body.isEmpty && Int(head.headers["content-length"] ?? "0")! > 0)

            // Every tile's heartbeat advances.
            usleep(50_000)
            let second = samples(try fx.scrape().body)
            let beats = first.keys.filter { $0.hasPrefix("tile_heartbeat_timestamp_nanos{") }
            #expect(beats.count == 3)
            for series in beats {
                let a = UInt64(first[series]!)!, b = UInt64(second[series]!)!
                #expect(b > a, "\(series) did not advance")
            }
            // The synthetic tiles' work shows up.
            #expect(UInt64(second["synth_bytes_hashed_total{kind=\"synth\",kind_id=\"0\"}"] ?? "0")! > 0)

            let pids = try fx.tilePids()
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            #expect(run.stderr.contains("every tile halted"))
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
            #expect(!FileManager.default.fileExists(atPath: "/dev/shm/tilectl.\(fx.name).lock"))
            for (tile, pid) in pids { #expect(!isTileAlive(pid), "\(tile) pid \(pid) still alive") }
        }

        @Test func stopsOnSIGINTWithExitZero() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let run = try fx.boot()
            run.kill(SIGINT)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            #expect(fx.leftovers().isEmpty)
        }

        @Test func aTileKilledBySIGKILLStopsTheTopologyNamingIt() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let run = try fx.boot()
            let pids = try fx.tilePids()
            let victim = try #require(pids["tile_pid{kind=\"synth\",kind_id=\"1\"}"])
            kill(victim, SIGKILL)
            #expect(run.waitForExit(timeout: 5))
            #expect(run.exitStatus == 1)
            let errors = run.stderrLines.filter { $0.contains(" ERR ") }
            #expect(errors.count == 1, "\(run.stderr)")
            #expect(errors.first?.hasSuffix("supervisor: tile synth:1 killed by SIGKILL; the topology is stopped") == true)
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
            #expect(eventually(timeout: 1) { pids.values.allSatisfy { !isTileAlive($0) } })
        }

        @Test func aSignalledTileIsNamedWithItsSignal() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let run = try fx.boot()
            let pids = try fx.tilePids()
            kill(try #require(pids["tile_pid{kind=\"metric\",kind_id=\"0\"}"]), SIGTERM)
            #expect(run.waitForExit(timeout: 5))
            #expect(run.exitStatus == 1)
            #expect(run.stderr.contains("tile metric:0 killed by SIGTERM"))
            #expect(fx.leftovers().isEmpty)
        }

        @Test func killingTheSupervisorLeavesNoTileAndTheNextBootWorks() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let run = try fx.boot()
            let pids = try fx.tilePids()
            #expect(pids.count == 3)
            let t0 = Date()
            run.kill(SIGKILL)
            #expect(eventually(timeout: 1) { pids.values.allSatisfy { !isTileAlive($0) } }, "tiles outlived the supervisor")
            print("SIGKILL supervisor -> every tile gone after \(Int(Date().timeIntervalSince(t0) * 1000)) ms")
            #expect(run.waitForExit(timeout: 5))

            // The killed run left its workspaces behind; the next boot removes them.
            let again = try fx.boot()
            #expect(again.stderr.contains("left over from a run that was killed"))
            #expect(try fx.scrape().status == 200)
            again.kill(SIGTERM)
            #expect(again.waitForExit(timeout: 10))
            #expect(again.exitStatus == 0)
            #expect(fx.leftovers().isEmpty)
        }

        @Test func aPortInUseFailsBeforeAnythingStarts() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let holder = try listen(on: fx.port)
            defer { close(holder) }
            let r = try tilectl(["run", "--config", fx.config], timeout: 30)
            #expect(r.status == 1)
            #expect(r.stderrLines.count == 1, "\(r.stderr)")
            #expect(r.stderr.contains("tile metric:0: bind(127.0.0.1:\(fx.port)) failed: EADDRINUSE"))
            #expect(r.stderr.contains("prometheus_listen_port"))
            #expect(fx.leftovers().isEmpty)
        }

        @Test func aSecondRunOfTheSameTopologyIsRefused() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let run = try fx.boot()
            let second = try tilectl(["run", "--config", fx.config], timeout: 30)
            #expect(second.status == 1)
            #expect(second.stderr.contains("topology \"\(fx.name)\" is already running (supervisor pid \(run.pid))"))
            #expect(try fx.scrape().status == 200, "the first run is unharmed")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0)
        }

        @Test func aBadTopologyFileGetsOneLineExitTwoAndLeavesNothing() throws {
            let fx = try Fixture { $0.replacingOccurrences(of: "rate = 1000", with: "rate = \"fast\"") }
            defer { fx.tearDown() }
            for command in [["run"], ["check"], ["configure", "init"]] {
                let r = try tilectl(command + ["--config", fx.config])
                #expect(r.status == 2)
                #expect(r.stderrLines.count == 1, "\(r.stderr)")
                #expect(r.stderr.hasPrefix("tilectl: error: \(fx.config):"))
                #expect(r.stderr.contains("rate must be an integer from 0 to 100000000, not a string"))
            }
            #expect(fx.leftovers().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: fx.hugetlbfs))
        }
    }

}

/// A socket listening on 127.0.0.1:`port`.
func listen(on port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var sa = sockaddr_in()
    sa.sin_family = sa_family_t(AF_INET)
    sa.sin_port = in_port_t(UInt16(port).bigEndian)
    sa.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &sa) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0, Glibc.listen(fd, 16) == 0 else { throw TestFailure("cannot listen on \(port)") }
    return fd
}

/// `promtool check metrics` on `body`; its exit status.
func promtool(_ body: String) throws -> Int32 {
    guard let path = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    else {
        throw TestFailure("promtool not found: install Debian's prometheus package (apt-get install prometheus)")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = ["check", "metrics"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    p.standardError = output
    try p.run()
    input.fileHandleForWriting.write(Data(body.utf8))
    try input.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus != 0 { Issue.record("promtool: \(String(decoding: out, as: UTF8.self))") }
    return p.terminationStatus
}
