#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MetricTile
import Shared

/// `tilectl ready --config F`: waits until the running topology is up, as
/// a CI script or a deployment step asks "is it up yet?" without scraping.
struct ReadyCommand: KindsCommand {
    static let configuration = CommandConfiguration(
        commandName: "ready",
        abstract: "Wait until every tile of the running topology runs and heartbeats, then exit 0.",
        discussion: """
            Reads the tiles' status and heartbeat straight from shared memory, as `monitor` does, \
            every 50 ms: ready when every tile runs and heartbeated within the metric tile's \
            healthz_max_heartbeat_age_ms (what /healthz answers 200 for). Waits for a topology that \
            is not started yet. Needs read access to the workspaces: the user who ran it, or root.

            Exit status: 0 ready (one line: `ready: 8 tiles heartbeating within 2000 ms`); 1 at the \
            timeout, with one line naming the tiles still booting or stale, or saying the topology \
            is not running; 2 for a bad topology file.
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: ArgumentHelp("Seconds to wait before giving up.", valueName: "seconds"))
    var timeout: Double = 60

    func validate() throws {
        guard timeout >= 0 && timeout <= 86_400 else { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
    }

    func run(kinds: TileKinds) throws {
        let topology = try config.load(kinds)
        let deadline = Clock.monotonicNanos() + Int64(timeout * 1e9)
        let limit = MetricTile.heartbeatLimitNanos(in: topology)
        var why = "topology \"\(topology.name)\" is not running"
        while true {
            switch RunDescriptor.find(topology.name) {
            case .running(let run):
                // Mapped afresh each time: a run that stopped and started
                // again has new workspaces.
                if let sampler = try? MonitorSampler(run) {
                    let (healthy, body) = sampler.health(maxAgeNanos: limit).check()
                    if healthy {
                        print("ready: " + body.trimmingWhitespace.dropFirst("ok: ".count))
                        return
                    }
                    why = "topology \"\(topology.name)\" is not ready: " + body.trimmingWhitespace
                } else {
                    why = "topology \"\(topology.name)\" is starting"
                }
            case .starting:
                why = "topology \"\(topology.name)\" is starting"
            case .untrusted(let reason):
                throw RuntimeError("topology \"\(topology.name)\": refusing to read its run description: \(reason)")
            case .notRunning:
                why = "topology \"\(topology.name)\" is not running (start it with `tilectl run --config \(config.config)`)"
            }
            guard Clock.monotonicNanos() < deadline else {
                throw RuntimeError("\(why), after \(String(format1: timeout)) s")
            }
            sleepUntil(monotonicNanos: min(deadline, Clock.monotonicNanos() + 50_000_000))
        }
    }
}
