#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// What the reaper tells the supervisor, one fixed-size record on a pipe.
struct ReaperReport {
    enum Event: UInt32 {
        /// A tile exited while the topology was running: fail fast.
        case tileDied = 1
        /// Every tile halted after an orderly stop; `status` is the first
        /// tile's that did not exit 0 (with `tileIndex`), or 0.
        case halted = 2
        /// A tile did not halt in time and was killed.
        case haltTimedOut = 3
        /// A tile closed its death pipe but kept running: only a tile that
        /// does what its policy should never let it can do that.
        case deathPipeClosed = 4
        /// The reaper could not start a tile or confine itself; `status`
        /// is the errno, `tileIndex` the `ReaperFailure`.
        case reaperFailed = 5
        /// A tile is forked; `status` is its pid as the host sees it.
        case tileStarted = 6
    }

    var event: UInt32
    var tileIndex: UInt32
    var status: Int32
    var reserved: UInt32 = 0

    static let size = MemoryLayout<ReaperReport>.size
}

/// What the reaper failed at.
enum ReaperFailure: UInt32, CustomStringConvertible {
    case pipe = 1, fork, pidfd, confine, poll
    var description: String {
        switch self {
        case .pipe: "create a death pipe"
        case .fork: "fork a tile"
        case .pidfd: "pidfd_open a tile"
        case .confine: "confine itself"
        case .poll: "wait for its tiles (ppoll)"
        }
    }
}

/// The reaper is pid 1 of the tiles' PID namespace. It forks every tile
/// and execs the tilectl binary it was given as a descriptor, then confines
/// itself and watches each tile through a pidfd (readable when the process
/// ends) and a death pipe (its write end is the tile's), reaping without
/// ever blocking on one tile, and reports the first death to the
/// supervisor. When it exits the kernel kills every process left in the
/// namespace, so no tile can outlive it, and it dies with the supervisor
/// (PR_SET_PDEATHSIG).
enum Reaper {
    struct Plan {
        /// The tilectl binary, opened once by the supervisor (`execveat`).
        let executable: FileDescriptor
        let topologyFD: FileDescriptor
        /// Per tile, the write end of the pipe that is its stderr: the
        /// supervisor reads every line a tile writes, checks whose it is,
        /// takes control bytes out and writes it to the terminal and the
        /// log (`LogRelay`). A tile holds no file and no terminal.
        let stderrPipes: [FileDescriptor]
        let tiles: [TileSpec]
        let sandbox: Bool
        let haltTimeoutNanos: Int64
        /// The supervisor's workspace mappings, inherited by the fork: the
        /// reaper unmaps them at once.
        let mappings: [WorkspaceMapping]
    }

    /// How long a tile may keep running after its death pipe closed. A
    /// dying tile closes its descriptors before it becomes a zombie; a
    /// live tile with a closed pipe is a violation.
    static let pipeGraceNanos: Int64 = 250_000_000

    static let controlRole = DescriptorRole("control pipe")
    static let reportRole = DescriptorRole("report pipe")

    /// Once every tile is started: wait (ppoll), learn of a halt (read the
    /// control pipe), reap (waitid), report (write the report pipe), close
    /// the descriptors of dead tiles, exit.
    static let policy =
        SeccompPolicy([
            SeccompRule("ppoll", reason: "wait for a tile to end, its death pipe to close, or the supervisor's halt"),
            SeccompRule("read", [.arg(0, equals: .descriptor(controlRole))], reason: "the supervisor's halt request"),
            SeccompRule("write", [.arg(0, equals: .descriptor(reportRole))], reason: "report the first death to the supervisor"),
            SeccompRule(
                "waitid",
                [.arg(0, equals: .constant(3, "P_PIDFD")), .arg(3, equals: .constant(UInt64(WEXITED | WNOHANG), "WEXITED|WNOHANG"))],
                reason: "reap a tile through its pidfd, never blocking"),
            SeccompRule(
                "waitid",
                [
                    .arg(0, equals: .constant(UInt64(P_ALL.rawValue), "P_ALL")),
                    .arg(3, equals: .constant(UInt64(WEXITED | WNOHANG | WNOWAIT), "WEXITED|WNOHANG|WNOWAIT")),
                ],
                reason: "see whether a process that is not a tile ended in the namespace (orphans come to pid 1)"),
            SeccompRule(
                "waitid",
                [
                    .arg(0, equals: .constant(UInt64(P_PID.rawValue), "P_PID")),
                    .arg(3, equals: .constant(UInt64(WEXITED | WNOHANG), "WEXITED|WNOHANG")),
                ],
                reason: "reap such an orphan"),
            SeccompRule(
                "close", [.arg(0, notEquals: .descriptor(controlRole)), .arg(0, notEquals: .descriptor(reportRole))],
                reason: "let go of a dead tile's pidfd and death pipe"),
        ]) + RuntimePolicy.common

    /// Once every tile runs: namespaces of its own and an empty root (it
    /// opens nothing again), and the policy above.
    static func confinement(control: FileDescriptor, report: FileDescriptor) -> Confinement {
        Confinement(
            "reaper", policy: policy, descriptors: [controlRole: control, reportRole: report],
            namespaces: ["mount", "network", "ipc", "uts", "cgroup"], emptyRoot: true)
    }

    /// Runs in the child of the supervisor's fork; never returns.
    static func run(_ plan: Plan, control: FileDescriptor, report: FileDescriptor) -> Never {
        _ = cshim_prctl_set_pdeathsig(SIGKILL)
        _ = cshim_prctl_set_name("tilectl-reaper")
        _ = setsid()  // out of the terminal's process group: Ctrl-C is the supervisor's
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        // Keep only what the reaper uses: the supervisor's lock, signalfd,
        // uid locks and the like must not outlive it here.
        closeAllDescriptors(
            except: [2, control.rawValue, report.rawValue, plan.topologyFD.rawValue, plan.executable.rawValue]
                + plan.stderrPipes.map(\.rawValue))
        for m in plan.mappings { m.leave() }

        // Build every argv before the first fork: between fork and execve a
        // child only makes async-signal-safe calls.
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("SWIFT_BACKTRACE=enable=no"), nil]
        let argvs: [[UnsafeMutablePointer<CChar>?]] = plan.tiles.map { t in
            var args: [String] = [
                "tilectl", "run1", t.kind, String(t.kindId),
                "--topology-fd", String(SandboxProfile.topologyHandoff.rawValue),
                "--pipe-fd", String(SandboxProfile.deathPipe.rawValue),
            ]
            if !plan.sandbox { args.append("--no-sandbox") }
            var c: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
            c.append(nil)
            return c
        }

        let n = plan.tiles.count
        var pids = [pid_t](repeating: 0, count: n)
        var pidfds = [Int32](repeating: -1, count: n)
        var pipes = [Int32](repeating: -1, count: n)
        var pipeClosedAt = [Int64](repeating: 0, count: n)
        for i in 0..<n {
            guard let (r, w) = try? FileDescriptor.pipe() else { fail(report, .pipe, errno) }
            let pid = fork()
            if pid == 0 {
                execTile(
                    exe: plan.executable.rawValue, argv: argvs[i], envp: envp, topologyFD: plan.topologyFD.rawValue,
                    stderrFD: plan.stderrPipes[i].rawValue,
                    pipeFD: w.rawValue)
            }
            w.close()
            guard pid > 0 else { fail(report, .fork, errno) }
            let fd = cshim_pidfd_open(pid)
            guard fd >= 0 else { fail(report, .pidfd, errno) }
            pids[i] = pid
            pidfds[i] = fd
            Self.report(report, .tileStarted, i, hostPid(pidfd: fd))
            pipes[i] = r.rawValue
        }
        plan.topologyFD.close()
        plan.stderrPipes.forEach { $0.close() }
        plan.executable.close()

        if plan.sandbox {
            do {
                try confinement(control: control, report: report).enter()
            } catch {
                fail(report, .confine, errno == 0 ? EPERM : errno)
            }
        }

        var halting = false
        var deadline = Int64.max
        var alive = n
        var firstFailure: (index: Int, status: Int32)? = nil
        let fds = UnsafeMutablePointer<pollfd>.allocate(capacity: 1 + 2 * n)
        while true {
            fds[0] = pollfd(fd: control.rawValue, events: Int16(POLLIN), revents: 0)
            for i in 0..<n {
                fds[1 + 2 * i] = pollfd(fd: pidfds[i], events: Int16(POLLIN), revents: 0)
                fds[2 + 2 * i] = pollfd(fd: pipes[i], events: Int16(POLLIN), revents: 0)
            }
            let now = Clock.monotonicNanos()
            var wake = halting ? deadline : Int64.max
            for i in 0..<n where pipeClosedAt[i] > 0 { wake = min(wake, pipeClosedAt[i] + pipeGraceNanos) }
            let timeout = wake == Int64.max ? -1 : max(0, wake - now)
            if cshim_ppoll(fds, nfds_t(1 + 2 * n), timeout) < 0 && errno != EINTR { fail(report, .poll, errno) }

            if fds[0].revents != 0 {
                var byte: UInt8 = 0
                if Glibc.read(control.rawValue, &byte, 1) != 1 { _exit(1) }  // the supervisor is gone
                if byte == UInt8(ascii: "H") && !halting {
                    halting = true
                    deadline = Clock.monotonicNanos() + plan.haltTimeoutNanos
                }
            }
            // Processes first: a tile that ended is reaped through its own
            // pidfd, whatever its death pipe says.
            for i in 0..<n where pidfds[i] >= 0 && fds[1 + 2 * i].revents != 0 {
                var status: Int32 = 0
                guard cshim_pidfd_reap(pidfds[i], &status) == 1 else { continue }
                Glibc.close(pidfds[i])
                pidfds[i] = -1
                if pipes[i] >= 0 { Glibc.close(pipes[i]); pipes[i] = -1 }
                alive -= 1
                if !halting { finish(report, .tileDied, i, status) }
                if status != 0 && firstFailure == nil { firstFailure = (i, status) }
            }
            // A death pipe that closed while its tile still runs.
            let after = Clock.monotonicNanos()
            for i in 0..<n where pipes[i] >= 0 {
                if fds[2 + 2 * i].revents != 0 && pipeClosedAt[i] == 0 {
                    pipeClosedAt[i] = after
                    Glibc.close(pipes[i])
                    pipes[i] = -1
                }
            }
            for i in 0..<n where pidfds[i] >= 0 && pipeClosedAt[i] > 0 && after - pipeClosedAt[i] >= pipeGraceNanos && !halting {
                finish(report, .deathPipeClosed, i, 0)
            }
            reapOrphans(pids: pids, pidfds: pidfds)

            if halting && alive == 0 { finish(report, .halted, firstFailure?.index ?? 0, firstFailure?.status ?? 0) }
            if halting && Clock.monotonicNanos() >= deadline {
                let late = pidfds.firstIndex { $0 >= 0 } ?? 0
                finish(report, .haltTimedOut, late, 0)
            }
        }
    }

    /// Reaps processes in the namespace that are not tiles (orphans come to
    /// pid 1), never a tile: those are reaped through their pidfds.
    static func reapOrphans(pids: [pid_t], pidfds: [Int32]) {
        while true {
            let pid = cshim_peek_ended_child()
            guard pid > 0 else { return }
            // A tile not yet reaped: its status is collected from its
            // pidfd, on the next pass.
            if let i = pids.firstIndex(of: pid), pidfds[i] >= 0 { return }
            var status: Int32 = 0
            _ = cshim_reap_pid(pid, &status)
        }
    }

    /// The pid behind `pidfd` as the host sees it: fork() answers in the
    /// tiles' namespace, the pidfd's fdinfo in /proc's (the host's). 0 when
    /// it cannot be read.
    static func hostPid(pidfd: Int32) -> Int32 {
        guard let text = try? Files.read("/proc/self/fdinfo/\(pidfd)") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("Pid:") {
            return Int32(String(line.dropFirst(4)).trimmingWhitespace) ?? 0
        }
        return 0
    }

    static func report(_ report: FileDescriptor, _ event: ReaperReport.Event, _ index: Int, _ status: Int32) {
        var r = ReaperReport(event: event.rawValue, tileIndex: UInt32(index), status: status)
        _ = withUnsafeBytes(of: &r) { Glibc.write(report.rawValue, $0.baseAddress, $0.count) }
    }

    /// Reports and exits; the kernel then kills whatever is left in the
    /// namespace.
    static func finish(_ report: FileDescriptor, _ event: ReaperReport.Event, _ index: Int, _ status: Int32) -> Never {
        Self.report(report, event, index, status)
        _exit(0)
    }

    static func fail(_ report: FileDescriptor, _ what: ReaperFailure, _ err: Int32) -> Never {
        finish(report, .reaperFailed, Int(what.rawValue), err)
    }

    /// In the forked child: its stderr pipe at 2, the death pipe at 3 and
    /// the topology at 4 (the numbers `run1` and the tile's sandbox profile
    /// expect), 0 and 1 closed, every other descriptor close-on-exec, then
    /// exec the binary the supervisor opened. Async-signal-safe only.
    static func execTile(
        exe: Int32, argv: [UnsafeMutablePointer<CChar>?], envp: [UnsafeMutablePointer<CChar>?],
        topologyFD: Int32, stderrFD: Int32, pipeFD: Int32
    ) -> Never {
        _ = cshim_prctl_set_pdeathsig(SIGKILL)
        // Move them all out of the way first: any may already sit at 2 to 4.
        let t = cshim_fcntl_int(topologyFD, F_DUPFD, 10)
        let p = cshim_fcntl_int(pipeFD, F_DUPFD, 10)
        let e = cshim_fcntl_int(exe, F_DUPFD_CLOEXEC, 10)
        let o = cshim_fcntl_int(stderrFD, F_DUPFD, 10)
        guard t >= 0, p >= 0, e >= 0, o >= 0, dup2(o, 2) == 2,
            dup2(p, SandboxProfile.deathPipe.rawValue) == SandboxProfile.deathPipe.rawValue,
            dup2(t, SandboxProfile.topologyHandoff.rawValue) == SandboxProfile.topologyHandoff.rawValue
        else { _exit(126) }
        _ = cshim_close_range(5, UInt32.max, CSHIM_CLOSE_RANGE_CLOEXEC)
        // stdin and stdout are not the tile's.
        _ = Glibc.close(0)
        _ = Glibc.close(1)
        argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { env in
                _ = cshim_execveat_fd(e, a.baseAddress!, env.baseAddress!)
            }
        }
        _exit(127)
    }
}
