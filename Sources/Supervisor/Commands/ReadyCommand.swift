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

    @Flag(help: "Print the outcome as JSON on stdout, ready or not (schema: docs/schema/ready.schema.json).")
    var json = false

    func run(kinds: TileKinds) throws {
        let topology = try config.load(kinds)
        let started = Clock.monotonicNanos()
        let deadline = started + Int64(timeout * 1e9)
        let limit = MetricTile.heartbeatLimitNanos(in: topology)
        var outcome = ReadyJSON(topology: topology.name, state: .notRunning, limit: limit)
        while true {
            outcome = Self.look(topology, limit: limit, hint: config.config)
            if outcome.ready || outcome.state == .untrusted || Clock.monotonicNanos() >= deadline { break }
            sleepUntil(monotonicNanos: min(deadline, Clock.monotonicNanos() + 50_000_000))
        }
        outcome.waitedSeconds = Double(Clock.monotonicNanos() - started) / 1e9
        if json { try JSONOutput.print(outcome) }
        guard outcome.ready else { throw RuntimeError("\(outcome.reason), after \(String(format1: timeout)) s") }
        if !json { print("ready: " + outcome.reason) }
    }

    /// The topology as it is now.
    static func look(_ topology: Topology, limit: Int64, hint: String) -> ReadyJSON {
        var out = ReadyJSON(topology: topology.name, state: .notRunning, limit: limit)
        let name = "topology \"\(topology.name)\""
        switch RunDescriptor.find(topology.name) {
        case .running(let run):
            // Mapped afresh each time: a run that stopped and started again
            // has new workspaces.
            guard let sampler = try? MonitorSampler(run) else {
                out.state = .starting
                out.reason = "\(name) is starting"
                return out
            }
            let (healthy, body) = sampler.health(maxAgeNanos: limit).check()
            let sample = sampler.sample()
            out.tiles = zip(run.handoff.topology.tiles, sample.tiles).map { spec, t in
                ReadyJSON.Tile(
                    name: spec.name, kind: spec.kind, kindId: spec.kindId, status: TileStatus(rawValue: t.sample.status)?.name ?? "unknown",
                    heartbeatAgeSeconds: Double(t.sample.heartbeatAgeNanos(at: sample.wallclock)) / 1e9)
            }
            out.state = healthy ? .ready : .notReady
            out.reason =
                healthy ? String(body.trimmingWhitespace.dropFirst("ok: ".count)) : "\(name) is not ready: " + body.trimmingWhitespace
        case .starting:
            out.state = .starting
            out.reason = "\(name) is starting"
        case .untrusted(let why):
            out.state = .untrusted
            out.reason = "\(name): refusing to read its run description: \(why)"
        case .notRunning:
            out.reason = "\(name) is not running (start it with `tilectl run --config \(hint)`)"
        }
        return out
    }
}

/// `ready --json` (docs/schema/ready.schema.json).
struct ReadyJSON: Encodable {
    enum State: String, Encodable {
        case ready, notReady = "not_ready", starting, notRunning = "not_running", untrusted
    }

    struct Tile: Encodable {
        let name: String
        let kind: String
        let kindId: Int
        let status: String
        let heartbeatAgeSeconds: Double
    }

    let schema = JSONOutput.schema("ready")
    let topology: String
    var state: State
    var ready: Bool { state == .ready }
    /// `8 tiles heartbeating within 2000 ms`, or what is not up.
    var reason = ""
    let heartbeatLimitSeconds: Double
    var waitedSeconds = 0.0
    var tiles: [Tile] = []

    init(topology: String, state: State, limit: Int64) {
        self.topology = topology
        self.state = state
        heartbeatLimitSeconds = Double(limit) / 1e9
    }

    enum CodingKeys: String, CodingKey {
        case schema, topology, state, ready, reason, heartbeatLimitSeconds, waitedSeconds, tiles
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(topology, forKey: .topology)
        try c.encode(state, forKey: .state)
        try c.encode(ready, forKey: .ready)
        try c.encode(reason, forKey: .reason)
        try c.encode(heartbeatLimitSeconds, forKey: .heartbeatLimitSeconds)
        try c.encode(waitedSeconds, forKey: .waitedSeconds)
        try c.encode(tiles, forKey: .tiles)
    }
}
