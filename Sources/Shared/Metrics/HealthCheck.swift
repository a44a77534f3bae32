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
            let beat = reader.common(CommonMetrics.heartbeat)
            switch verdict(status: reader.common(CommonMetrics.status), heartbeat: beat, nowNanos: nowNanos) {
            case .healthy: break
            case .booting: booting.append(spec.name)
            case .shutdown: stopped.append(spec.name)
            case .stale: stale.append("\(spec.name) (last heartbeat \(Self.seconds(nowNanos &- Int64(truncatingIfNeeded: beat))) ago)")
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

    /// One tile's part of the verdict, from its status word and heartbeat
    /// (wall-clock ns); what `check` reports, without building its text
    /// (the gui tile asks a few times a second and allocates nothing).
    package enum TileVerdict: Equatable, Sendable { case healthy, booting, shutdown, stale }

    /// A status no tile writes counts as running: its heartbeat decides.
    package func verdict(status: UInt64, heartbeat: UInt64, nowNanos: Int64) -> TileVerdict {
        if status == TileStatus.booting.rawValue { return .booting }
        if status == TileStatus.shutdown.rawValue { return .shutdown }
        // The heartbeat is the tile's own word, in memory it writes:
        // any value must give an answer, never a trap.
        return nowNanos &- Int64(truncatingIfNeeded: heartbeat) > maxAgeNanos ? .stale : .healthy
    }

    /// `3.2 s`, `850 ms`.
    package static func seconds(_ nanos: Int64) -> String {
        if nanos >= 10_000_000_000 { return "\(nanos / 1_000_000_000) s" }
        if nanos >= 1_000_000_000 { return "\(nanos / 1_000_000_000).\((nanos / 100_000_000) % 10) s" }
        return "\(max(0, nanos) / 1_000_000) ms"
    }
}
