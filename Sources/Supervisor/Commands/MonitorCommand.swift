#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CShim
import Shared

/// `tilectl monitor --config F`: a live view of a running topology, read
/// straight from its workspaces (read-only; no HTTP, no effect on the tiles).
struct MonitorCommand: KindsCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Watch a running topology live, straight from its shared memory (q quits).",
        discussion: """
            Per tile: pid, status, heartbeat age, the share of time in each regime, backpressure; per \
            input link: fragment rate, bytes, and fragments lost to overruns. When stdout is not a \
            terminal, or with --once, prints one snapshot (rates over one interval) and exits 0. Exit \
            status 1 when the topology is not running. Needs read access to the workspaces: the user \
            who ran it, or root.
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: ArgumentHelp("Seconds between refreshes (and the window rates are measured over).", valueName: "seconds"))
    var interval: Double = 1.0

    @Flag(help: "Print one snapshot as a plain table and exit.")
    var once = false

    @Flag(help: "Print one snapshot as JSON and exit (schema: docs/schema/monitor.schema.json).")
    var json = false

    func validate() throws {
        guard interval >= 0.05 && interval <= 3600 else {
            throw ValidationError("--interval must be between 0.05 and 3600 seconds")
        }
    }

    func run(kinds: TileKinds) throws {
        let topology = try config.load(kinds)
        let run: RunDescriptor
        switch RunDescriptor.find(topology.name) {
        case .running(let r): run = r
        case .starting:
            throw RuntimeError("topology \"\(topology.name)\" is starting; try again in a moment")
        case .untrusted(let why):
            throw RuntimeError("topology \"\(topology.name)\": refusing to read its run description: \(why)")
        case .notRunning:
            throw RuntimeError(
                "topology \"\(topology.name)\" is not running (no supervisor holds \(TopologyLock.path(for: topology.name))); start it with `tilectl run --config \(config.config)`"
            )
        }
        let sampler = try RuntimeError.within("cannot read topology \"\(topology.name)\"'s workspaces") {
            try MonitorSampler(run)
        }
        let live = Terminal.isInteractive && !once && !json
        let view = MonitorView(topology: run.handoff.topology, supervisorPid: run.supervisorPid, colour: Terminal.isInteractive)
        let nanos = Int64(interval * 1e9)

        guard live else {
            let a = sampler.sample()
            sleepUntil(monotonicNanos: a.monotonic + nanos)
            let b = sampler.sample()
            if json {
                try JSONOutput.print(MonitorJSON(run.handoff.topology, supervisorPid: run.supervisorPid, a, b))
            } else {
                print(view.render(a, b, interval: interval, footer: nil), terminator: "")
            }
            return
        }

        let signals = try Signals.block([SIGINT, SIGTERM, SIGHUP])
        let terminal = Terminal()
        terminal.enter()
        defer { terminal.leave(); signals.close() }
        var previous = sampler.sample()
        var fds = [
            pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signals.fd.rawValue, events: Int16(POLLIN), revents: 0),
        ]
        var deadline = previous.monotonic + nanos
        terminal.show("topology \"\(topology.name)\": first sample in \(String(format1: interval)) s\u{2026} (q quits)\n")
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            _ = cshim_ppoll(&fds, 2, max(0, deadline - Clock.monotonicNanos()))
            if fds[1].revents != 0 { return }
            if fds[0].revents != 0 {
                var key: UInt8 = 0
                if Glibc.read(0, &key, 1) != 1 || key == UInt8(ascii: "q") || key == UInt8(ascii: "Q") { return }
            }
            guard Clock.monotonicNanos() >= deadline else { continue }
            guard case .running = RunDescriptor.find(topology.name) else {
                terminal.leave()
                throw RuntimeError("topology \"\(topology.name)\" stopped")
            }
            let now = sampler.sample()
            terminal.show(view.render(previous, now, interval: interval, footer: "refreshed every \(String(format1: interval)) s; q quits"))
            previous = now
            deadline = now.monotonic + nanos
        }
    }
}
