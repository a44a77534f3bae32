#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// `tilectl run`: boots a topology and supervises it until it stops.
///
///  0. privileges: root, or a user namespace of our own (or one line saying why not)
///  1. lock the topology name; remove a killed run's leftover workspaces
///  2. preflight every tile (a port in use fails here, before anything exists)
///  3. decide the page size, mounting and reserving huge pages if allowed
///  4. create and format one workspace per tile
///  5. seal the resolved topology into a memfd
///  6. fork the reaper into a new PID namespace; it execs every tile
///  7. wait: a signal starts an orderly stop; the first tile to die stops all
///  8. on every exit path: workspaces removed, reserved pages released, lock dropped
final class Supervisor {
    let topology: Topology
    let configPath: String
    let sandbox: Bool
    /// How long tiles have to halt after SIGINT/SIGTERM before they are killed.
    static let haltTimeoutNanos: Int64 = 5_000_000_000

    private var lock: TopologyLock?
    private var plan: ShmemPlan?
    /// Tile workspaces, parallel to `topology.tiles`.
    private var created: [(WorkspaceSpec, WorkspaceMapping)] = []
    private var linkWorkspaces: [(WorkspaceSpec, WorkspaceMapping)] = []

    init(topology: Topology, configPath: String, sandbox: Bool) {
        self.topology = topology
        self.configPath = configPath
        self.sandbox = sandbox
    }

    /// Runs the topology; returns the process exit status.
    func run() throws -> Int32 {
        defer { cleanup() }
        let started = Clock.monotonicNanos()

        let privileges = try Privileges.prepare(topology)
        lock = try TopologyLock.acquire(topology.name)
        let dirs = PageSize.allCases.map { $0.directory(hugetlbfsBase: topology.shmem.hugetlbfsMount) }
        for path in Workspace.removeLeftovers(topologyName: topology.name, directories: dirs) {
            Log.notice("removed \(path), left over from a run that was killed")
        }

        for tile in topology.tiles {
            do {
                try tileKinds[tile.kind]!.preflight(tile, topology)
            } catch {
                throw RuntimeFailure("tile \(tile.name): \(error)")
            }
        }

        let plan: ShmemPlan
        do {
            plan = try ShmemPlanner.plan(topology, kinds: tileKinds, configPath: configPath,
                                         mode: .run(privileged: privileges == .root))
        } catch let e as ShmemPlanError {
            throw RuntimeFailure(e.description)
        }
        self.plan = plan
        for n in plan.notices { Log.notice(n) }

        try createWorkspaces(plan.layout)
        let handoff = TopologyHandoff(topology: topology, layout: plan.layout)
        let topologyFD = try handoff.seal()
        try lock?.describe(handoff)
        defer { topologyFD.close() }

        let signals = try Signals.block([SIGINT, SIGTERM, SIGHUP])
        defer { signals.close() }

        let (controlRead, controlWrite) = try FileDescriptor.pipe()
        let (reportRead, reportWrite) = try FileDescriptor.pipe()
        let reaper = try spawnReaper(Reaper.Plan(
            executable: try Self.executablePath(), topologyFD: topologyFD, tiles: topology.tiles,
            sandbox: sandbox, haltTimeoutNanos: Self.haltTimeoutNanos), control: controlRead, report: reportWrite)
        controlRead.close()
        reportWrite.close()
        defer { controlWrite.close(); reportRead.close() }
        Log.info("started \(topology.tiles.count) tiles (reaper pid \(reaper))")

        return wait(reaper: reaper, signals: signals, control: controlWrite, report: reportRead, started: started)
    }

    // MARK: steps

    private func createWorkspaces(_ layout: TopologyLayout) throws {
        for (i, tile) in topology.tiles.enumerated() {
            let memory = layout.tiles[i]
            let spec = layout.workspaces[memory.workspace]
            let mapping = try createWorkspace(spec)
            created.append((spec, mapping))
            Log.debug("workspace \(spec.path): \(spec.pageCount) × \(spec.pageSize.label) for tile \(tile.name)")
            let header = mapping.slots(at: 0)
            header[TileHeader.tileIndexSlot] = UInt64(tile.index)
            header[memory.metricsOffset / 8 + memory.metrics.inLinkCountSlot] = UInt64(memory.metrics.inLinkCount)
            // The magic goes last: a tile trusts a workspace only once it is whole.
            cshim_store_release_u64(header + TileHeader.magicSlot, TileHeader.magic)
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
        do {
            return try Workspace.create(spec)
        } catch let e as WorkspaceError {
            throw RuntimeFailure(e.description(config: configPath))
        }
    }

    private func spawnReaper(_ plan: Reaper.Plan, control: FileDescriptor, report: FileDescriptor) throws -> pid_t {
        // The next child becomes pid 1 of a new PID namespace (allowed: we
        // are root, or hold every capability in our own user namespace).
        try Sys.check("unshare(CLONE_NEWPID)", cshim_unshare(CSHIM_CLONE_NEWPID))
        let pid = fork()
        if pid == 0 { Reaper.run(plan, control: control, report: report) }
        guard pid > 0 else { throw SystemCallError("fork(reaper)", errno: errno) }
        return pid
    }

    /// Waits for a signal or the reaper's report; returns the exit status.
    private func wait(reaper: pid_t, signals: Signals, control: FileDescriptor, report: FileDescriptor,
                      started: Int64) -> Int32 {
        var fds = [pollfd(fd: signals.fd.rawValue, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: report.rawValue, events: Int16(POLLIN), revents: 0)]
        var stopping = false
        var booting = true
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            // While booting, look at the tiles' status every 10 ms to say
            // when all are up; afterwards only events wake the supervisor.
            let n = cshim_ppoll(&fds, 2, booting ? 10_000_000 : -1)
            if n < 0 && errno != EINTR {
                Log.error("\(SystemCallError("ppoll(supervisor)", errno: errno))")
                kill(reaper, SIGKILL)
                reap(reaper)
                return 1
            }
            if booting, let pids = runningPids() {
                booting = false
                let ms = Double(Clock.monotonicNanos() - started) / 1e6
                let list = zip(topology.tiles, pids).map { "\($0.name)=\($1)" }.joined(separator: " ")
                Log.notice("topology \(topology.name) is up: \(topology.tiles.count) tiles running, booted in \(Int(ms)) ms; pids \(list)")
            }
            if fds[0].revents != 0, let sig = signals.next() {
                if stopping {
                    Log.warning("\(WaitStatus.signalName(sig)) again: killing every tile now")
                    kill(reaper, SIGKILL)
                    reap(reaper)
                    return 1
                }
                stopping = true
                booting = false
                Log.notice("\(WaitStatus.signalName(sig)): stopping the topology (again to kill at once)")
                requestHalt()
                _ = Glibc.write(control.rawValue, "H", 1)
            }
            if fds[1].revents != 0 {
                var r = ReaperReport(event: 0, tileIndex: 0, status: 0)
                let got = withUnsafeMutableBytes(of: &r) { Glibc.read(report.rawValue, $0.baseAddress, $0.count) }
                let status = reap(reaper)
                guard got == ReaperReport.size, let event = ReaperReport.Event(rawValue: r.event),
                      Int(r.tileIndex) < topology.tiles.count else {
                    Log.error("the tiles' reaper (pid \(reaper)) \(status); every tile is stopped")
                    return 1
                }
                let tile = topology.tiles[Int(r.tileIndex)]
                switch event {
                case .tileDied:
                    Log.error("tile \(tile.name) \(WaitStatus(raw: r.status)); the topology is stopped")
                    return 1
                case .halted:
                    Log.notice("every tile halted; the topology is stopped")
                    return 0
                case .haltTimedOut:
                    Log.warning("tile \(tile.name) did not halt within \(Self.haltTimeoutNanos / 1_000_000_000) s and was killed with the rest")
                    return 0
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

    /// Asks every tile for an orderly stop through its header.
    private func requestHalt() {
        for (_, mapping) in created {
            cshim_store_release_u64(mapping.slots(at: 0) + TileHeader.haltSlot, 1)
        }
    }

    /// Every tile's host pid once all run, else nil.
    private func runningPids() -> [UInt64]? {
        guard let layout = plan?.layout else { return nil }
        var pids: [UInt64] = []
        for (i, (_, mapping)) in created.enumerated() {
            let memory = layout.tiles[i]
            let reader = MetricsReader(base: UnsafePointer(mapping.slots(at: memory.metricsOffset)), layout: memory.metrics)
            if reader.common(CommonMetrics.status) != TileStatus.running.rawValue { return nil }
            pids.append(reader.common(CommonMetrics.pid))
        }
        return pids
    }

    /// Every exit path: workspaces, reserved pages, lock.
    private func cleanup() {
        for (spec, mapping) in created + linkWorkspaces {
            mapping.leave()
            Workspace.delete(spec)
        }
        created = []
        linkWorkspaces = []
        if let plan {
            ShmemPlanner.release(plan, topology: topology)
            self.plan = nil
        }
        lock?.release()
        lock = nil
    }

    static func executablePath() throws -> String {
        var buf = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try buf.withUnsafeMutableBytes { b in
            try Sys.check("readlink(/proc/self/exe)", readlink("/proc/self/exe", b.baseAddress!, b.count - 1))
        }
        return String(decoding: buf[0..<n], as: UTF8.self)
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
