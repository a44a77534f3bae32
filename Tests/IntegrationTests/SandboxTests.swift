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
}

extension Integration {
@Suite struct SandboxTests {
    static let hostUserNS = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")) ?? ""
    static let hostNetNS = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")) ?? ""

    /// Every tile of a running topology, as /proc shows it.
    func assertSandboxed(_ fx: Fixture, uid: String) throws {
        let pids = try fx.tilePids()
        #expect(pids.count == 3)
        for (series, pid) in pids {
            let p = try ProcView(pid)
            let isMetric = series.contains("kind=\"metric\"")
            let what = "\(series) pid \(pid)"
            #expect(p.status["Uid"]?.split(separator: "\t").allSatisfy { $0 == uid } == true, "\(what) uid \(p.status["Uid"] ?? "")")
            #expect(p.status["Gid"]?.split(separator: "\t").allSatisfy { $0 == uid } == true, "\(what) gid")
            #expect(p.status["Groups"] == "", "\(what) supplementary groups")
            for cap in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
                #expect(p.status[cap] == "0000000000000000", "\(what) \(cap)")
            }
            #expect(p.status["NoNewPrivs"] == "1", "\(what)")
            #expect(p.status["Seccomp"] == "2", "\(what)")
            #expect(p.status["Threads"] == "1", "\(what)")
            #expect(p.namespace("user") != Self.hostUserNS, "\(what) user namespace")
            if isMetric {
                #expect(p.namespace("net") == Self.hostNetNS, "the metric tile serves on the host's network")
            } else {
                #expect(p.namespace("net") != Self.hostNetNS, "\(what) network namespace")
            }
            #expect(p.rootEntries == [], "\(what) root directory: \(p.rootEntries ?? ["unreadable"])")
            #expect(p.openFileLimit == (isMetric ? "133" : "3"), "\(what) RLIMIT_NOFILE")
            // stderr and the death pipe, plus the listen socket for the metric tile
            // (connections may come and go while we look).
            if !isMetric { #expect(p.descriptors.sorted() == ["2", "4"], "\(what) descriptors \(p.descriptors)") }
        }
    }

    @Test func everyTileRunsInItsSandbox() throws {
        let fx = try Fixture(pageSize: "normal")
        defer { fx.tearDown() }
        let run = try fx.boot()
        try assertSandboxed(fx, uid: "65534")
        run.kill(SIGTERM)
        #expect(run.waitForExit(timeout: 10))
        #expect(run.exitStatus == 0)
    }

    @Test func withoutRootTilesRunInUnprivilegedUserNamespaces() throws {
        let fx = try Fixture()
        defer { fx.tearDown() }
        let run = try LiveProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                       Binary.tilectl, "run", "--config", fx.config])
        #expect(run.waitForOutput("is up:", timeout: 30), "\(run.stderr)")
        #expect(run.stderr.contains("huge pages unavailable"), "normal pages without root")
        try assertSandboxed(fx, uid: "65534")
        #expect(try fx.scrape().status == 200)
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
        #expect(p.stderr.hasPrefix("tilectl: error: tilectl run needs root or unprivileged user namespaces, which this host refuses (unshare(CLONE_NEWUSER): ENOSPC); run it as root, or allow them with sysctl -w user.max_user_namespaces="))
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
        #expect(out.contains("sandbox of metric (1 tile)\n  user          nobody (uid 65534, gid 65534); no supplementary groups"))
        #expect(out.contains("own: user, mount, ipc, uts, cgroup, then a nested user namespace that cannot create any more; shared: pid (the topology's own), network (the host's: it serves a socket)"))
        #expect(out.contains("own: user, mount, ipc, uts, cgroup, network, then"))
        #expect(out.contains("  seccomp       16 syscalls allowed, anything else kills the process"))
        #expect(out.contains("  seccomp       12 syscalls allowed"))
        #expect(out.contains("    accept4        arg0 == <listen socket> && arg3 == SOCK_CLOEXEC|SOCK_NONBLOCK"))
        #expect(out.contains("    RLIMIT_NOFILE      133"))
        #expect(out.contains("    RLIMIT_NOFILE      3  exactly the descriptors the tile declares"))
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
        // With the syscall let through, the layer beneath stops it.
        Escape(kind: "escape_layered", attempt: "open_file", death: refused, errno: "ENOENT"),      // empty root
        Escape(kind: "escape_layered", attempt: "socket", death: refused, errno: "EACCES"),        // Landlock: no TCP connect
        Escape(kind: "escape_layered", attempt: "fork", death: refused, errno: "EAGAIN"),          // RLIMIT_NPROC 0
        Escape(kind: "escape_layered", attempt: "execve", death: refused, errno: "ENOENT"),        // empty root
        Escape(kind: "escape_layered", attempt: "ptrace", death: refused, errno: "EPERM"),         // no capability, not dumpable
        Escape(kind: "escape_layered", attempt: "kill_tile", death: refused, errno: "EPERM"),      // Landlock signal scope
        Escape(kind: "escape_layered", attempt: "unshare", death: refused, errno: "ENOSPC"),       // namespace limit
        Escape(kind: "escape_layered", attempt: "setuid", death: refused, errno: "EINVAL"),        // uid 0 unmapped
        Escape(kind: "escape_layered", attempt: "write_metrics", death: "killed by SIGSEGV", errno: nil),
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
            #expect(p.stderr.contains("escape attempt \(e.attempt): blocked,") && p.stderr.contains("failed with \(errno) "), "\(p.stderr)")
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
