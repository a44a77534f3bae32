#if canImport(Glibc)
import Glibc
#endif
import CShim
import MetricTile
import Shared

/// `tilectl run`: boots a topology and supervises it until it stops.
///
///  0. privileges: root, or a user namespace of our own (or one line saying why not)
///  1. lock the topology name; remove a killed run's leftovers
///  2. preflight every tile (a port in use fails here, before anything exists)
///  3. reserve the tiles' uids; decide the page size, mounting and reserving huge pages if allowed
///  4. create and format one workspace per tile and link
///  5. seal the resolved topology into a memfd
///  6. fork the reaper into a new PID namespace; it execs every tile, then confines itself
///  7. confine the supervisor to what cleanup needs; wait: a signal starts an
///     orderly stop; the first tile to die stops all
///  8. on every exit path: workspaces removed, reserved pages released, uids and lock let go
final class Supervisor {
    let topology: Topology
    let kinds: TileKinds
    let configPath: String
    let sandbox: Bool
    /// systemd's notify socket and `--ready-fd`, when either was given.
    let notifier: ServiceNotifier
    /// How long tiles have to halt after SIGINT/SIGTERM before they are killed.
    static let haltTimeoutNanos: Int64 = 5_000_000_000

    private var lock: TopologyLock?
    private var identities: TileIdentities?
    private var runDirectory: NormalPages.RunDirectory?
    private var plan: ShmemPlan?
    /// Tile workspaces, parallel to `topology.tiles`.
    private var created: [(WorkspaceSpec, WorkspaceMapping)] = []
    /// The tiles' workspaces (their mappings are in `created`), by tile index.
    private var tileWorkspaces: [TileWorkspace] = []
    private var linkWorkspaces: [(WorkspaceSpec, WorkspaceMapping)] = []

    /// `run --for`: the topology as a test, or nil.
    let ci: CIRun?
    var renderer: SnapshotRenderer?

    init(
        topology: Topology, kinds: TileKinds, configPath: String, sandbox: Bool, readyFD: FileDescriptor? = nil, ci: CIRun? = nil
    ) {
        self.topology = topology
        self.kinds = kinds
        self.configPath = configPath
        self.sandbox = sandbox
        notifier = ServiceNotifier(readyFD: readyFD)
        self.ci = ci
    }

    /// Runs the topology; returns the process exit status.
    func run() throws -> Int32 {
        defer { cleanup() }
        let started = Clock.monotonicNanos()
        // Signals first: from here SIGINT and SIGTERM are read by the wait
        // loop; none can kill the supervisor half-way through creating things.
        // SIGUSR1 reopens the log file (logrotate's postrotate, through
        // `tilectl reopen-logs`); the others stop the topology.
        let signals = try Signals.block([SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        defer { signals.close() }

        // Every directory root opens by path is checked now, before a run
        // without root enters its own user namespace (where root's
        // directories would look like nobody's).
        let lock = try TopologyLock.acquire(topology.name)
        self.lock = lock
        if let previous = lock.previousRun(), let dir = previous.normalDirectory {
            NormalPages.removeRunDirectory(dir)
        }
        try lock.describe(nil)
        let hugetlbfsDirs = [PageSize.huge, .gigantic].map { $0.directory(hugetlbfsBase: topology.shmem.hugetlbfsMount) }
        for path in Workspace.removeLeftovers(topologyName: topology.name, hugetlbfs: hugetlbfsDirs) {
            Log.notice("removed \(path), left over from a run that was killed")
        }
        let runDirectory = try RuntimeError.within("cannot create the run's directory in \(NormalPages.base)") {
            try NormalPages.createRunDirectory(topologyName: topology.name)
        }
        self.runDirectory = runDirectory

        let privileges = try Privileges.prepare(topology)
        for (cpu, tiles) in Affinity.sharedBySpinners(topology) {
            Log.warning(
                "CPU \(cpu) is shared by \(tiles.count) spinning tiles (\(tiles.joined(separator: ", "))): they take turns, each at a fraction of its speed; give each its own CPU in [layout] affinity"
            )
        }

        for tile in topology.tiles {
            try RuntimeError.within("tile \(tile.name)") { try kinds[tile.kind]!.preflight(tile, topology) }
        }

        if privileges == .root {
            let identities = try TileIdentities.reserve(topology)
            self.identities = identities
            if case .dynamic = topology.user {
                Log.info("tiles run as uids " + zip(topology.tiles, identities.users).map { "\($0.name)=\($1.uid)" }.joined(separator: " "))
            }
        }

        let normalDirectory = runDirectory.path
        let plan: ShmemPlan
        do {
            plan = try ShmemPlanner.plan(
                topology, kinds: kinds, configPath: configPath,
                mode: .run(privileged: privileges == .root), normalDirectory: normalDirectory)
        } catch let e as RuntimeError where e.path != nil {
            throw e.within("the hugetlbfs directory")
        }
        self.plan = plan
        for n in plan.notices { Log.notice(n) }

        try createWorkspaces(plan.layout)
        let handoff = TopologyHandoff(
            topology: topology, layout: plan.layout, users: identities?.users,
            normalDirectory: normalDirectory)
        let topologyFD = try handoff.seal()
        try lock.describe(handoff)
        defer { topologyFD.close() }

        // The binary every tile runs, opened now: a file later put at its
        // path (an upgrade, or worse) is not what the tiles exec.
        let executable = FileDescriptor(
            rawValue: try Sys.check(
                "open(/proc/self/exe)",
                open("/proc/self/exe", O_RDONLY | CSHIM_O_CLOEXEC)))
        let (controlRead, controlWrite) = try FileDescriptor.pipe()
        let (reportRead, reportWrite) = try FileDescriptor.pipe()
        let stderrPipes = try topology.tiles.map { _ in try FileDescriptor.pipe() }
        let relay = LogRelay(names: topology.tiles.map(\.name), pipes: stderrPipes.map(\.read))
        let reaper = try spawnReaper(
            Reaper.Plan(
                executable: executable, topologyFD: topologyFD, stderrPipes: stderrPipes.map(\.write), tiles: topology.tiles,
                sandbox: sandbox, haltTimeoutNanos: Self.haltTimeoutNanos, mappings: (created + linkWorkspaces).map(\.1)),
            control: controlRead, report: reportWrite)
        executable.close()
        controlRead.close()
        reportWrite.close()
        stderrPipes.forEach { $0.write.close() }
        defer { controlWrite.close(); reportRead.close() }
        Log.info("started \(topology.tiles.count) tiles (reaper pid \(reaper))")
        // The CI mode's renderer, allocated while allocating is still free.
        if ci != nil { renderer = SnapshotRenderer(topology, kinds: kinds, workspaces: tileWorkspaces) }

        if sandbox {
            do {
                try confinement(reaper: reaper, signals: signals, control: controlWrite, report: reportRead).enter()
            } catch {
                Log.error("\(error); stopping the topology")
                kill(reaper, SIGKILL)
                reap(reaper)
                return 1
            }
        }
        return wait(reaper: reaper, signals: signals, control: controlWrite, report: reportRead, relay: relay, started: started)
    }

    // MARK: steps

    private func createWorkspaces(_ layout: TopologyLayout) throws {
        for (i, tile) in topology.tiles.enumerated() {
            let memory = layout.tiles[i]
            let spec = layout.workspaces[memory.workspace]
            let mapping = try createWorkspace(spec)
            created.append((spec, mapping))
            Log.debug("workspace \(spec.path): \(spec.pageCount) × \(spec.pageSize.label) for tile \(tile.name)")
            let workspace = TileWorkspace(mapping, memory)
            workspace.format(tileIndex: tile.index)
            tileWorkspaces.append(workspace)
        }
        for i in topology.links.indices {
            let spec = layout.workspaces[layout.links[i].workspace]
            let mapping = try createWorkspace(spec)
            linkWorkspaces.append((spec, mapping))
            Log.debug("workspace \(spec.path): \(spec.pageCount) × \(spec.pageSize.label) for link \(topology.links[i].name)")
            LinkHeader.format(mapping.base, layout.links[i].layout)
        }
        Log.info("created \(created.count + linkWorkspaces.count) workspaces, \(formatBytes(layout.totalFootprint)) in all")
    }

    private func createWorkspace(_ spec: WorkspaceSpec) throws -> WorkspaceMapping {
        // The directory must be root's alone, reached without a link:
        // checked before root creates anything in it (the run's own
        // directory in /dev/shm was, when the run made it).
        let dir = String(spec.path[..<spec.path.lastIndex(of: "/")!])
        do {
            if dir != runDirectory?.path { try TrustedDirectory.open(dir).close() }
            return try Workspace.create(spec, configPath: configPath)
        } catch let e as RuntimeError where e.path != nil {
            throw e.within("workspace \(spec.name)")
        }
    }

    // MARK: confinement

    /// Its own mount (a copy: cleanup still sees the workspaces), network,
    /// IPC, UTS and cgroup namespaces once the reaper runs.
    static let confinedNamespaces = ["mount", "network", "ipc", "uts", "cgroup"]

    static let signalsRole = DescriptorRole("signalfd")
    static let controlRole = DescriptorRole("control pipe")
    static let reportRole = DescriptorRole("report pipe")
    static let logDirectoryRole = DescriptorRole("log directory")

    /// What the supervisor still does once the reaper runs: wait for a
    /// signal or the reaper's report, ask for a halt, kill and reap the
    /// reaper, log, and clean up (unmap and unlink workspaces, release
    /// reserved huge pages, unlink its lock). Nothing else: no exec, no
    /// socket, no new file outside its own directories.
    static func policy(reaper: pid_t) -> SeccompPolicy {
        let pid = ArgumentValue.constant(UInt64(UInt32(bitPattern: reaper)), "the reaper")
        return RuntimePolicy.logging
            + SeccompPolicy([
                SeccompRule("ppoll", reason: "wait for a signal or the reaper's report"),
                SeccompRule("read", [.arg(0, equals: .descriptor(signalsRole))], reason: "SIGINT, SIGTERM, SIGHUP"),
                SeccompRule(
                    "read",
                    [
                        .arg(0, notEquals: .descriptor(signalsRole)), .arg(0, notEquals: .descriptor(controlRole)),
                        .arg(0, notEquals: .descriptor(.stderr)), .arg(0, notEquals: .descriptor(.logFile)),
                    ],
                    reason: "the reaper's report; cleanup reads the huge page ledger and pool"),
                SeccompRule("write", [.arg(0, equals: .descriptor(controlRole))], reason: "ask the reaper for an orderly stop"),
                SeccompRule(
                    "write", [.arg(0, equals: .descriptor(ServiceNotifier.socketRole))],
                    reason: "tell systemd: READY=1, STATUS=, STOPPING=1, WATCHDOG=1 (a datagram on the socket connected at start)"),
                SeccompRule(
                    "write", [.arg(0, equals: .descriptor(ServiceNotifier.readyRole))],
                    reason: "run --ready-fd: READY=1 once every tile runs, then close"),
                SeccompRule(
                    "write", [.arg(0, equals: .descriptor(CIRun.stdoutRole))], reason: "run --for: one line per --expect"),
                SeccompRule(
                    "write", [.arg(0, equals: .descriptor(CIRun.junitRole))],
                    reason: "run --junit: the report, to the file opened at start"),
                SeccompRule(
                    "write",
                    [
                        .arg(0, notEquals: .descriptor(signalsRole)), .arg(0, notEquals: .descriptor(controlRole)),
                        .arg(0, notEquals: .descriptor(reportRole)), .arg(0, notEquals: .descriptor(.stderr)),
                        .arg(0, notEquals: .descriptor(.logFile)),
                    ],
                    reason: "cleanup: the huge page ledger, and the pool's size in /sys (Landlock limits which files)"),
                SeccompRule(
                    "kill", [.arg(0, equals: pid), .arg(1, equals: .constant(UInt64(SIGKILL), "SIGKILL"))],
                    reason: "kill the reaper (and with it every tile) on a second signal"),
                SeccompRule("wait4", [.arg(0, equals: pid)], reason: "reap the reaper"),
                SeccompRule(
                    "openat",
                    [
                        .arg(
                            2,
                            masked: UInt64(
                                UInt32(
                                    bitPattern:
                                        ~(O_RDONLY | O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK
                                        | CSHIM_O_CLOEXEC | CSHIM_O_NOFOLLOW | CSHIM_O_DIRECTORY
                                        | CSHIM_O_PATH))),
                            equals: .constant(0, "no O_TRUNC, O_APPEND, O_TMPFILE …"))
                    ],
                    reason: "cleanup: its directories (Landlock limits which) and the ledger and pool files"),
                SeccompRule(
                    "openat",
                    [
                        .arg(0, equals: .descriptor(logDirectoryRole)),
                        .arg(2, equals: .constant(UInt64(UInt32(bitPattern: Log.reopenFlags)), "O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW …")),
                    ],
                    reason: "SIGUSR1: reopen the log file after logrotate moved it (Landlock: only in its directory)"),
                SeccompRule(
                    "dup3", [.arg(1, equals: .descriptor(.logFile))],
                    reason: "SIGUSR1: the reopened log file takes the old one's descriptor number"),
                SeccompRule("newfstatat", reason: "cleanup: check what it opens and removes, never following a link"),
                SeccompRule("fstat", reason: "cleanup: check what it opens"),
                SeccompRule("fcntl", reason: "cleanup: file status flags of what it opens"),
                SeccompRule("flock", reason: "cleanup: the huge page ledger's lock"),
                SeccompRule("getdents64", reason: "cleanup: list the run's directory in /dev/shm"),
                SeccompRule("unlinkat", reason: "cleanup: workspaces, the run's directory, the lock, the ledger"),
                SeccompRule("unlink", reason: "cleanup: workspaces"),
                SeccompRule("renameat", reason: "cleanup: replace the huge page ledger"),
                SeccompRule(
                    "close", [.arg(0, notEquals: .descriptor(.stderr)), .arg(0, notEquals: .descriptor(.logFile))],
                    reason: "close what cleanup opened, and the pipes"),
                SeccompRule("geteuid", reason: "cleanup: whose files it may remove (only its own)"),
            ]) + RuntimePolicy.common
    }

    private func confinement(reaper: pid_t, signals: Signals, control: FileDescriptor, report: FileDescriptor) throws -> Confinement {
        var d: [DescriptorRole: FileDescriptor] = [
            .stderr: .standardError, Self.signalsRole: signals.fd,
            Self.controlRole: control, Self.reportRole: report,
        ]
        d.merge(notifier.descriptors) { a, _ in a }
        if let ci {
            d[CIRun.stdoutRole] = .standardOutput
            if let junit = ci.junit { d[CIRun.junitRole] = junit }
        }
        if let log = Log.fileDescriptor { d[.logFile] = log }
        if let dir = Log.directoryDescriptor { d[Self.logDirectoryRole] = dir }
        // Where cleanup removes and writes: nowhere else.
        var rules: [Confinement.FilesystemRule] = []
        func rule(_ path: String, _ access: Landlock.FileAccess, _ what: String, shared: Bool = false) throws {
            do {
                rules.append(.init(try TrustedDirectory.open(path, sharedLast: shared).fd, access, what))
            } catch {
                rules.forEach { $0.fd.close() }
                throw error
            }
        }
        // Descriptors opened (and checked) before a run without root left
        // the host's user namespace, duplicated: each rule owns its own.
        func held(_ dir: TrustedDirectory, _ access: Landlock.FileAccess, _ what: String) throws {
            rules.append(.init(try dir.fd.duplicate(), access, what))
        }
        if let runDirectory {
            try held(runDirectory.shm, .removeDir, "the run's directory in /dev/shm")
            try held(runDirectory.directory, [.readDir, .removeFile], "the run's workspaces on normal pages")
        }
        for dir in Set(created.map(\.0.path) + linkWorkspaces.map(\.0.path)).map({ String($0[..<$0.lastIndex(of: "/")!]) })
        where dir != runDirectory?.path {
            try rule(dir, .removeFile, "workspaces on huge pages in \(dir)")
        }
        if let plan, !plan.reserved.isEmpty {
            try rule(topology.shmem.hugetlbfsMount, [.readFile, .writeFile, .makeReg, .removeFile, .truncate], "the huge page ledger")
            for size in plan.reserved.keys {
                try rule(size.sysfsPool!, [.readFile, .writeFile], "the \(size.label) page pool")
                // Pages reserved for (or taken over from a run) of pinned
                // tiles go back to their node's pool.
                for node in HugepagePool.nodes(size) {
                    try rule(HugepagePool.directory(size, node: node), [.readFile, .writeFile], "node \(node)'s \(size.label) page pool")
                }
            }
        }
        if let dir = Log.directoryDescriptor {
            // Reopening the log creates it again if logrotate moved it.
            rules.append(.init(try dir.duplicate(), [.writeFile, .makeReg], "the log file's directory"))
        }
        if let lock {
            try held(lock.directory, .removeFile, "the topology's lock")
            try held(lock.root, .removeDir, "the topology's runtime directory")
        }
        if let identities, let dir = identities.directory { try held(dir, .removeFile, "the tiles' uid locks") }
        return Confinement(
            "supervisor", policy: Self.policy(reaper: reaper), descriptors: d, filesystem: rules,
            namespaces: Self.confinedNamespaces, emptyRoot: false)
    }

    private func spawnReaper(_ plan: Reaper.Plan, control: FileDescriptor, report: FileDescriptor) throws -> pid_t {
        // The next child becomes pid 1 of a new PID namespace (allowed: we
        // are root, or hold every capability in our own user namespace).
        try Sys.check("unshare(CLONE_NEWPID)", cshim_unshare(CSHIM_CLONE_NEWPID))
        let pid = fork()
        if pid == 0 { Reaper.run(plan, control: control, report: report) }
        guard pid > 0 else { throw RuntimeError(call: "fork(reaper)", errno: errno) }
        return pid
    }

    /// Waits for a signal or the reaper's report; returns the exit status.
    private func wait(
        reaper: pid_t, signals: Signals, control: FileDescriptor, report: FileDescriptor,
        relay: LogRelay, started: Int64
    ) -> Int32 {
        var fds = [
            pollfd(fd: signals.fd.rawValue, events: Int16(POLLIN), revents: 0),
            pollfd(fd: report.rawValue, events: Int16(POLLIN), revents: 0),
        ]
        var stopping = false
        var booting = true
        var hostPids = [Int32](repeating: 0, count: topology.tiles.count)
        while true {
            // The tiles' stderr pipes, those within their budget this second.
            let now = Clock.monotonicNanos()
            let tiles = relay.pollable(now: now)
            fds.removeSubrange(2...)
            for (_, fd) in tiles { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            fds[0].revents = 0
            fds[1].revents = 0
            // While booting, look at the tiles' status every 10 ms to say
            // when all are up; a tile over its log budget is read again at
            // the next second; otherwise only events wake the supervisor.
            let throttled = tiles.count < topology.tiles.count
            var timeout: Int64 = booting ? 10_000_000 : throttled ? 1_000_000_000 - now % 1_000_000_000 : -1
            for due in [nextHealthCheck(stopping: stopping), stopping ? nil : nextCICheck].compactMap({ $0 }) {
                timeout = timeout < 0 ? max(0, due - now) : min(timeout, max(0, due - now))
            }
            let n = cshim_ppoll(&fds, nfds_t(fds.count), timeout)
            for (k, (slot, _)) in tiles.enumerated() where fds[2 + k].revents != 0 { relay.read(slot) }
            if n < 0 && errno != EINTR {
                Log.error("\(RuntimeError(call: "ppoll(supervisor)", errno: errno))")
                kill(reaper, SIGKILL)
                reap(reaper)
                return 1
            }
            if booting, allRunning(), !hostPids.contains(0) {
                let pids = hostPids
                booting = false
                let ms = Double(Clock.monotonicNanos() - started) / 1e6
                let list = zip(topology.tiles, pids).map { "\($0.name)=\($1)" }.joined(separator: " ")
                Log.notice("topology \(topology.name) is up: \(topology.tiles.count) tiles running, booted in \(Int(ms)) ms; pids \(list)")
                upStatus = "\(topology.tiles.count) tiles running, booted in \(Int(ms)) ms"
                notifier.ready(status: upStatus)
                if let ci, let renderer {
                    ciStart = renderer.snapshot()
                    nextCICheck = Clock.monotonicNanos() + (ci.until ? Self.untilInterval : ci.durationNanos)
                    Log.notice(
                        "run --for: judging \(ci.expectations.count) expectation\(ci.expectations.count == 1 ? "" : "s") "
                            + "\(ci.until ? "as soon as all hold, at most" : "after") \(MetricExpectation.format(Double(ci.durationNanos) / 1e9)) s"
                    )
                }
            }
            if !stopping, let verdicts = judgeIfDue() {
                ciVerdicts = verdicts
                stopping = true
                let held = verdicts.filter(\.holds).count
                Log.notice("run --for: \(held) of \(verdicts.count) expectations hold; stopping the topology")
                notifier.stopping(status: "run --for: \(held) of \(verdicts.count) expectations hold")
                _ = Glibc.write(control.rawValue, "H", 1)
                requestHalt()
            }
            if !stopping { checkHealth(booting: booting) }
            if fds[0].revents != 0, let sig = signals.next() {
                if sig == SIGUSR1 {
                    reopenLog()
                    continue
                }
                if stopping {
                    Log.warning("\(WaitStatus.signalName(sig)) again: killing every tile now")
                    kill(reaper, SIGKILL)
                    reap(reaper)
                    return 1
                }
                stopping = true
                booting = false
                Log.notice("\(WaitStatus.signalName(sig)): stopping the topology (again to kill at once)")
                notifier.stopping(status: "stopping on \(WaitStatus.signalName(sig))")
                // The reaper first: a tile that sees its halt word and exits
                // must find the reaper already halting, not reporting a death.
                _ = Glibc.write(control.rawValue, "H", 1)
                requestHalt()
            }
            if fds[1].revents != 0 {
                var r = ReaperReport(event: 0, tileIndex: 0, status: 0)
                let got = withUnsafeMutableBytes(of: &r) { Glibc.read(report.rawValue, $0.baseAddress, $0.count) }
                // A tile's pid as the host sees it, from the reaper (which
                // holds its pidfd): not what the tile writes in its metrics.
                if got == ReaperReport.size, r.event == ReaperReport.Event.tileStarted.rawValue,
                    Int(r.tileIndex) < hostPids.count
                {
                    hostPids[Int(r.tileIndex)] = r.status
                    continue
                }
                let status = reap(reaper)
                // The tiles' last lines before what the supervisor says of them.
                relay.drain()
                guard got == ReaperReport.size, let event = ReaperReport.Event(rawValue: r.event),
                    event == .reaperFailed || Int(r.tileIndex) < topology.tiles.count
                else {
                    Log.error("the tiles' reaper (pid \(reaper)) \(status); every tile is stopped")
                    return 1
                }
                let tile = topology.tiles[event == .reaperFailed ? 0 : Int(r.tileIndex)]
                switch event {
                case .tileDied:
                    Log.error("tile \(tile.name) \(WaitStatus(raw: r.status)); the topology is stopped")
                    reportCIStopped(because: "tile \(tile.name) \(WaitStatus(raw: r.status))", type: "TileDied")
                    notifier.stopping(status: "tile \(tile.name) \(WaitStatus(raw: r.status)); the topology is stopped")
                    return 1
                case .tileStarted:
                    continue
                case .deathPipeClosed:
                    Log.error("tile \(tile.name) closed its death pipe but kept running (a sandbox violation); the topology is stopped")
                    return 1
                case .reaperFailed:
                    let what = ReaperFailure(rawValue: r.tileIndex)?.description ?? "step \(r.tileIndex)"
                    Log.error("the tiles' reaper could not \(what): \(Errno.describe(r.status)); the topology is stopped")
                    return 1
                case .halted:
                    if r.status != 0 {
                        Log.warning("tile \(tile.name) \(WaitStatus(raw: r.status)) while halting")
                    }
                    Log.notice("every tile halted; the topology is stopped")
                    return ciExitStatus()
                case .haltTimedOut:
                    Log.warning(
                        "tile \(tile.name) did not halt within \(Self.haltTimeoutNanos / 1_000_000_000) s and was killed with the rest")
                    return ciExitStatus()
                }
            }
        }
    }

    @discardableResult
    private func reap(_ pid: pid_t) -> WaitStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return WaitStatus(raw: status)
    }

    // MARK: state of run --for (Supervisor+CIRun.swift) and of the health
    // systemd hears (Supervisor+Health.swift)

    /// How often `--until` looks.
    static let untilInterval: Int64 = 100_000_000
    var ciStart: MetricSnapshot?
    var nextCICheck: Int64?
    var ciVerdicts: [MetricExpectation.Verdict]?
    /// The heartbeat limit `/healthz` uses; read once.
    lazy var health = HealthCheck(
        tiles: zip(topology.tiles, tileWorkspaces).map { ($0, $1.metricsReader) },
        maxAgeNanos: MetricTile.heartbeatLimitNanos(in: topology))
    var nextStatusCheck: Int64 = 0
    var wasHealthy = true
    /// STATUS= while every tile heartbeats: what READY=1 said.
    var upStatus = ""

    /// SIGUSR1: the log file again at its path (logrotate moved it).
    private func reopenLog() {
        guard let path = Log.path else { return }
        do {
            try Log.reopen()
            logReopenings += 1
            Log.notice("reopened the log file \(path) (SIGUSR1; \(logReopenings) so far)")
        } catch {
            Log.error("cannot reopen the log file \(path): \(error); still writing to the one it had")
        }
    }
    private var logReopenings = 0

    /// Asks every tile for an orderly stop through its header.
    private func requestHalt() {
        for workspace in tileWorkspaces { workspace.halt() }
    }

    /// Whether every tile says it runs (its status word: enough to say when
    /// the topology is up; its pid comes from the reaper).
    private func allRunning() -> Bool {
        guard !tileWorkspaces.isEmpty else { return false }
        return tileWorkspaces.allSatisfy { $0.metricsReader.common(CommonMetrics.status) == TileStatus.running.rawValue }
    }

    /// Every exit path: workspaces, reserved pages, lock.
    private func cleanup() {
        for (spec, mapping) in created + linkWorkspaces {
            mapping.leave()
            Workspace.delete(spec)
        }
        created = []
        tileWorkspaces = []
        linkWorkspaces = []
        runDirectory?.remove()
        runDirectory = nil
        identities?.release()
        identities = nil
        if let plan {
            ShmemPlanner.release(plan, topology: topology)
            self.plan = nil
        }
        lock?.release()
        lock = nil
    }

}

/// Signals the supervisor handles, read from a signalfd in its poll loop.
struct Signals {
    let fd: FileDescriptor

    static func block(_ signals: [Int32]) throws -> Signals {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        try Sys.check("sigprocmask(SIG_BLOCK)", sigprocmask(SIG_BLOCK, &set, nil))
        signal(SIGPIPE, SIG_IGN)
        return Signals(fd: FileDescriptor(rawValue: try Sys.check("signalfd", cshim_signalfd(&set))))
    }

    /// The next pending signal, if any.
    func next() -> Int32? {
        var info = [UInt8](repeating: 0, count: Int(CSHIM_SIGNALFD_INFO_SIZE))
        let n = info.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
        guard n == Int(CSHIM_SIGNALFD_INFO_SIZE) else { return nil }
        return Int32(info.withUnsafeBytes { cshim_signalfd_signo($0.baseAddress!) })
    }

    func close() { fd.close() }
}
