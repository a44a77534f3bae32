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
        /// Every tile halted after an orderly stop.
        case halted = 2
        /// A tile did not halt in time and was killed.
        case haltTimedOut = 3
    }

    var event: UInt32
    var tileIndex: UInt32
    var status: Int32
    var reserved: UInt32 = 0

    static let size = MemoryLayout<ReaperReport>.size
}

/// The reaper is pid 1 of the tiles' PID namespace: it forks and execs
/// every tile, watches one pipe per tile (its write end dies with the tile),
/// reaps them, and reports the first death to the supervisor. When it exits
/// the kernel kills every process left in the namespace, so no tile can
/// outlive it, and it dies with the supervisor (PR_SET_PDEATHSIG).
enum Reaper {
    struct Plan {
        /// The tilectl binary, resolved once by the supervisor.
        let executable: String
        let topologyFD: FileDescriptor
        let tiles: [TileSpec]
        let sandbox: Bool
        let haltTimeoutNanos: Int64
    }

    /// Runs in the child of the supervisor's fork; never returns.
    static func run(_ plan: Plan, control: FileDescriptor, report: FileDescriptor) -> Never {
        _ = cshim_prctl_set_pdeathsig(SIGKILL)
        _ = cshim_prctl_set_name("tilectl-reaper")
        _ = setsid()  // out of the terminal's process group: Ctrl-C is the supervisor's
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        // Keep only what the reaper uses: the supervisor's lock, signalfd and
        // the like must not outlive it here.
        var keep: Set<Int32> = [0, 1, 2, control.rawValue, report.rawValue, plan.topologyFD.rawValue]
        if let log = Log.fileDescriptor { keep.insert(log.rawValue) }
        for fd in (try? openDescriptors()) ?? [] where !keep.contains(fd) { _ = Glibc.close(fd) }

        // Build every argv before the first fork: between fork and execve a
        // child only makes async-signal-safe calls.
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("SWIFT_BACKTRACE=enable=no"), nil]
        let argvs: [[UnsafeMutablePointer<CChar>?]] = plan.tiles.map { t in
            var args: [String] = ["tilectl", "run1", t.kind, String(t.kindId), "--topology-fd", "3", "--pipe-fd", "4"]
            if !plan.sandbox { args.append("--no-sandbox") }
            var c: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
            c.append(nil)
            return c
        }
        let exe = strdup(plan.executable)!

        var pids = [pid_t](repeating: 0, count: plan.tiles.count)
        var pipes = [Int32](repeating: -1, count: plan.tiles.count)
        for i in plan.tiles.indices {
            guard let pipe = try? FileDescriptor.pipe() else { finish(report, .tileDied, i, 127 << 8) }
            let (r, w) = pipe
            let pid = fork()
            if pid == 0 {
                execTile(exe: exe, argv: argvs[i], envp: envp, topologyFD: plan.topologyFD.rawValue, pipeFD: w.rawValue)
            }
            w.close()
            if pid < 0 { finish(report, .tileDied, i, 127 << 8) }
            pids[i] = pid
            pipes[i] = r.rawValue
        }
        plan.topologyFD.close()

        var halting = false
        var deadline = Int64.max
        var alive = plan.tiles.count
        let fds = UnsafeMutablePointer<pollfd>.allocate(capacity: plan.tiles.count + 1)
        while true {
            fds[0] = pollfd(fd: control.rawValue, events: Int16(POLLIN), revents: 0)
            for i in plan.tiles.indices { fds[i + 1] = pollfd(fd: pipes[i], events: Int16(POLLIN), revents: 0) }
            let timeout = halting ? max(0, deadline - Clock.monotonicNanos()) : -1
            let n = cshim_ppoll(fds, nfds_t(plan.tiles.count + 1), timeout)
            if n < 0 && errno != EINTR { finish(report, .tileDied, 0, 127 << 8) }

            if fds[0].revents != 0 {
                var byte: UInt8 = 0
                if Glibc.read(control.rawValue, &byte, 1) != 1 { _exit(1) }  // the supervisor is gone
                if byte == UInt8(ascii: "H") && !halting {
                    halting = true
                    deadline = Clock.monotonicNanos() + plan.haltTimeoutNanos
                }
            }
            for i in plan.tiles.indices where pipes[i] >= 0 && fds[i + 1].revents != 0 {
                var status: Int32 = 0
                while waitpid(pids[i], &status, 0) < 0 && errno == EINTR {}
                Glibc.close(pipes[i])
                pipes[i] = -1
                alive -= 1
                if !halting { finish(report, .tileDied, i, status) }
            }
            // Reap anything else that ended up in the namespace.
            var s: Int32 = 0
            while waitpid(-1, &s, WNOHANG) > 0 {}

            if halting && alive == 0 { finish(report, .halted, 0, 0) }
            if halting && Clock.monotonicNanos() >= deadline {
                let late = pipes.firstIndex { $0 >= 0 } ?? 0
                finish(report, .haltTimedOut, late, 0)
            }
        }
    }

    /// Reports and exits; the kernel then kills whatever is left in the
    /// namespace.
    static func finish(_ report: FileDescriptor, _ event: ReaperReport.Event, _ index: Int, _ status: Int32) -> Never {
        var r = ReaperReport(event: event.rawValue, tileIndex: UInt32(index), status: status)
        _ = withUnsafeBytes(of: &r) { Glibc.write(report.rawValue, $0.baseAddress, $0.count) }
        _exit(0)
    }

    /// In the forked child: descriptors 3 (topology) and 4 (death pipe), all
    /// others but 0-2 closed, then exec `tilectl run1`. Async-signal-safe only.
    static func execTile(exe: UnsafeMutablePointer<CChar>, argv: [UnsafeMutablePointer<CChar>?],
                         envp: [UnsafeMutablePointer<CChar>?], topologyFD: Int32, pipeFD: Int32) -> Never {
        _ = cshim_prctl_set_pdeathsig(SIGKILL)
        // Move both out of the way first: either may already be 3 or 4.
        let t = cshim_fcntl_int(topologyFD, F_DUPFD, 10)
        let p = cshim_fcntl_int(pipeFD, F_DUPFD, 10)
        guard t >= 0, p >= 0, dup2(t, 3) == 3, dup2(p, 4) == 4 else { _exit(126) }
        _ = cshim_close_range(5, UInt32.max, 0)
        // stdin and stdout are not the tile's: only stderr is kept.
        _ = Glibc.close(0)
        _ = Glibc.close(1)
        argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { e in
                _ = execve(exe, a.baseAddress!, e.baseAddress!)
            }
        }
        _exit(127)
    }
}
