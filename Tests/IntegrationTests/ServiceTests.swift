#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// tilectl driven by what starts it: a CI script that asks whether it is up
/// (`tilectl ready`, `run --ready-fd`), and systemd listening on its notify
/// socket (a real datagram listener in another process plays systemd).
extension Integration {
    @Suite struct ServiceTests {
        static let listener = Binary.packageRoot + "/Tests/Scripts/notify-listener.py"

        /// The datagrams the listener printed so far.
        static func datagrams(_ p: LiveProcess) -> [(t: Double, msg: String)] {
            p.stdout.split(separator: "\n").compactMap { line in
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let t = o["t"] as? Double, let msg = o["msg"] as? String
                else { return nil }
                return (t, msg)
            }
        }

        /// The first non-metric tile's pid.
        static func workerPid(_ fx: Fixture) throws -> (String, Int32) {
            let pids = try fx.tilePids()
            let (series, pid) = try #require(pids.first { !$0.key.contains("kind=\"metric\"") })
            let kind = series.firstMatch(of: /kind="([a-z]+)"/)!.1
            let id = series.firstMatch(of: /kind_id="([0-9]+)"/)!.1
            return ("\(kind):\(id)", pid)
        }

        /// systemd's socket is a path (`/run/systemd/notify`) or, in some
        /// containers, an abstract name; either must still work after the
        /// supervisor confines itself (Landlock, its own network namespace).
        @Test(arguments: [false, true])
        func systemdHearsReadyTheWatchdogAStaleTileAndTheStop(abstract: Bool) throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            try fx.edit { $0.replacingOccurrences(of: "[tiles.metric]", with: "[tiles.metric]\nhealthz_max_heartbeat_age_ms = 500") }
            let socketPath = abstract ? "@tilectl-test-\(fx.name)" : fx.dir + "/notify"
            let systemd = try LiveProcess("/usr/bin/python3", [Self.listener, socketPath, "120"])
            defer { systemd.kill(SIGKILL); _ = systemd.waitForExit(timeout: 5) }
            #expect(eventually(timeout: 10) { systemd.stdout.contains("LISTENING") })

            // WATCHDOG_USEC 0.4 s: a keep-alive every 0.2 s.
            let run = try fx.boot(environment: ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "400000"])
            defer { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) }
            #expect(eventually(timeout: 10) { Self.datagrams(systemd).contains { $0.msg.hasPrefix("READY=1\nSTATUS=") } })
            let ready = try #require(Self.datagrams(systemd).first { $0.msg.hasPrefix("READY=1") })
            #expect(ready.msg.firstMatch(of: /^READY=1\nSTATUS=[0-9]+ tiles running, booted in [0-9]+ ms$/) != nil, "\(ready.msg)")
            Thread.sleep(forTimeInterval: 1.5)
            let fed = Self.datagrams(systemd).filter { $0.msg == "WATCHDOG=1" && $0.t > ready.t }
            #expect(fed.count >= 4, "keep-alives in 1.5 s at 0.2 s: \(fed.count)")

            // A tile that stops heartbeating stops the keep-alives: systemd
            // would restart the unit after WATCHDOG_USEC.
            let (name, pid) = try Self.workerPid(fx)
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            #expect(
                eventually(timeout: 10) {
                    Self.datagrams(systemd).contains { $0.msg.hasPrefix("STATUS=stale: \(name) (last heartbeat") }
                })
            Thread.sleep(forTimeInterval: 0.3)
            let starved = Self.datagrams(systemd).filter { $0.msg == "WATCHDOG=1" }.count
            Thread.sleep(forTimeInterval: 1.2)
            #expect(Self.datagrams(systemd).filter { $0.msg == "WATCHDOG=1" }.count == starved, "no keep-alive while \(name) is stale")
            #expect(run.stderr.contains("not feeding systemd's watchdog while stale: \(name)"))

            // It heartbeats again: so do the keep-alives.
            kill(pid, SIGCONT)
            #expect(eventually(timeout: 10) { Self.datagrams(systemd).filter { $0.msg == "WATCHDOG=1" }.count > starved + 2 })
            #expect(
                eventually(timeout: 5) {
                    Self.datagrams(systemd).last { $0.msg.hasPrefix("STATUS=") }?.msg == String(ready.msg.dropFirst("READY=1\n".count))
                })

            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 20))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            #expect(Self.datagrams(systemd).contains { $0.msg == "STOPPING=1\nSTATUS=stopping on SIGTERM" })
        }

        @Test func readyWaitsForTheTopologyAndReadyFdTellsTheParent() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            try fx.edit { $0.replacingOccurrences(of: "[tiles.metric]", with: "[tiles.metric]\nhealthz_max_heartbeat_age_ms = 500") }

            // Not running: one line at the timeout, exit 1.
            let early = try tilectl(["ready", "--config", fx.config, "--timeout", "0.3"])
            #expect(early.status == 1)
            #expect(early.stderr.split(separator: "\n").count == 1)
            #expect(
                early.stderr.hasPrefix("tilectl: error: topology \"\(fx.name)\" is not running (start it with `tilectl run --config ")
                    && early.stderr.hasSuffix("`), after 0.3 s\n"), "\(early.stderr)")

            // A bad --ready-fd is a usage error, before anything starts.
            let bad = try tilectl(["run", "--config", fx.config, "--ready-fd", "9"])
            #expect(bad.status == 2)
            #expect(
                bad.stderr.split(separator: "\n").first
                    == "tilectl: --ready-fd 9: descriptor 9 is not open; start tilectl with it open for writing, e.g. `--ready-fd 3 3>fifo`"
            )

            // The parent reads READY=1 from a pipe, then EOF, while `ready`
            // (started first) waits for the same moment.
            let fifo = fx.dir + "/ready"
            #expect(mkfifo(fifo, 0o600) == 0)
            let reader = open(fifo, O_RDONLY | O_NONBLOCK)
            #expect(reader >= 0)
            defer { close(reader) }
            let waiting = try LiveProcess(Binary.tilectl, ["ready", "--config", fx.config, "--timeout", "60"])
            let run = try LiveProcess(
                "/bin/sh", ["-c", "exec \"$0\" run --config \"$1\" --ready-fd 3 3>\"$2\"", Binary.tilectl, fx.config, fifo])
            defer { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) }
            var got: [UInt8] = []
            var eof = false
            let deadline = Date().addingTimeInterval(60)
            while !eof && Date() < deadline {
                var p = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) == 1 else { continue }
                var buf = [UInt8](repeating: 0, count: 64)
                let n = read(reader, &buf, 64)
                if n > 0 { got += buf[0..<n] } else if n == 0 && !got.isEmpty { eof = true }
            }
            #expect(String(decoding: got, as: UTF8.self) == "READY=1\n")
            #expect(eof, "the supervisor closes the descriptor after READY=1")
            #expect(run.stderr.contains("is up:"), "READY=1 comes when the topology is up")
            #expect(waiting.waitForExit(timeout: 30))
            #expect(waiting.exitStatus == 0, "\(waiting.stderr)")
            #expect(waiting.stdout.firstMatch(of: /^ready: [0-9]+ tiles heartbeating within 500 ms\n$/) != nil, "\(waiting.stdout)")

            // A stopped tile: not ready, and named.
            let (name, pid) = try Self.workerPid(fx)
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            Thread.sleep(forTimeInterval: 1)
            let stale = try tilectl(["ready", "--config", fx.config, "--timeout", "0.2"])
            #expect(stale.status == 1)
            #expect(
                stale.stderr.hasPrefix("tilectl: error: topology \"\(fx.name)\" is not ready: stale: \(name) (last heartbeat "),
                "\(stale.stderr)")
            kill(pid, SIGCONT)
            #expect(try tilectl(["ready", "--config", fx.config, "--timeout", "10"]).status == 0)

            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 20))
            #expect(run.exitStatus == 0)
        }
    }
}
