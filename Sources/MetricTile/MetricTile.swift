#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// The metric tile: reads every tile's metrics region straight from shared
/// memory (mapped read-only) and serves them to Prometheus over HTTP.
///
/// Order of this file: limits, metric schema, scratch layout, privileged
/// init, unprivileged init, loop callbacks, descriptors and seccomp policy.
package struct MetricTile: Tile {
    // MARK: limits

    package static let kind = "metric"
    package static let summary = "serves every tile's metrics to Prometheus over HTTP"
    package static let maxCount = 1
    /// One per connection slot, and one spare for an accept racing a close.
    package static let openedInSandbox = MetricsServer.maxConnections + 1

    package static let prometheusListenAddress = OptionKey<String>(
        "prometheus_listen_address", .ipv4Address, default: "127.0.0.1",
        help: "Address the HTTP server binds; 0.0.0.0 serves every interface.")
    package static let prometheusListenPort = OptionKey<Int>(
        "prometheus_listen_port", 1...65535, default: 7999,
        help: "TCP port of the HTTP server; Prometheus scrapes http://<address>:<port>/metrics.")
    package static let requestTimeoutMs = OptionKey<Int>(
        "request_timeout_ms", 100...3_600_000, default: 10_000,
        help: "A connection that takes longer to send a whole request, or to take any of its response, is closed.")
    static let defaultHeartbeatAgeMs = 2_000
    package static let healthzMaxHeartbeatAgeMs = OptionKey<Int>(
        "healthz_max_heartbeat_age_ms", 10...3_600_000, default: defaultHeartbeatAgeMs,
        help: "/healthz answers 503 when a tile's heartbeat is older than this.")

    /// Without it nothing of the topology can be scraped.
    package static let requiredBecause: String? = "(prometheus_listen_port = 7999) so its counters can be scraped"
    /// It sleeps between scrapes: it shares the CPUs the pinned tiles left.
    package static let floating = true

    package static func graphLabel(_ tile: TileSpec) -> String? {
        "reads every tile's metrics\nhttp://\(tile[prometheusListenAddress]):\(tile[prometheusListenPort])/metrics"
    }

    package static let options = [
        prometheusListenAddress.declaration, prometheusListenPort.declaration, requestTimeoutMs.declaration,
        healthzMaxHeartbeatAgeMs.declaration,
    ]

    // MARK: metrics

    static let bootTimestamp = MetricFamily.gauge(
        "boot_timestamp_nanos", "The UNIX timestamp in nanoseconds at which the metric tile booted.")
    static let connActive = MetricFamily.gauge("conn_active", "Open HTTP connections.")
    static let bytesRead = MetricFamily.counter("bytes_read", "Bytes read from HTTP clients.", unit: "bytes")
    static let bytesWritten = MetricFamily.counter("bytes_written", "Bytes written to HTTP clients.", unit: "bytes")
    static let responses = MetricFamily.enumCounter(
        "responses", "HTTP responses sent, by status code.",
        label: "status", ResponseStatus.self)
    static let connEvicted = MetricFamily.counter("conn_evicted", "Connections closed to make room for a new one.")
    static let connSlowReaderClosed = MetricFamily.counter(
        "conn_slow_reader_closed",
        "Connections closed because the response ring needed the bytes of a response they had not taken yet.")
    static let connTimedOut = MetricFamily.counter("conn_timed_out", "Connections closed after being idle too long.")
    /// Measured by the server, which declares it.
    static let renderDuration = MetricsServer.renderDuration

    package static let schema = MetricSchema(
        prefix: kind,
        [
            bootTimestamp, connActive, bytesRead, bytesWritten, responses, connEvicted, connSlowReaderClosed, connTimedOut,
            renderDuration,
        ])

    // MARK: scratch

    package struct Scratch {
        let requestBuffers: Int
        let responseRing: Int
    }

    package static func layoutScratch(_ tile: TileSpec, _ l: inout LayoutBuilder) -> Scratch {
        Scratch(
            requestBuffers: l.append(MetricsServer.maxConnections * MetricsServer.maxRequestBytes, align: 4096),
            responseRing: l.append(MetricsServer.responseRingBytes, align: 4096))
    }

    // MARK: privileged init

    let server: MetricsServer
    let address: String
    let port: Int
    var bootNanos: Int64 = 0
    /// Every tile's header and metrics, mapped read-only; kept for the
    /// tile's life (the plan points into them).
    let regions: [WorkspaceMapping]
    let cells: Cells

    struct Cells {
        let bootTimestamp: GaugeCell
        let connActive: GaugeCell
        let bytesRead: CounterCell
        let bytesWritten: CounterCell
        let responses: LabelledCounterCell<ResponseStatus>
        let connEvicted: CounterCell
        let connSlowReaderClosed: CounterCell
        let connTimedOut: CounterCell
        let renderDuration: HistogramCell
    }

    /// How old a heartbeat may be in a healthy topology, for `tilectl
    /// ready` and the supervisor's watchdog as for `/healthz`: the metric
    /// tiles' `healthz_max_heartbeat_age_ms` (the strictest), or its default.
    package static func heartbeatLimitNanos(in topology: Topology) -> Int64 {
        let ms = topology.tiles.filter { $0.kind == kind }.map { $0[Self.healthzMaxHeartbeatAgeMs] }.min()
        return Int64(ms ?? defaultHeartbeatAgeMs) * 1_000_000
    }

    /// A heartbeat comes once per housekeeping pass (up to 1.5 intervals
    /// apart): /healthz must allow more than that.
    package static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue? {
        let age = Int64(tile[Self.healthzMaxHeartbeatAgeMs]) * 1_000_000
        let interval = topology.layout.housekeepingIntervalNanos
        guard age >= 4 * interval else {
            return TopologyIssue(
                path: ["tiles", kind, healthzMaxHeartbeatAgeMs.key],
                "healthz_max_heartbeat_age_ms = \(age / 1_000_000) is too close to the housekeeping interval "
                    + "(\(interval / 1000) µs, when heartbeats happen); use at least \(max(1, 4 * interval / 1_000_000))")
        }
        return nil
    }

    package static func preflight(_ tile: TileSpec, in topology: Topology) throws {
        // Bind once and let go: a port in use is reported before anything
        // starts, in one line, instead of as a tile that died at boot.
        let fd = try listenSocket(tile)
        Glibc.close(fd)
    }

    package init(privileged ctx: TileContext) throws {
        address = ctx.tile[Self.prometheusListenAddress]
        port = ctx.tile[Self.prometheusListenPort]
        // Bound here, before the sandbox takes the tile into a network
        // namespace of its own: the socket keeps the host's and accepts on.
        let fd = try ctx.keep(try Self.listenSocket(ctx.tile), as: Self.listenSocketRole).rawValue
        // A deep accept queue: under a connection flood, a scraper's SYN is
        // queued instead of dropped (and retried a second later).
        try Sys.check("listen(\(address):\(port))", listen(fd, 4096))

        let (scratchBase, parts) = try ctx.scratch(Self.self)
        server = try MetricsServer(
            listenFD: fd, requestBuffers: scratchBase + parts.requestBuffers,
            ring: scratchBase + parts.responseRing,
            requestTimeoutNanos: Int64(ctx.tile[Self.requestTimeoutMs]) * 1_000_000)

        var regions: [WorkspaceMapping] = []
        var sources: [RenderSource] = []
        for t in ctx.topology.tiles {
            let (mapping, reader) = try ctx.joinMetricsReadOnly(of: t)
            regions.append(mapping)
            sources.append(
                RenderSource(
                    tile: t, reader: reader, kindSchema: ctx.kinds[t.kind]!.schema,
                    inLinks: ctx.topology.inLinks(of: t).map { ($0.name, $0.kindId) }))
        }
        self.regions = regions
        server.serve(
            MetricsServer.Content(
                prometheus: ExpositionPlan(sources: sources, format: .prometheus),
                openMetrics: ExpositionPlan(sources: sources, format: .openMetrics),
                health: HealthCheck(
                    tiles: sources.map { ($0.tile, $0.reader) },
                    maxAgeNanos: Int64(ctx.tile[Self.healthzMaxHeartbeatAgeMs]) * 1_000_000)))

        let w = ctx.metrics
        cells = Cells(
            bootTimestamp: w.gauge(Self.bootTimestamp), connActive: w.gauge(Self.connActive),
            bytesRead: w.counter(Self.bytesRead), bytesWritten: w.counter(Self.bytesWritten),
            responses: w.enumCounter(Self.responses, ResponseStatus.self), connEvicted: w.counter(Self.connEvicted),
            connSlowReaderClosed: w.counter(Self.connSlowReaderClosed), connTimedOut: w.counter(Self.connTimedOut),
            renderDuration: w.histogram(Self.renderDuration))
    }

    /// A bound, non-blocking TCP socket for the tile's address and port.
    static func listenSocket(_ tile: TileSpec) throws -> Int32 {
        try ListenSocket.bind(tile, address: prometheusListenAddress, port: prometheusListenPort)
    }

    // MARK: unprivileged init

    package mutating func unprivilegedInit(_ ctx: TileContext) throws {
        bootNanos = Clock.wallclockNanos()
        Log.notice("serving metrics at http://\(address):\(port)/metrics")
    }

    // MARK: loop callbacks

    package mutating func beforeCredit(_ stem: inout StemContext) -> Bool {
        server.poll(timeoutNanos: 0)
    }

    /// Waits in ppoll rather than sleeping: a request wakes the tile at once.
    package mutating func idle(until deadline: Int64) {
        server.poll(timeoutNanos: max(0, deadline - Clock.monotonicNanos()))
    }

    package mutating func housekeeping(_ stem: inout StemContext) {
        server.expire(now: stem.now)
    }

    package mutating func writeMetrics() {
        let c = server.counters, k = server.table.counts
        cells.bootTimestamp.set(UInt64(max(0, bootNanos)))
        cells.connActive.set(UInt64(server.active))
        cells.bytesRead.set(k.bytesRead)
        cells.bytesWritten.set(k.bytesWritten)
        cells.responses.publish(c.responses)
        cells.connEvicted.set(k.evicted)
        cells.connSlowReaderClosed.set(c.slowReaderClosed)
        cells.connTimedOut.set(k.timedOut)
        cells.renderDuration.publish(c.renderNanos)
    }

    // MARK: descriptors and seccomp

    package static let listenSocketRole = DescriptorRole("listen socket")
    package static let descriptorRoles = [listenSocketRole]

    package var descriptors: [DescriptorRole: FileDescriptor] {
        [Self.listenSocketRole: FileDescriptor(rawValue: server.listenFD)]
    }

    /// The seed's policy: an HTTP server's, on its listen socket (see
    /// `ListenSocket.servingPolicy`).
    package static var seccompPolicy: SeccompPolicy { ListenSocket.servingPolicy(listenSocketRole) }
}
