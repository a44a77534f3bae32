#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// What /proc says about a process, read as root from the host.
struct ProcView {
    let pid: Int32
    let status: [String: String]

    init(_ pid: Int32) throws {
        self.pid = pid
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        var s: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let c = line.firstIndex(of: ":") else { continue }
            s[String(line[..<c])] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        status = s
    }

    func namespace(_ kind: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")) ?? "?"
    }

    var rootEntries: [String]? { try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/root") }

    var openFileLimit: String? {
        let limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        return limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init)
    }

    var descriptors: [String] { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [] }

    /// The soft limit on a line of /proc/PID/limits (`Max address space`).
    func limit(_ name: String) -> String? {
        let limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
        return line.dropFirst(name.count).split(separator: " ", omittingEmptySubsequences: true).first.map(String.init)
    }
}

/// Children of `pid`, from /proc/PID/task/*/children.
func childPids(of pid: Int32) -> [Int32] {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return text.split(separator: " ").compactMap { Int32($0) }
}

extension Integration {
    @Suite struct SandboxTests {
        static let hostUserNS = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")) ?? ""
        static let hostNetNS = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")) ?? ""

        /// Every tile of a running topology, as /proc shows it. `uid`: the one
        /// every tile runs as, or nil for a uid of each tile's own.
        func assertSandboxed(_ fx: Fixture, uid: String?) throws {
            let pids = try fx.tilePids()
            #expect(pids.count == 3)
            var uids: Set<String> = []
            for (series, pid) in pids {
                let p = try ProcView(pid)
                let isMetric = series.contains("kind=\"metric\"")
                let what = "\(series) pid \(pid)"
                let ids = p.status["Uid"]?.split(separator: "\t").map(String.init) ?? []
                #expect(ids.count == 4 && Set(ids).count == 1, "\(what) uid \(ids)")
                if let uid {
                    #expect(ids.first == uid, "\(what) uid \(ids)")
                } else {
                    // Reserved for this run: in tilectl's range, and no passwd entry.
                    let n = UInt32(ids.first ?? "") ?? 0
                    #expect((2_047_934_464...2_047_999_999).contains(n), "\(what) uid \(n)")
                    #expect(getpwuid(n) == nil, "\(what) uid \(n) has a passwd entry")
                    uids.insert(ids.first ?? "")
                }
                #expect(p.status["Gid"]?.split(separator: "\t").allSatisfy { String($0) == ids.first } == true, "\(what) gid = uid")
                #expect(p.status["Groups"] == "", "\(what) supplementary groups")
                for cap in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
                    #expect(p.status[cap] == "0000000000000000", "\(what) \(cap)")
                }
                #expect(p.status["NoNewPrivs"] == "1", "\(what)")
                #expect(p.status["Seccomp"] == "2", "\(what)")
                #expect(p.status["Threads"] == "1", "\(what)")
                #expect(p.status["TracerPid"] == "0", "\(what)")
                #expect(p.namespace("user") != Self.hostUserNS, "\(what) user namespace")
                // Every tile, the metric tile too: its socket was bound before.
                #expect(p.namespace("net") != Self.hostNetNS, "\(what) network namespace")
                #expect(p.rootEntries == [], "\(what) root directory: \(p.rootEntries ?? ["unreadable"])")
                #expect(p.openFileLimit == (isMetric ? "132" : "0"), "\(what) RLIMIT_NOFILE")
                #expect(
                    p.limit("Max address space").map { $0 != "unlimited" && UInt64($0)! < 1 << 30 } == true,
                    "\(what) RLIMIT_AS \(p.limit("Max address space") ?? "?")")
                #expect(p.limit("Max data size").map { $0 != "unlimited" } == true, "\(what) RLIMIT_DATA")
                // The exec-time environment block is zeroed.
                let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data([1])
                #expect(!environ.isEmpty && environ.allSatisfy { $0 == 0 }, "\(what) environ \(String(decoding: environ, as: UTF8.self))")
                // stderr and the death pipe, plus the listen socket for the metric tile
                // (connections may come and go while we look).
                if !isMetric { #expect(p.descriptors.sorted() == ["2", "3"], "\(what) descriptors \(p.descriptors)") }
            }
            if uid == nil { #expect(uids.count == 3, "each tile a uid of its own: \(uids)") }
            #expect(try fx.scrape().status == 200, "the metric tile serves from its own network namespace")
        }

        @Test func everyTileRunsInItsSandbox() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            try assertSandboxed(fx, uid: nil)
            let uids = try fx.tilePids().values.map { try ProcView($0).status["Uid"]?.split(separator: "\t").first.map(String.init) ?? "" }
            for uid in uids { #expect(FileManager.default.fileExists(atPath: "/run/tilectl/uid/\(uid)"), "uid \(uid) is held") }
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0)
            // The run's runtime directory and its uid locks go with it.
            #expect(!FileManager.default.fileExists(atPath: "/run/tilectl/\(fx.name)"))
            for uid in uids { #expect(!FileManager.default.fileExists(atPath: "/run/tilectl/uid/\(uid)"), "uid \(uid) lock left") }
        }

        @Test func aNamedUserIsEveryTilesUser() throws {
            let fx = try Fixture(pageSize: "normal") { $0.replacingOccurrences(of: "user = \"dynamic\"", with: "user = \"nobody\"") }
            defer { fx.tearDown() }
            let run = try fx.boot()
            try assertSandboxed(fx, uid: "65534")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0)
        }

        /// After boot the reaper and the supervisor keep root's uid but no
        /// capability, under their own filters.
        @Test func theReaperAndTheSupervisorAreConfined() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            let reaper = try #require(childPids(of: run.pid).first)
            for (name, pid) in [("supervisor", run.pid), ("reaper", reaper)] {
                let p = try ProcView(pid)
                #expect(p.status["Seccomp"] == "2", "\(name)")
                #expect(p.status["NoNewPrivs"] == "1", "\(name)")
                for cap in ["CapEff", "CapPrm", "CapBnd"] { #expect(p.status[cap] == "0000000000000000", "\(name) \(cap)") }
            }
            // The reaper keeps only its pipes, and one pidfd and one death pipe per tile.
            #expect(try ProcView(reaper).descriptors.count == 3 + 2 * 3)
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
        }

        /// Every tile of the validator topology under load stays well inside
        /// its address-space and data limits (mapped at entry + 32 MiB): the
        /// limits bound a tile without ever being near what it uses.
        @Test func memoryLimitsLeaveHeadroomUnderLoad() throws {
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            for i in 0..<40 {
                _ = try HTTPClient.request(port: fx.port, headers: i % 2 == 0 ? ["Accept-Encoding: gzip"] : [])
            }
            usleep(2_000_000)
            var rows = ["TILE        VmPeak     RLIMIT_AS   peak/limit  VmData     RLIMIT_DATA"]
            for (series, pid) in try fx.tilePids().sorted(by: { $0.key < $1.key }) {
                let p = try ProcView(pid)
                func kib(_ key: String) -> UInt64 { UInt64(p.status[key]?.split(separator: " ").first ?? "") ?? 0 }
                let asLimit = UInt64(p.limit("Max address space") ?? "") ?? 0
                let dataLimit = UInt64(p.limit("Max data size") ?? "") ?? 0
                let peak = kib("VmPeak") * 1024, data = kib("VmData") * 1024
                #expect(peak + 16 << 20 <= asLimit, "\(series): VmPeak \(peak) is within 16 MiB of RLIMIT_AS \(asLimit)")
                #expect(data + 16 << 20 <= dataLimit, "\(series): VmData \(data) is within 16 MiB of RLIMIT_DATA \(dataLimit)")
                let name = series.replacing(/tile_pid\{kind="(\w+)",kind_id="(\d+)"\}/) { "\($0.output.1):\($0.output.2)" }
                rows.append(
                    name.padding(toLength: 12, withPad: " ", startingAt: 0)
                        + "\(peak >> 20) MiB".padding(toLength: 11, withPad: " ", startingAt: 0)
                        + "\(asLimit >> 20) MiB".padding(toLength: 12, withPad: " ", startingAt: 0)
                        + "\(peak * 100 / max(asLimit, 1)) %".padding(toLength: 12, withPad: " ", startingAt: 0)
                        + "\(data >> 20) MiB".padding(toLength: 11, withPad: " ", startingAt: 0) + "\(dataLimit >> 20) MiB")
            }
            print("memory of the validator topology's tiles after 40 scrapes:\n" + rows.joined(separator: "\n"))
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
        }

        @Test func withoutRootTilesRunInUnprivilegedUserNamespaces() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let run = try LiveProcess(
                "/usr/bin/setpriv",
                [
                    "--reuid=65534", "--regid=65534", "--clear-groups",
                    Binary.tilectl, "run", "--config", fx.config,
                ])
            #expect(run.waitForOutput("is up:", timeout: 30), "\(run.stderr)")
            #expect(run.stderr.contains("huge pages unavailable"), "normal pages without root")
            try assertSandboxed(fx, uid: "65534")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            #expect(fx.leftovers().isEmpty, "\(fx.leftovers())")
        }

        @Test func withoutRootOrUserNamespacesItFailsInOneLineBeforeAnyTile() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let helper = Binary.packageRoot + "/Tests/Scripts/run-refusing-userns.py"
            let p = try LiveProcess(helper, [Binary.tilectl, "run", "--config", fx.config])
            #expect(p.waitForExit(timeout: 30))
            #expect(p.exitStatus == 1)
            #expect(p.stderrLines.count == 1, "\(p.stderr)")
            #expect(
                p.stderr.hasPrefix(
                    "tilectl: error: tilectl run needs root or unprivileged user namespaces, which this host refuses (unshare(CLONE_NEWUSER): ENOSPC); run it as root, or allow them with sysctl -w user.max_user_namespaces="
                ))
            #expect(fx.leftovers().isEmpty)
        }

        @Test func noSandboxIsLoudInTheSupervisorAndEveryTile() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot(extra: ["--no-sandbox"])
            #expect(run.stderr.contains("WARNING supervisor: --no-sandbox"))
            for tile in ["metric:0", "synth:0", "synth:1"] {
                #expect(run.stderr.contains("WARNING \(tile): NOT SANDBOXED"), "\(tile)")
            }
            for (_, pid) in try fx.tilePids() { #expect(try ProcView(pid).status["Seccomp"] == "0") }
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
        }

        @Test func checkSandboxPrintsEachKindsSandbox() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let r = try tilectl(["check", "--config", fx.config, "--sandbox"])
            #expect(r.status == 0)
            let out = r.stdout
            #expect(
                out.contains(
                    /sandbox of metric \(1 tile\): exposure 0\.\d (PERFECT|SAFE)\n  runs as       metric:0 uid 20479\d{5} \(reserved at start, gid = uid; each its own\)/
                ))
            #expect(
                out.contains(
                    "own: user, mount, ipc, uts, cgroup, network, then a nested user namespace that cannot create any more; shared: pid (the topology's own)"
                ))
            #expect(out.contains("  descriptors   2 stderr, 3 death pipe, 5 listen socket; nothing else"))
            #expect(out.contains("  seccomp       17 syscalls, "))
            #expect(
                out.contains(
                    "    shutdown       fd in 0–1, 4, 6–131 (any descriptor but stderr, listen socket, death pipe), how == 1 (SHUT_WR)"))
            #expect(out.contains("  seccomp       12 syscalls, "))
            #expect(
                out.contains(
                    "    accept4        fd == 5 (listen socket), addr == 0 (NULL), addrlen == 0 (NULL), flags == 0x80800 (SOCK_CLOEXEC|SOCK_NONBLOCK)"
                ))
            #expect(out.contains("    close          fd in 0–1, 4, 6–131 (any descriptor but stderr, listen socket, death pipe)"))
            #expect(
                out.contains(
                    "    mmap           prot & 0x4 == 0 (no PROT_EXEC), flags == 34 (MAP_PRIVATE|MAP_ANONYMOUS), fd == 0xffffffff (-1)"))
            #expect(out.contains("    RLIMIT_NOFILE      132"))
            #expect(out.contains(#/\n    RLIMIT_NOFILE      0 +room for exactly the descriptors the tile opens inside its sandbox/#))
            #expect(
                out.contains(
                    #/\n    RLIMIT_FSIZE       largest regular file kept \+ 256 MiB, or 0 +no file it could fill: its log lines go through the supervisor/#
                ))
            #expect(out.contains("  descriptors   2 stderr, 3 death pipe; nothing else"))
            #expect(out.contains("    RLIMIT_AS          mapped at entry + 32 MiB"))
            #expect(out.contains("confinement of the reaper (pid 1 of the tiles' PID namespace, once every tile is started): exposure"))
            #expect(out.contains("confinement of the supervisor (once the reaper is started): exposure"))
            #expect(out.contains(/Landlock on this kernel: ABI \d+/))
        }

        // MARK: escapes, each from inside a real sandboxed tile

        /// How an attempt must end: the supervisor's words for the tile's death,
        /// and for a refusal by the kernel, the errno the tile logged.
        struct Escape: CustomTestStringConvertible, Sendable {
            let kind: String
            let attempt: String
            let death: String
            let errno: String?
            var testDescription: String { "\(kind) \(attempt)" }
        }

        static let sigsys = "killed by SIGSYS (seccomp violation)"
        static let refused = "exited with code 3"

        static let violation = "closed its death pipe but kept running (a sandbox violation)"

        static let escapes: [Escape] = [
            // The production policy stops each one at the syscall.
            Escape(kind: "escape", attempt: "open_file", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "socket", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "fork", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "execve", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "ptrace", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "kill_tile", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "unshare", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "setuid", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "write_metrics", death: "killed by SIGSEGV", errno: nil),
            Escape(kind: "escape", attempt: "mprotect_metrics", death: refused, errno: "EACCES"),
            Escape(kind: "escape", attempt: "close_death_pipe", death: sigsys, errno: nil),
            Escape(kind: "escape", attempt: "map_terabyte", death: sigsys, errno: nil),  // MAP_NORESERVE
            Escape(kind: "escape", attempt: "map_shared", death: sigsys, errno: nil),  // MAP_SHARED
            Escape(kind: "escape", attempt: "allocate_forever", death: refused, errno: "ENOMEM"),  // RLIMIT_AS, RLIMIT_DATA
            // The metric tile's own policy, attacked through the upper half of
            // a descriptor (the kernel reads the low 32 bits) and accept4's
            // address arguments.
            Escape(kind: "escape_metric", attempt: "close_listen_high", death: sigsys, errno: nil),
            Escape(kind: "escape_metric", attempt: "close_death_pipe_high", death: sigsys, errno: nil),
            Escape(kind: "escape_metric", attempt: "close_stderr_high", death: sigsys, errno: nil),
            Escape(kind: "escape_metric", attempt: "close_connection_high", death: refused, errno: "EBADF"),  // allowed: the kernel reads 7
            Escape(kind: "escape_metric", attempt: "accept_with_address", death: sigsys, errno: nil),
            // With the syscall let through, the layer beneath stops it.
            Escape(kind: "escape_layered", attempt: "open_file", death: refused, errno: "ENOENT"),  // empty root
            Escape(kind: "escape_layered", attempt: "socket", death: refused, errno: "EACCES"),  // Landlock: no TCP connect
            Escape(kind: "escape_layered", attempt: "fork", death: refused, errno: "EAGAIN"),  // RLIMIT_NPROC 0
            Escape(kind: "escape_layered", attempt: "execve", death: refused, errno: "ENOENT"),  // empty root
            Escape(kind: "escape_layered", attempt: "ptrace", death: refused, errno: "EPERM"),  // no capability, not dumpable
            Escape(kind: "escape_layered", attempt: "kill_tile", death: refused, errno: "EPERM"),  // another uid; Landlock signal scope
            Escape(kind: "escape_layered", attempt: "unshare", death: refused, errno: "ENOSPC"),  // namespace limit
            Escape(kind: "escape_layered", attempt: "setuid", death: refused, errno: "EINVAL"),  // uid 0 unmapped
            Escape(kind: "escape_layered", attempt: "write_metrics", death: "killed by SIGSEGV", errno: nil),
            Escape(kind: "escape_layered", attempt: "close_death_pipe", death: violation, errno: nil),  // the reaper's pidfd sees it live
            Escape(kind: "escape_layered", attempt: "map_terabyte", death: refused, errno: "ENOMEM"),  // RLIMIT_AS
        ]

        @Test(arguments: escapes)
        func anEscapeAttemptIsBlocked(_ e: Escape) throws {
            let fx = try Fixture(pageSize: "normal") { $0 + "\n[tiles.\(e.kind)]\nattempt = \"\(e.attempt)\"\ntarget_pid = 2\n" }
            defer { fx.tearDown() }
            let p = try LiveProcess(Binary.testbed, ["run", "--config", fx.config])
            #expect(p.waitForExit(timeout: 30))
            #expect(p.exitStatus == 1)
            #expect(p.stderr.contains("\(e.kind):0: escape attempt \(e.attempt): trying"), "the attempt ran inside the sandbox")
            #expect(p.stderr.contains("supervisor: tile \(e.kind):0 \(e.death); the topology is stopped"), "\(p.stderr)")
            if let errno = e.errno {
                #expect(
                    p.stderr.contains("escape attempt \(e.attempt): blocked,") && p.stderr.contains("failed with \(errno) "), "\(p.stderr)")
            }
            #expect(!p.stderr.contains("NOT BLOCKED"))
            #expect(fx.leftovers().isEmpty)
        }

        @Test func aProductionTilectlDoesNotKnowTheEscapeTiles() throws {
            let fx = try Fixture { $0 + "\n[tiles.escape]\n" }
            defer { fx.tearDown() }
            let r = try tilectl(["check", "--config", fx.config])
            #expect(r.status == 2)
            #expect(r.stderr.contains("unknown tile kind \"escape\""))
        }
    }
}
