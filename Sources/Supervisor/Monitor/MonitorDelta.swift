import Foundation
import Shared

/// What two samples of a topology say, as numbers: the monitor's table and
/// its `--json` both show exactly this. Everything in a sample is what a
/// tile wrote: wrapping arithmetic only, never a trap on a hostile value.
struct MonitorDelta {
    struct Tile {
        let spec: TileSpec
        let pid: UInt64
        /// Whether /proc agrees the pid is this run's tile.
        let pidVerified: Bool
        let status: TileStatus?
        let cpu: UInt64
        let heartbeatAgeNanos: Int64
        /// Share of the interval in each activity (0...1), and in
        /// housekeeping, which overlaps them.
        let shares: [Activity: Double]
        let housekeepingShare: Double
        let inBackpressure: Bool
        let backpressureEvents: UInt64
        let backpressureEventsPerSecond: Double
        let inputs: [Input]
    }

    /// One input link of a tile; `--json` writes it as is (the link by
    /// name and `kind_id`).
    struct Input: Encodable {
        let link: LinkInstance
        let fragsPerSecond: Double
        let bytesPerSecond: Double
        let filteredPerSecond: Double
        let lostPerSecond: Double
        let lost: UInt64
        let slow: UInt64

        enum CodingKeys: String, CodingKey {
            case link, kindId, fragsPerSecond, bytesPerSecond, filteredPerSecond, lostPerSecond, lost, slow
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(link.name, forKey: .link)
            try c.encode(link.kindId, forKey: .kindId)
            try c.encode(fragsPerSecond, forKey: .fragsPerSecond)
            try c.encode(bytesPerSecond, forKey: .bytesPerSecond)
            try c.encode(filteredPerSecond, forKey: .filteredPerSecond)
            try c.encode(lostPerSecond, forKey: .lostPerSecond)
            try c.encode(lost, forKey: .lost)
            try c.encode(slow, forKey: .slow)
        }
    }

    /// Seconds between the samples.
    let seconds: Double
    let tiles: [Tile]

    init(_ topology: Topology, _ a: MonitorSample, _ b: MonitorSample) {
        let dt = sampleSeconds(from: a.monotonic, to: b.monotonic)
        seconds = dt
        tiles = topology.tiles.enumerated().map { i, tile in
            let x = a.tiles[i], y = b.tiles[i]
            let activity = TileActivity(from: x.sample, to: y.sample, seconds: dt)
            let inputs = topology.inLinks(of: tile).enumerated().map { j, link in
                let rates = LinkRates(from: x.links[j], to: y.links[j], seconds: dt)
                return Input(
                    link: link, fragsPerSecond: rates.fragsPerSecond, bytesPerSecond: rates.bytesPerSecond,
                    filteredPerSecond: rates.filteredPerSecond, lostPerSecond: rates.lostPerSecond,
                    lost: y.links[j].lost, slow: y.links[j].slow)
            }
            return Tile(
                spec: tile, pid: y.sample.pid, pidVerified: y.pidVerified, status: TileStatus(rawValue: y.sample.status),
                cpu: y.sample.cpu, heartbeatAgeNanos: y.sample.heartbeatAgeNanos(at: b.wallclock),
                shares: Dictionary(uniqueKeysWithValues: Activity.allCases.map { ($0, activity[$0]) }),
                housekeepingShare: activity.housekeeping, inBackpressure: y.sample.inBackpressure,
                backpressureEvents: y.sample.backpressureEvents,
                backpressureEventsPerSecond: activity.backpressureEventsPerSecond, inputs: inputs)
        }
    }
}

extension TileStatus {
    /// As `--json` writes it: `booting`, `running`, `shutdown`.
    var name: String { String(describing: self) }
}

/// `monitor --once --json` (docs/schema/monitor.schema.json): one snapshot,
/// rates over the interval between two samples.
struct MonitorJSON: Encodable {
    let schema = JSONOutput.schema("monitor")
    let topology: String
    let supervisorPid: Int32
    let intervalSeconds: Double
    /// Wall-clock time of the second sample, in seconds since the epoch.
    let sampledAt: Double
    let tiles: [Tile]

    struct Tile: Encodable {
        let name: String
        let kind: String
        let kindId: Int
        /// What the tile wrote as its pid, and whether /proc agrees.
        let pid: UInt64
        let pidVerified: Bool
        /// `booting`, `running`, `shutdown`, or `unknown` (a value no tile writes).
        let status: String
        let cpu: UInt64
        let cpus: [Int]
        let heartbeatAgeSeconds: Double
        /// Share of the interval per activity (`caught_up`, `processing`,
        /// `backpressured`), 0 to 1, and in housekeeping (which overlaps them).
        let regimeShares: [String: Double]
        let housekeepingShare: Double
        let inBackpressure: Bool
        let backpressureEvents: UInt64
        let backpressureEventsPerSecond: Double
        let inputs: [MonitorDelta.Input]
    }

    init(_ topology: Topology, supervisorPid: Int32, _ a: MonitorSample, _ b: MonitorSample) {
        let d = MonitorDelta(topology, a, b)
        self.topology = topology.name
        self.supervisorPid = supervisorPid
        intervalSeconds = d.seconds
        sampledAt = Double(b.wallclock) / 1e9
        tiles = d.tiles.map { t in
            Tile(
                name: t.spec.name, kind: t.spec.kind, kindId: t.spec.kindId, pid: t.pid, pidVerified: t.pidVerified,
                status: t.status?.name ?? "unknown", cpu: t.cpu, cpus: t.spec.cpus, heartbeatAgeSeconds: Double(t.heartbeatAgeNanos) / 1e9,
                regimeShares: Dictionary(
                    uniqueKeysWithValues: t.shares.map { ($0.key.words.replacingOccurrences(of: " ", with: "_"), $0.value) }),
                housekeepingShare: t.housekeepingShare, inBackpressure: t.inBackpressure, backpressureEvents: t.backpressureEvents,
                backpressureEventsPerSecond: t.backpressureEventsPerSecond,
                inputs: t.inputs)
        }
    }
}
