#if canImport(Glibc)
import Glibc
#endif
import CShim
import MetricTile
import Shared

/// Test-only tiles that try to break out of their sandbox once it is
/// entered, then report how they were stopped. Only `tilectl-testbed`
/// knows them; a production `tilectl` rejects the kind.
///
/// Outcomes, as the supervisor reports them:
///   killed by SIGSYS   the seccomp filter refused the syscall
///   killed by SIGSEGV  the memory was not writable
///   exited with code 3 the kernel refused it; the tile logged the errno
///   exited with code 4 the attempt SUCCEEDED (a test failure)
protocol EscapeAttempts: Tile {}

extension EscapeAttempts {
    // Room for the few descriptors an attempt opens, so the layer under
    // the filter (the empty root, Landlock) is what answers, not EMFILE.
    static var openedInSandbox: Int { 2 }
}

/// Attacks with the production-like policy: the filter should stop them.
struct EscapeTile: EscapeAttempts {
    static let kind = "escape"
    var state: EscapeState
    static var seccompPolicy: SeccompPolicy { RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common }
}

/// The same attacks with the attempted syscall allowed by seccomp, so the
/// layer beneath (namespaces, pivot_root, Landlock, rlimits, capabilities)
/// has to stop them: defence in depth, shown.
struct LayeredEscapeTile: EscapeAttempts {
    static let kind = "escape_layered"
    var state: EscapeState
    static var seccompPolicy: SeccompPolicy {
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
            + SeccompPolicy(
                ["openat", "socket", "connect", "clone", "clone3", "execve", "ptrace", "kill", "unshare", "setuid", "close"].map {
                    SeccompRule($0, reason: "test only: let the next layer answer")
                } + [SeccompRule("mmap", [RuntimePolicy.noExec], reason: "test only: any flags, so RLIMIT_AS answers")])
    }
}

/// The metric tile's own policy and descriptors (a listen socket bound in
/// privileged init, kept as descriptor 5), attacked from inside: what the
/// metric tile could do if its code were compromised.
struct MetricEscapeTile: EscapeAttempts {
    static let kind = "escape_metric"
    var state: EscapeState
    static var seccompPolicy: SeccompPolicy { MetricTile.seccompPolicy }
    static var descriptorRoles: [DescriptorRole] { [MetricTile.listenSocketRole] }
    static var openedInSandbox: Int { MetricTile.openedInSandbox }
    let listen: FileDescriptor
    var descriptors: [DescriptorRole: FileDescriptor] { [MetricTile.listenSocketRole: listen] }
}

enum Attempt: String, CaseIterable {
    case openFile = "open_file", socket, fork, execve, ptrace, killTile = "kill_tile", writeMetrics = "write_metrics",
        mprotectMetrics = "mprotect_metrics", unshare, setuid
    /// close(3) and keep running: the supervisor must notice and stop all.
    case closeDeathPipe = "close_death_pipe"
    /// 1 TiB of address space, reserved without backing (MAP_NORESERVE).
    case mapTerabyte = "map_terabyte"
    /// Anonymous memory another process could map (MAP_SHARED).
    case mapShared = "map_shared"
    /// malloc and touch 16 MiB at a time until refused.
    case allocateForever = "allocate_forever"
    /// The kernel reads descriptors as 32 bits: close(2^32 | n).
    case closeListenHigh = "close_listen_high", closeDeathPipeHigh = "close_death_pipe_high"
    case closeStderrHigh = "close_stderr_high", closeConnectionHigh = "close_connection_high"
    /// accept4 asking for the peer's address.
    case acceptWithAddress = "accept_with_address"
    /// Int64.min as its heartbeat; its pid as 1; keeps running.
    case poisonHeartbeat = "poison_heartbeat", fakePid = "fake_pid"
    /// Tile 0's pid (read from its metrics) as its own.
    case stealPid = "steal_pid"
    /// Lines on stderr without end.
    case floodLog = "flood_log"
    /// Terminal escape sequences and a forged supervisor line on stderr.
    case terminalEscape = "terminal_escape"
}

extension EscapeAttempts {
    static var summary: String { "test only: tries to escape its sandbox" }
    static var schema: MetricSchema { MetricSchema(prefix: kind, []) }
    static var options: [TileOption] {
        [EscapeOptions.attempt.declaration, EscapeOptions.targetPort.declaration, EscapeOptions.targetPid.declaration]
    }
}

/// The options every escape tile kind takes.
enum EscapeOptions {
    static let attempt = OptionKey<String>(
        "attempt", .choice(Attempt.allCases.map(\.rawValue)), default: "open_file",
        help: "What to try once inside the sandbox.")
    static let targetPort = OptionKey<Int>("target_port", 1...65535, default: 7999, help: "TCP port to connect to.")
    static let targetPid = OptionKey<Int>(
        "target_pid", 1...4_194_304, default: 2,
        help: "PID (in the topology's namespace) of the tile to attack.")
}

/// The state every escape tile keeps: what to try, and a read-only view of
/// another tile's metrics.
struct EscapeState {
    let attempt: Attempt
    let port: Int
    let pid: Int32
    let foreignMetrics: WorkspaceMapping
    let foreignReader: MetricsReader
    /// Its own heartbeat and pid, which it may write anything into.
    let heartbeat: GaugeCell
    let ownPid: GaugeCell
    var done = false
}

extension EscapeTile {
    init(privileged ctx: TileContext) throws { state = try EscapeState(ctx) }
    mutating func beforeCredit(_ stem: inout StemContext) -> Bool { state.run() }
}

extension LayeredEscapeTile {
    init(privileged ctx: TileContext) throws { state = try EscapeState(ctx) }
    mutating func beforeCredit(_ stem: inout StemContext) -> Bool { state.run() }
}

extension MetricEscapeTile {
    init(privileged ctx: TileContext) throws {
        state = try EscapeState(ctx)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | CSHIM_SOCK_CLOEXEC | CSHIM_SOCK_NONBLOCK, 0)
        guard fd >= 0 else { throw RuntimeError(call: "socket", errno: errno) }
        listen = try ctx.keep(fd, as: MetricTile.listenSocketRole)
    }
    mutating func beforeCredit(_ stem: inout StemContext) -> Bool { state.run() }
}

extension EscapeState {
    init(_ ctx: TileContext) throws {
        attempt = Attempt(rawValue: ctx.tile[EscapeOptions.attempt])!
        port = ctx.tile[EscapeOptions.targetPort]
        pid = Int32(ctx.tile[EscapeOptions.targetPid])
        // Tile 0's metrics, mapped read-only as the metric tile maps them.
        (foreignMetrics, foreignReader) = try ctx.joinMetricsReadOnly(of: ctx.topology.tiles[0])
        heartbeat = ctx.metrics.gauge(CommonMetrics.heartbeat)
        ownPid = ctx.metrics.gauge(CommonMetrics.pid)
    }

    mutating func run() -> Bool {
        // Lies in its own metrics, told again every pass (housekeeping
        // writes the truth back): the metric tile, the supervisor and
        // `monitor` read them.
        if attempt == .poisonHeartbeat { heartbeat.set(0x8000_0000_0000_0000) }
        if attempt == .fakePid { ownPid.set(1) }
        if attempt == .stealPid { ownPid.set(foreignReader.common(CommonMetrics.pid)) }
        guard !done else { return false }
        done = true
        Log.notice("escape attempt \(attempt.rawValue): trying")
        switch attempt {
        case .openFile:
            report("open(/etc/passwd)", open("/etc/passwd", O_RDONLY))
        case .socket:
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if fd < 0 { report("socket(AF_INET)", fd) }
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = in_port_t(UInt16(port).bigEndian)
            sa.sin_addr.s_addr = in_addr_t(0x0100_007F)  // 127.0.0.1
            let rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            report("connect(127.0.0.1:\(port))", rc)
        case .fork:
            let child = fork()
            if child == 0 { _exit(0) }
            report("fork()", child)
        case .execve:
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("sh"), nil]
            report("execve(/bin/sh)", execve("/bin/sh", argv, [nil]))
        case .ptrace:
            report("ptrace(PTRACE_ATTACH, \(pid))", Int32(truncatingIfNeeded: ptraceAttach(pid)))
        case .killTile:
            report("kill(\(pid), SIGKILL)", kill(pid, SIGKILL))
        case .writeMetrics:
            // The mapping is read-only: this store faults (SIGSEGV).
            foreignMetrics.slots(at: 8).pointee = 0xDEAD
            report("store into another tile's metrics", 0)
        case .mprotectMetrics:
            report(
                "mprotect(another tile's metrics, PROT_WRITE)",
                mprotect(foreignMetrics.base, foreignMetrics.length, PROT_READ | PROT_WRITE))
        case .unshare:
            report("unshare(CLONE_NEWUSER)", unshareUser())
        case .setuid:
            report("setuid(0)", Glibc.setuid(0))
        case .poisonHeartbeat, .fakePid, .stealPid:
            Log.error("escape attempt \(attempt.rawValue): writing lies into its own metrics; staying up")
            return false
        case .floodLog:
            // Lines without end on stderr, the way to the terminal and the
            // log file; the supervisor slows it to its budget (this blocks).
            var line = Array("2026-11-29 00:00:00.000000 ERR     escape:0: flood \u{1B}]0;pwned\u{07}".utf8)
            line += [UInt8](repeating: 0x41, count: 200) + [0x0A]
            var total = 0
            while line.withUnsafeBytes({ Glibc.write(2, $0.baseAddress, $0.count) }) > 0 {
                total += line.count
                if total > 1 << 32 { report("write(stderr, 4 GiB)", 0) }
            }
            report("write(stderr) after \(total) bytes", -1)
        case .terminalEscape:
            // Escape sequences for the operator's terminal, and a line that
            // pretends to be the supervisor's.
            let forged =
                "\u{1B}]0;PWNED\u{07}\u{1B}[2J\r2026-11-29 00:00:00.000000 NOTICE  supervisor: every tile halted; the topology is stopped\n"
            _ = forged.withCString { Glibc.write(2, $0, strlen($0)) }
            Log.error("escape attempt \(attempt.rawValue): wrote escapes and a forged line; staying up")
            return false
        case .closeDeathPipe:
            guard Glibc.close(SandboxProfile.deathPipe.rawValue) == 0 else { report("close(death pipe)", -1) }
            Log.error("escape attempt \(attempt.rawValue): closed the death pipe; staying up")
            return false  // and keep running, as a compromised tile would
        case .mapTerabyte:
            let p = mmap(nil, 1 << 40, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            report("mmap(1 TiB, MAP_NORESERVE)", p == MAP_FAILED ? -1 : 0)
        case .mapShared:
            let p = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
            report("mmap(MAP_SHARED)", p == MAP_FAILED ? -1 : 0)
        case .allocateForever:
            var total = 0
            while let p = malloc(16 << 20) {
                memset(p, 1, 16 << 20)
                total += 16
                if total > 1 << 20 { report("malloc(\(total) MiB in all)", 0) }
            }
            Log.error("escape attempt \(attempt.rawValue): refused after \(total) MiB")
            report("malloc(16 MiB) after \(total) MiB", -1)
        case .closeListenHigh:
            report("close(2^32 | 5)", Int32(truncatingIfNeeded: rawSyscall("close", 1 << 32 | 5)))
        case .closeDeathPipeHigh:
            report("close(2^32 | 3)", Int32(truncatingIfNeeded: rawSyscall("close", 1 << 32 | 3)))
        case .closeStderrHigh:
            report("close(2^32 | 2)", Int32(truncatingIfNeeded: rawSyscall("close", 1 << 32 | 2)))
        case .closeConnectionHigh:
            // A descriptor a connection would have: the filter lets it
            // through (the kernel reads 7), and there is no such descriptor.
            report("close(2^32 | 7)", Int32(truncatingIfNeeded: rawSyscall("close", 1 << 32 | 7)))
        case .acceptWithAddress:
            var sa = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let rc = withUnsafeMutablePointer(to: &sa) { p in
                withUnsafeMutablePointer(to: &len) { l in
                    rawSyscall(
                        "accept4", 5, UInt64(UInt(bitPattern: p)), UInt64(UInt(bitPattern: l)),
                        UInt64(CSHIM_SOCK_CLOEXEC | CSHIM_SOCK_NONBLOCK))
                }
            }
            report("accept4(listen, &addr, &len)", Int32(truncatingIfNeeded: rc))
        }
        return true
    }

    /// Logs the outcome and exits: 3 when the kernel refused, 4 when the
    /// attempt went through.
    func report(_ call: String, _ rc: Int32) -> Never {
        if rc < 0 {
            Log.error("escape attempt \(attempt.rawValue): blocked, \(call) failed with \(Errno.describe(errno))")
            exit(3)
        }
        Log.error("escape attempt \(attempt.rawValue): NOT BLOCKED, \(call) returned \(rc)")
        exit(4)
    }
}
