/// Whether a topology is healthy: every tile runs and heartbeated
/// recently. One definition for everything that asks: the metric tile's
/// `/healthz`, `tilectl ready`, and the supervisor's systemd watchdog.
package struct HealthCheck {
    package let tiles: [(spec: TileSpec, reader: MetricsReader)]
    /// A heartbeat older than this is stale (nanoseconds).
    package let maxAgeNanos: Int64

    package init(tiles: [(spec: TileSpec, reader: MetricsReader)], maxAgeNanos: Int64) {
        self.tiles = tiles
        self.maxAgeNanos = maxAgeNanos
    }

    /// The verdict and a one-line body: `ok: 8 tiles ...` or
    /// `stale: synth:1 (last heartbeat 3.2 s ago); booting: verify:0`.
    package func check(nowNanos: Int64 = Clock.wallclockNanos()) -> (healthy: Bool, body: String) {
        var stale: [String] = []
        var booting: [String] = []
        var stopped: [String] = []
        for (spec, reader) in tiles {
            let status = reader.common(CommonMetrics.status)
            if status == TileStatus.booting.rawValue { booting.append(spec.name); continue }
            if status == TileStatus.shutdown.rawValue { stopped.append(spec.name); continue }
            // The heartbeat is the tile's own word, in memory it writes:
            // any value must give an answer, never a trap.
            let beat = Int64(truncatingIfNeeded: reader.common(CommonMetrics.heartbeat))
            let age = nowNanos &- beat
            if age > maxAgeNanos {
                stale.append("\(spec.name) (last heartbeat \(Self.seconds(age)) ago)")
            }
        }
        if stale.isEmpty && booting.isEmpty && stopped.isEmpty {
            return (true, "ok: \(tiles.count) tiles heartbeating within \(maxAgeNanos / 1_000_000) ms\n")
        }
        var parts: [String] = []
        if !stale.isEmpty { parts.append("stale: " + stale.joined(separator: ", ")) }
        if !booting.isEmpty { parts.append("booting: " + booting.joined(separator: ", ")) }
        if !stopped.isEmpty { parts.append("shut down: " + stopped.joined(separator: ", ")) }
        return (false, parts.joined(separator: "; ") + "\n")
    }

    /// `3.2 s`, `850 ms`.
    package static func seconds(_ nanos: Int64) -> String {
        if nanos >= 10_000_000_000 { return "\(nanos / 1_000_000_000) s" }
        if nanos >= 1_000_000_000 { return "\(nanos / 1_000_000_000).\((nanos / 100_000_000) % 10) s" }
        return "\(max(0, nanos) / 1_000_000) ms"
    }
}
