#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Attacks from outside, as an unprivileged local user would make them:
/// racing to ptrace booting tiles, signalling them, planting symbolic links
/// and files where root will look, swapping the binary under a booting
/// supervisor. Each checks what a user can observe: zero attaches, the
/// file untouched, the run refused with one line, the topology unharmed.
/// (Attacks from inside a tile are `SandboxTests.anEscapeAttemptIsBlocked`.)
extension Integration {
    @Suite struct AttackTests {
        static let nobody: UInt32 = 65534

        /// Runs `body` as uid and gid `uid` (no groups), in a child, and
        /// returns its exit status: what any process of that user can do.
        static func asUser(_ uid: UInt32, _ body: () -> Int32) -> Int32 {
            let pid = fork()
            if pid == 0 {
                // As root, setgid and setuid set the real, effective and saved ids.
                guard setgroups(0, nil) == 0, setgid(uid) == 0, setuid(uid) == 0 else { _exit(99) }
                _exit(body())
            }
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            return (status >> 8) & 0xFF
        }

        /// The uids `check --sandbox` says the tiles will run as.
        static func previewedUids(_ fx: Fixture) throws -> [UInt32] {
            let out = try tilectl(["check", "--config", fx.config, "--sandbox"]).stdout
            return out.matches(of: /uid (20479\d{5})/).compactMap { UInt32($0.output.1) }
        }

        // MARK: ptrace

        /// A racing attacker per uid the tiles run as (and one as nobody, the
        /// identity tiles used to share) tries PTRACE_ATTACH on every booting
        /// tile from the moment it exists: a tile is never dumpable after its
        /// uid switch, so no attempt succeeds.
        @Test(arguments: ["dynamic", "nobody"])
        func aRacingPtraceAttackerNeverAttaches(_ user: String) throws {
            let fx = try Fixture(pageSize: "normal") { $0.replacingOccurrences(of: "user = \"dynamic\"", with: "user = \"\(user)\"") }
            defer { fx.tearDown() }
            let uids = user == "dynamic" ? try Self.previewedUids(fx) : [Self.nobody]
            #expect(!uids.isEmpty)
            let racer = try LiveProcess(Binary.packageRoot + "/Tests/Scripts/ptrace-racer.py", uids.map(String.init))
            usleep(300_000)
            let boots = 10
            for _ in 0..<boots {
                let run = try fx.boot()
                run.kill(SIGTERM)
                #expect(run.waitForExit(timeout: 10))
                #expect(run.exitStatus == 0, "\(run.stderr)")
            }
            racer.kill(SIGTERM)
            #expect(racer.waitForExit(timeout: 10))
            let reports = racer.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(reports.count == uids.count, "\(racer.stdout) \(racer.stderr)")
            var attempts = 0, seen = 0
            for r in reports {
                #expect((r["attached"] as? [Int]) == [], "attached to \(r)")
                attempts += r["attempts"] as? Int ?? 0
                seen = max(seen, r["tiles_seen"] as? Int ?? 0)
            }
            print("ptrace race (\(user)): \(boots) boots, \(attempts) PTRACE_ATTACH attempts, \(seen) tile processes seen, 0 attached")
            #expect(seen >= 3 * boots, "the attacker saw every booting tile")
        }

        /// Root (who may trace anything) traces the boot: each tile sees a
        /// tracer before it pivots and refuses to go on.
        @Test func aTileRefusesToBootWhileTraced() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let p = try LiveProcess("/usr/bin/strace", ["-f", "-o", "/dev/null", Binary.tilectl, "run", "--config", fx.config])
            #expect(p.waitForExit(timeout: 30))
            #expect(p.exitStatus == 1)
            #expect(p.stderr.contains("sandbox step 5 TracerPid: process"), "\(p.stderr)")
            #expect(p.stderr.contains("is tracing this tile; refusing to go on"))
            #expect(fx.leftovers().isEmpty)
        }

        // MARK: signals

        /// Nothing else has a tile's uid: neither nobody nor another tile's uid
        /// can signal it, and /healthz stays 200.
        @Test func noOtherProcessCanSignalATile() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            let pids = Array(try fx.tilePids().values)
            let uids = try pids.map { try #require(UInt32(ProcView($0).status["Uid"]?.split(separator: "\t").first ?? "")) }
            for (i, pid) in pids.enumerated() {
                #expect(Self.asUser(Self.nobody) { kill(pid, SIGSTOP) == 0 ? 0 : errno == EPERM ? 1 : 2 } == 1, "nobody stopped \(pid)")
                let other = uids[(i + 1) % uids.count]
                #expect(other != uids[i])
                #expect(Self.asUser(other) { kill(pid, SIGSTOP) == 0 ? 0 : errno == EPERM ? 1 : 2 } == 1, "uid \(other) stopped \(pid)")
            }
            usleep(2_500_000)  // longer than healthz_max_heartbeat_age_ms
            #expect(try fx.scrape("/healthz").status == 200)
        }

        // MARK: planted files

        /// A root-owned file an attacker would love root to overwrite.
        struct Victim {
            let path: String
            let content = "precious\n"
            init(_ dir: String) throws {
                path = dir + "/victim"
                try content.write(toFile: path, atomically: false, encoding: .utf8)
                chmod(path, 0o644)
            }
            var untouched: Bool { (try? String(contentsOfFile: path, encoding: .utf8)) == content }
        }

        /// A world-writable sticky directory (like /tmp), where nobody plants.
        static func sharedDirectory(_ fx: Fixture) throws -> String {
            let dir = fx.dir + "/shared"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            chmod(dir, 0o1777)
            return dir
        }

        static func plant(symlink path: String, to target: String) -> Bool {
            asUser(nobody) { symlink(target, path) == 0 ? 0 : 1 } == 0
        }

        /// The log file path is a link nobody planted: the run refuses in one
        /// line, the victim is untouched, nothing is left.
        @Test func aPlantedLogLinkIsRefused() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let victim = try Victim(fx.dir)
            let log = try Self.sharedDirectory(fx) + "/tilectl.log"
            #expect(Self.plant(symlink: log, to: victim.path))
            try fx.setLogPath(log)
            let r = try tilectl(["run", "--config", fx.config], timeout: 30)
            #expect(r.status == 1)
            #expect(r.stderrLines.count == 1, "\(r.stderr)")
            #expect(r.stderr.contains("\(log) is a symbolic link"), "\(r.stderr)")
            #expect(victim.untouched)
            #expect(fx.leftovers().isEmpty)
        }

        /// A log file nobody created first: refused, not appended to.
        @Test func aLogFileSomeoneElseCreatedIsRefused() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let log = try Self.sharedDirectory(fx) + "/tilectl.log"
            #expect(Self.asUser(Self.nobody) { creat(log, 0o666) >= 0 ? 0 : 1 } == 0)
            try fx.setLogPath(log)
            let r = try tilectl(["run", "--config", fx.config], timeout: 30)
            #expect(r.status == 1)
            #expect(r.stderrLines.count == 1, "\(r.stderr)")
            #expect(r.stderr.contains("\(log) is owned by uid 65534, not by uid 0; something else created it: remove it"), "\(r.stderr)")
            #expect((try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) == 0)
        }

        /// The hugetlbfs directory lies under a link nobody planted (pointing
        /// at a root-owned directory): root mounts nothing, anywhere, and
        /// `auto` falls back to normal pages saying why.
        @Test func aPlantedLinkOnTheHugetlbfsPathIsNeverFollowed() throws {
            let fx = try Fixture(pageSize: "auto")
            defer { fx.tearDown() }
            let target = fx.dir + "/target"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            let link = try Self.sharedDirectory(fx) + "/hp"
            #expect(Self.plant(symlink: link, to: target))
            try fx.setHugetlbfs(link + "/mnt")
            let mountsBefore = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
            let run = try fx.boot()
            let mountsAfter = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(mountsAfter == mountsBefore, "root mounted something")
            #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty, "root created something behind the link")
            #expect(run.stderr.contains("huge pages unavailable (\(link) is a symbolic link"), "\(run.stderr)")
            // Strict huge pages: one line, nothing done.
            try fx.edit { $0.replacingOccurrences(of: "page_size = \"auto\"", with: "page_size = \"huge\"") }
            let r = try tilectl(["run", "--config", fx.config], timeout: 30)
            #expect(r.status == 1 && r.stderrLines.count == 1, "\(r.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
        }

        /// Files and directories nobody put where the old layout kept
        /// workspaces and the lock, and a directory named like a run's: none is
        /// opened, followed or removed; the run boots and stops cleanly.
        @Test func plantsInDevShmAreIgnored() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let victim = try Victim(fx.dir)
            let plants = [
                "/dev/shm/tilectl.\(fx.name).lock", "/dev/shm/tilectl.\(fx.name).metric.0.wksp",
                "/dev/shm/tilectl.\(fx.name).synth.0.wksp",
            ]
            for p in plants { #expect(Self.plant(symlink: p, to: victim.path)) }
            let decoy = "/dev/shm/tilectl.\(fx.name).0000000000000000"
            #expect(Self.asUser(Self.nobody) { mkdir(decoy, 0o777) == 0 ? 0 : 1 } == 0)
            defer { plants.forEach { unlink($0) }; rmdir(decoy) }
            let run = try fx.boot()
            #expect(try fx.scrape().status == 200)
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            #expect(victim.untouched)
            for p in plants { #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: p)) == victim.path, "\(p)") }
            #expect(FileManager.default.fileExists(atPath: decoy), "nobody's directory was removed")
        }

        /// A runtime directory that is not root's alone (a misconfigured host
        /// or an attacker who got there first): `run` and `monitor` refuse in
        /// one line and write nothing.
        @Test func aRuntimeDirectoryNotRootsAloneIsRefused() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let dir = "/run/tilectl/\(fx.name)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            chown(dir, Self.nobody, Self.nobody)
            let r = try tilectl(["run", "--config", fx.config], timeout: 30)
            #expect(r.status == 1)
            #expect(r.stderrLines.count == 1, "\(r.stderr)")
            #expect(r.stderr.contains("\(dir) is owned by uid 65534, not by root"), "\(r.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
            let m = try tilectl(["monitor", "--config", fx.config, "--once"], timeout: 30)
            #expect(m.status == 1)
            #expect(m.stderr.contains("refusing to read its run description: \(dir) is owned by uid 65534"), "\(m.stderr)")
            #expect(fx.leftovers().isEmpty)
        }

        // MARK: a tile lying to the rest

        /// A tile writes Int64.min as its heartbeat, over and over: /healthz
        /// answers (it used to trap and kill the metric tile, which was then
        /// blamed), `monitor` prints, and the topology runs on.
        @Test func aPoisonedHeartbeatCrashesNothing() throws {
            let fx = try Fixture(pageSize: "normal") { $0 + "\n[tiles.escape]\nattempt = \"poison_heartbeat\"\n" }
            defer { fx.tearDown() }
            let run = try fx.boot(binary: Binary.testbed)
            let metricPid = try #require(try fx.tilePids().first { $0.key.contains("metric") }?.value)
            for _ in 0..<5 {
                let r = try fx.scrape("/healthz")
                #expect(r.status == 200 || r.status == 503, "\(r.status)")
                usleep(100_000)
            }
            let m = try LiveProcess(Binary.testbed, ["monitor", "--config", fx.config, "--once", "--interval", "0.2"])
            #expect(m.waitForExit(timeout: 20))
            #expect(m.exitStatus == 0, "\(m.stderr)")
            #expect(m.stdout.contains("escape:0"))
            #expect(try fx.tilePids().first { $0.key.contains("metric") }?.value == metricPid, "the metric tile restarted")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
        }

        /// A tile says its pid is 1: the supervisor's "is up" line names its
        /// real pid (from the reaper's pidfd), and `monitor` marks the claim.
        @Test func aFakePidIsNotWhatOperatorsAreTold() throws {
            let fx = try Fixture(pageSize: "normal") { $0 + "\n[tiles.escape]\nattempt = \"fake_pid\"\n" }
            defer { fx.tearDown() }
            let run = try fx.boot(binary: Binary.testbed)
            let reaper = try #require(childPids(of: run.pid).first)
            let tiles = Set(childPids(of: reaper))
            let up = try #require(run.stderrLines.first { $0.contains("is up:") })
            let claimed = try #require(up.firstMatch(of: /escape:0=(\d+)/).flatMap { Int32($0.output.1) })
            #expect(claimed != 1 && tiles.contains(claimed), "\(up) vs \(tiles)")
            let m = try LiveProcess(Binary.testbed, ["monitor", "--config", fx.config, "--once", "--interval", "0.2"])
            #expect(m.waitForExit(timeout: 20))
            #expect(m.stdout.contains("? (says 1)"), "\(m.stdout)")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
        }

        /// A tile says another tile's pid is its own: `monitor` does not
        /// confirm it (/proc names that process after the other tile).
        @Test func aStolenPidIsNotConfirmed() throws {
            let fx = try Fixture(pageSize: "normal") { $0 + "\n[tiles.escape]\nattempt = \"steal_pid\"\n" }
            defer { fx.tearDown() }
            let run = try fx.boot(binary: Binary.testbed)
            usleep(300_000)
            let m = try LiveProcess(Binary.testbed, ["monitor", "--config", fx.config, "--once", "--interval", "0.2"])
            #expect(m.waitForExit(timeout: 20))
            let row = m.stdout.split(separator: "\n").first { $0.hasPrefix("escape:0") } ?? ""
            #expect(row.contains("? (says "), "\(m.stdout)")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
        }

        /// Without root, two runs of one name from different runtime directories
        /// ($XDG_RUNTIME_DIR set and not): the second does not take the first's
        /// live run directory for a leftover.
        @Test func aLiveRunsDirectoryIsNeverALeftover() throws {
            let a = try Fixture(pageSize: "normal")
            defer { a.tearDown() }
            let b = try Fixture(pageSize: "normal")
            defer { b.tearDown() }
            try b.edit { $0.replacingOccurrences(of: "name = \"\(b.name)\"", with: "name = \"\(a.name)\"") }
            for fx in [a, b] { chmod(fx.dir, 0o755); chmod(fx.config, 0o644) }
            let xdg = a.dir + "/xdg"
            try FileManager.default.createDirectory(atPath: xdg, withIntermediateDirectories: true)
            chown(xdg, 4242, 4242)
            defer { try? FileManager.default.removeItem(atPath: "/tmp/tilectl-4242") }
            func start(_ fx: Fixture, _ env: [String: String]) throws -> LiveProcess {
                try LiveProcess(
                    "/usr/bin/setpriv", ["--reuid=4242", "--regid=4242", "--clear-groups", Binary.tilectl, "run", "--config", fx.config],
                    environment: env.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a })
            }
            let first = try start(a, ["XDG_RUNTIME_DIR": xdg])
            defer { first.kill(SIGKILL); _ = first.waitForExit(timeout: 5) }
            #expect(first.waitForOutput("is up:", timeout: 30), "\(first.stderr)")
            let dirs = {
                ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []).filter { $0.hasPrefix("tilectl.\(a.name).") }
            }
            let firstDir = dirs()
            let second = try start(b, [:])
            defer { second.kill(SIGKILL); _ = second.waitForExit(timeout: 5) }
            #expect(second.waitForOutput("is up:", timeout: 30), "\(second.stderr)")
            #expect(!second.stderr.contains("left over"), "\(second.stderr)")
            #expect(Set(firstDir).isSubset(of: Set(dirs())), "the first run's directory was removed")
            #expect(try a.scrape().status == 200)
            first.kill(SIGTERM)
            second.kill(SIGTERM)
            #expect(first.waitForExit(timeout: 10) && second.waitForExit(timeout: 10))
            #expect(dirs().isEmpty)
        }

        /// `check --sandbox` without root says who tiles will really be.
        @Test func checkWithoutRootSaysTheInvokingUserOwnsTheTiles() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            chmod(fx.dir, 0o755)
            chmod(fx.config, 0o644)
            let r = try LiveProcess(
                "/usr/bin/setpriv",
                [
                    "--reuid=4242", "--regid=4242", "--clear-groups", Binary.tilectl, "check",
                    "--config", fx.config, "--sandbox",
                ], environment: ["PATH": "/usr/bin:/bin"])
            #expect(r.waitForExit(timeout: 20))
            #expect(
                r.stdout.contains(
                    "the invoking user: without root tiles cannot switch users, and the invoking user owns their user namespaces"))
            #expect(r.stdout.contains("sandbox of metric (1 tile): exposure 1.1 OK"), "\(r.stdout.prefix(2000))")
        }

        /// A tile writes lines without end on stderr (its only way to the
        /// terminal and the log file): the supervisor relays at most its budget
        /// (64 KiB a second) and the tile blocks beyond it; the log file stays
        /// small, the rest of the topology is untouched, and SIGTERM still stops
        /// everything (the blocked tile is killed after the halt timeout).
        @Test func aTileCannotFloodTheLogOrTheTerminal() throws {
            let fx = try Fixture(pageSize: "normal") { $0 + "\n[tiles.escape]\nattempt = \"flood_log\"\n" }
            defer { fx.tearDown() }
            let log = fx.dir + "/tilectl.log"
            try fx.setLogPath(log)
            let run = try fx.boot(binary: Binary.testbed)
            // The tile's bytes that reached the log: each relayed flood line
            // stands for one 262-byte line the tile wrote (the log's own line is
            // longer: its prefix, the escape replaced). Over 3 s the relay may
            // read 3 budgets, plus one for the second it was sampled in.
            func relayed() -> Int {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").count { $0.contains("flood") } * 262
            }
            usleep(1_000_000)
            let before = relayed()
            usleep(3_000_000)
            let grown = relayed() - before
            #expect(before > 0, "nothing of the flood was relayed")
            #expect(grown <= 4 * 64 << 10, "the relay passed \(grown) of the tile's bytes in 3 s")
            #expect(!run.stderr.utf8.contains(0x1B), "an escape sequence reached the terminal")
            #expect(try fx.scrape().status == 200)
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 15))
            #expect(run.exitStatus == 0, "\(run.stderr.suffix(500))")
            #expect(run.stderr.contains("tile escape:0 did not halt within 5 s"))
            #expect(fx.leftovers().isEmpty)
        }

        /// Escape sequences and a line dressed as the supervisor's: the
        /// terminal gets neither the escapes nor an unattributed line.
        @Test func aTileCannotWriteToTheTerminalOrSpeakForTheSupervisor() throws {
            let fx = try Fixture(pageSize: "normal") { $0 + "\n[tiles.escape]\nattempt = \"terminal_escape\"\n" }
            defer { fx.tearDown() }
            let run = try fx.boot(binary: Binary.testbed)
            #expect(eventually(timeout: 5) { run.stderr.contains("wrote escapes and a forged line") })
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            let text = run.stderr
            #expect(
                !text.utf8.contains(0x1B) && !text.utf8.contains(0x0D) && !text.utf8.contains(0x07), "control bytes reached the terminal")
            let forged = text.split(separator: "\n").filter { $0.contains("every tile halted") }
            #expect(forged.count == 2, "\(forged)")
            #expect(forged.contains { $0.contains("WARNING supervisor: tile escape:0 wrote: ") }, "the forged line is attributed")
            #expect(forged.filter { $0.firstMatch(of: /^\S+ \S+ NOTICE  supervisor: every tile halted/) != nil }.count == 1)
        }

        // MARK: stops and starts

        /// SIGTERM at any moment of the boot: the run stops cleanly, nothing is
        /// left (signals are blocked before the first thing is created).
        @Test(arguments: [0, 15, 30, 60, 90])
        func aSignalDuringTheBootLeavesNothing(_ afterMillis: Int) throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try LiveProcess(Binary.tilectl, ["run", "--config", fx.config])
            usleep(useconds_t(afterMillis * 1000))
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 15))
            #expect(run.exitStatus == 0 || run.exitStatus == 128 + SIGTERM, "\(run.exitStatus ?? -1): \(run.stderr)")
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
            #expect(!FileManager.default.fileExists(atPath: "/run/tilectl/\(fx.name)"), "the runtime directory is left")
            #expect(
                eventually(timeout: 2) {
                    (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?
                        .contains { (try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8))?.contains(fx.config) == true }
                        == false
                })
        }

        /// Without root, as a user who is not nobody (whose uid is what every
        /// unmapped owner looks like in a user namespace): the run's directories
        /// are checked before it enters its own, and it boots and cleans up.
        @Test func withoutRootAsAnyUserItBootsAndCleansUp() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            chmod(fx.dir, 0o755)
            chmod(fx.config, 0o644)
            let runtime = "/tmp/tilectl-4242"
            defer { try? FileManager.default.removeItem(atPath: runtime) }
            // The log's directory must be the user's or root's alone.
            let logDir = fx.dir + "/logs"
            try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
            chown(logDir, 4242, 4242)
            try fx.setLogPath(logDir + "/tilectl.log")
            let run = try LiveProcess(
                "/usr/bin/setpriv",
                [
                    "--reuid=4242", "--regid=4242", "--clear-groups",
                    Binary.tilectl, "run", "--config", fx.config,
                ],
                environment: ["PATH": "/usr/bin:/bin"])
            #expect(run.waitForOutput("is up:", timeout: 30), "\(run.stderr)")
            #expect(try fx.scrape().status == 200)
            for pid in try fx.tilePids().values {
                #expect(try ProcView(pid).status["Uid"]?.hasPrefix("4242\t") == true)
            }
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: runtime)) ?? []).isEmpty, "left in \(runtime)")
            let text = (try? String(contentsOfFile: logDir + "/tilectl.log", encoding: .utf8)) ?? ""
            #expect(text.contains("metric:0: halted by the supervisor"), "the tiles wrote the log through the supervisor's descriptor")
        }

        /// Without root, a port below the kernel's unprivileged start is refused
        /// by bind: one line that names the cause and both ways out.
        @Test func withoutRootAPrivilegedPortIsOneLineNamingTheFix() throws {
            let start =
                (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_unprivileged_port_start", encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 1024
            try #require(start > 81, "this kernel lets anyone bind port 81")
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let text = try String(contentsOfFile: fx.config, encoding: .utf8)
            try text.replacingOccurrences(of: "prometheus_listen_port = \(fx.port)", with: "prometheus_listen_port = 81")
                .write(toFile: fx.config, atomically: false, encoding: .utf8)
            chmod(fx.dir, 0o755)
            chmod(fx.config, 0o644)
            let r = try LiveProcess(
                "/usr/bin/setpriv",
                [
                    "--reuid=4242", "--regid=4242", "--clear-groups",
                    Binary.tilectl, "run", "--config", fx.config,
                ],
                environment: ["PATH": "/usr/bin:/bin"])
            #expect(r.waitForExit(timeout: 30))
            #expect(r.exitStatus == 1)
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("tilectl: error:") }
            #expect(errors.count == 1, "\(r.stderr)")
            #expect(errors.first?.contains("tile metric:0: bind(127.0.0.1:81) failed: EACCES") == true, "\(r.stderr)")
            #expect(
                errors.first?.contains(
                    "ip_unprivileged_port_start needs root: run as root, or choose [tiles.metric] prometheus_listen_port") == true)
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
        }

        // MARK: the binary

        /// The binary at the path `run` was started from is replaced while the
        /// supervisor boots: the tiles still run the supervisor's own binary
        /// (exec by descriptor), not what the path names now.
        @Test func tilesExecTheSupervisorsBinaryNotItsPath() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let copy = fx.dir + "/bin/tilectl"
            try FileManager.default.createDirectory(atPath: fx.dir + "/bin", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Binary.tilectl, toPath: copy)
            let run = try LiveProcess(copy, ["run", "--config", fx.config])
            kill(run.pid, SIGSTOP)
            // What the path names from now on: a program that exits at once.
            try FileManager.default.copyItem(atPath: "/bin/true", toPath: copy + ".new")
            #expect(rename(copy + ".new", copy) == 0)
            kill(run.pid, SIGCONT)
            #expect(run.waitForOutput("is up:", timeout: 30), "\(run.stderr)")
            for pid in try fx.tilePids().values {
                let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
                #expect(exe == copy + " (deleted)", "tile \(pid) runs \(exe)")
            }
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
        }
    }
}
