#if canImport(Glibc)
import Glibc
#endif
import Shared

/// One reading of every tile's metrics region, straight from shared memory
/// (the readings the gui tile's snapshots are computed from too).
struct MonitorSample {
    struct Tile {
        var sample: TileSample
        /// Whether /proc agrees the pid the tile wrote is one of this run's
        /// tiles (a child of the run's reaper).
        var pidVerified: Bool
        /// One per input link, in the order of its inputs.
        var links: [LinkSample]
    }

    /// Monotonic and wall-clock nanoseconds when it was taken.
    let monotonic: Int64
    let wallclock: Int64
    let tiles: [Tile]
}

/// Maps each tile's header and metrics region read-only (the metric tile's
/// view), and reads them on demand. Never writes, never speaks HTTP.
final class MonitorSampler {
    let topology: Topology
    private var mappings: [WorkspaceMapping] = []
    private var readers: [MetricsReader] = []

    /// Host pids of the run's tiles, from /proc: the children of the
    /// supervisor's children (the reaper). A tile's metrics are its own
    /// word; a pid shown to an operator, who may act on it, is checked.
    private let tilePids: Set<Int32>
    private let users: [TileUser]?

    init(_ run: RunDescriptor) throws {
        func children(_ pid: Int32) -> [Int32] {
            let text = (try? Files.read("/proc/\(pid)/task/\(pid)/children")) ?? ""
            return text.split(separator: " ").compactMap { Int32($0) }
        }
        tilePids = Set(children(run.supervisorPid).flatMap(children))
        users = run.handoff.users
        topology = run.handoff.topology
        let layout = run.handoff.layout
        for tile in topology.tiles {
            let w = try TileWorkspace.joinMetrics(layout, tile: tile.index)
            mappings.append(w.mapping)
            readers.append(w.metricsReader)
        }
    }

    deinit { mappings.forEach { $0.leave() } }

    /// Whether `claimed` is this tile's pid: a child of the run's reaper,
    /// named after the tile (its comm, set before its sandbox and beyond
    /// its reach after), running as the tile's uid when the run has them.
    func verify(_ claimed: UInt64, is tile: TileSpec) -> Bool {
        guard claimed <= UInt64(Int32.max), tilePids.contains(Int32(claimed)) else { return false }
        let comm = (try? Files.read("/proc/\(claimed)/comm"))?.trimmingWhitespace
        guard comm == tile.name else { return false }
        guard let users, tile.index < users.count else { return true }
        let status = (try? Files.read("/proc/\(claimed)/status")) ?? ""
        return status.split(separator: "\n").contains {
            $0.hasPrefix("Uid:")
                && $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first == Substring(String(users[tile.index].uid))
        }
    }

    /// The same verdict `/healthz` gives, over these mappings.
    func health(maxAgeNanos: Int64) -> HealthCheck {
        HealthCheck(tiles: Array(zip(topology.tiles, readers)), maxAgeNanos: maxAgeNanos)
    }

    func sample() -> MonitorSample {
        let tiles = zip(topology.tiles, readers).map { tile, r -> MonitorSample.Tile in
            let sample = TileSample(r)
            return MonitorSample.Tile(
                sample: sample, pidVerified: verify(sample.pid, is: tile),
                links: (0..<tile.inLinks.count).map { LinkSample(r, in: $0) })
        }
        return MonitorSample(monotonic: Clock.monotonicNanos(), wallclock: Clock.wallclockNanos(), tiles: tiles)
    }
}
