#if canImport(Glibc)
import Glibc
#endif
import CShim
import MetricTile
import Shared

/// The gui tile: a page that shows the topology live. It reads every
/// tile's metrics region straight from shared memory (mapped read-only,
/// as the metric tile does) and serves, over HTTP, a single page embedded
/// in the binary, a JSON snapshot of every tile and link, and the same
/// snapshot pushed a few times a second as Server-Sent Events.
///
/// Why SSE and not WebSocket: after its request a client has no channel
/// to the tile at all, so the page is read-only by construction and there
/// is no frame parser to attack; EventSource reconnects by itself. A
/// WebSocket upgrade is answered 400 and the connection closed.
///
/// Who may read it: requests sent to an IP address, `localhost`, or a name
/// of `gui_allowed_hosts` (the `Host` header); any other name is refused
/// 403 on every path, since a web page can point its own name at this
/// address and then read the gui as its own origin (DNS rebinding). The
/// API answers only the page's own origin (`Origin`, `Sec-Fetch-Site`).
///
/// Order of this file: limits, metric schema, scratch layout, privileged
/// init, unprivileged init, loop callbacks, descriptors and seccomp policy.
package struct GuiTile: Tile {
    // MARK: limits

    package static let kind = "gui"
    package static let summary = "serves a live page of every tile and link (HTTP, Server-Sent Events)"
    package static let maxCount = 1
    /// One per connection slot, and one spare for an accept racing a close.
    package static let openedInSandbox = GuiServer.maxConnections + 1

    package static let guiListenAddress = OptionKey<String>(
        "gui_listen_address", .ipv4Address, default: "127.0.0.1",
        help: "Address the gui's HTTP server binds; 0.0.0.0 serves every interface.")
    package static let guiListenPort = OptionKey<Int>(
        "gui_listen_port", 1...65535, default: 7998,
        help: "TCP port of the gui's HTTP server; the page is at http://<address>:<port>/.")
    package static let guiAllowedHosts = OptionKey<[String]>(
        hostNames: "gui_allowed_hosts",
        help: "Host names, besides IP addresses and localhost, the page may be reached by (a reverse proxy's, an /etc/hosts "
            + "entry); a request naming any other Host is refused (403), so a web page whose name is pointed at this "
            + "address (DNS rebinding) cannot read the gui.")
    package static let updateIntervalMs = OptionKey<Int>(
        "update_interval_ms", 50...5000, default: 250,
        help: "Milliseconds between two snapshots pushed to every open page.")

    /// It sleeps between updates: it shares the CPUs the pinned tiles left.
    package static let floating = true

    package static func graphLabel(_ tile: TileSpec) -> String? {
        "reads every tile's metrics\nhttp://\(tile[guiListenAddress]):\(tile[guiListenPort])/"
    }

    package static let options = [
        guiListenAddress.declaration, guiListenPort.declaration, guiAllowedHosts.declaration, updateIntervalMs.declaration,
    ]

    /// Its port must not be the metric tile's: both bind at boot, and the
    /// second would fail after the first had started.
    package static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue? {
        let address = tile[guiListenAddress], port = tile[guiListenPort]
        for m in topology.tiles(ofKind: MetricTile.kind) where m[MetricTile.prometheusListenPort] == port {
            let other = m[MetricTile.prometheusListenAddress]
            guard other == address || other == "0.0.0.0" || address == "0.0.0.0" else { continue }
            return TopologyIssue(
                path: ["tiles", kind, guiListenPort.key],
                "gui_listen_port = \(port) is the metric tile's prometheus_listen_port; choose another (\(guiListenPort.declaration.defaultValue) by default)"
            )
        }
        return nil
    }

    package static func preflight(_ tile: TileSpec, in topology: Topology) throws {
        // Bind once and let go: a port in use is one line before anything starts.
        Glibc.close(try listenSocket(tile))
    }

    // MARK: metrics

    static let connActive = MetricFamily.gauge("conn_active", "Open HTTP connections, streams included.")
    static let streamsActive = MetricFamily.gauge("streams_active", "Open snapshot streams (Server-Sent Events).")
    static let bytesRead = MetricFamily.counter("bytes_read", "Bytes read from HTTP clients.", unit: "bytes")
    static let bytesWritten = MetricFamily.counter("bytes_written", "Bytes written to HTTP clients.", unit: "bytes")
    static let responses = MetricFamily.enumCounter(
        "responses", "HTTP responses sent, by status code (a stream counts once, when it starts).",
        label: "status", GuiStatus.self)
    static let snapshots = MetricFamily.counter("snapshots", "Snapshots rendered, one per update interval.")
    static let connEvicted = MetricFamily.counter("conn_evicted", "Connections closed to make room for a new one.")
    static let streamsEvicted = MetricFamily.counter(
        "streams_evicted", "Streams closed, the oldest first, to make room for a new one beyond the limit.")
    static let streamsClosedSlow = MetricFamily.counter(
        "streams_closed_slow", "Streams closed because they had not taken a whole snapshot when the next was ready.")
    static let connSlowReaderClosed = MetricFamily.counter(
        "conn_slow_reader_closed", "Snapshot readers closed because they had not taken it when its frame was rendered over.")
    static let connTimedOut = MetricFamily.counter("conn_timed_out", "Connections closed after being idle too long.")
    static let renderDuration = GuiServer.renderDuration

    package static let schema = MetricSchema(
        prefix: kind,
        [
            connActive, streamsActive, bytesRead, bytesWritten, responses, snapshots, connEvicted, streamsEvicted,
            streamsClosedSlow, connSlowReaderClosed, connTimedOut, renderDuration,
        ])

    // MARK: scratch

    package struct Scratch {
        let requestBuffers: Int
        let heads: Int
    }

    package static func layoutScratch(_ tile: TileSpec, _ l: inout LayoutBuilder) -> Scratch {
        Scratch(
            requestBuffers: l.append(GuiServer.maxConnections * GuiServer.maxRequestBytes, align: 4096),
            heads: l.append(GuiServer.maxConnections * GuiServer.headBytes, align: 4096))
    }

    // MARK: privileged init

    let server: GuiServer
    let address: String
    let port: Int
    let intervalNanos: Int64
    var nextUpdate: Int64 = 0
    /// Every tile's header and metrics, mapped read-only; kept for the
    /// tile's life (the snapshot reads through them).
    let regions: [WorkspaceMapping]
    let cells: Cells

    struct Cells {
        let connActive: GaugeCell
        let streamsActive: GaugeCell
        let bytesRead: CounterCell
        let bytesWritten: CounterCell
        let responses: LabelledCounterCell<GuiStatus>
        let snapshots: CounterCell
        let connEvicted: CounterCell
        let streamsEvicted: CounterCell
        let streamsClosedSlow: CounterCell
        let connSlowReaderClosed: CounterCell
        let connTimedOut: CounterCell
        let renderDuration: HistogramCell
    }

    package init(privileged ctx: TileContext) throws {
        address = ctx.tile[Self.guiListenAddress]
        port = ctx.tile[Self.guiListenPort]
        intervalNanos = Int64(ctx.tile[Self.updateIntervalMs]) * 1_000_000
        // Bound here, before the sandbox takes the tile into a network
        // namespace of its own: the socket keeps the host's and accepts on.
        let fd = try ctx.keep(try Self.listenSocket(ctx.tile), as: Self.listenSocketRole).rawValue
        try Sys.check("listen(\(address):\(port))", listen(fd, 1024))

        var regions: [WorkspaceMapping] = []
        var readers: [MetricsReader] = []
        for t in ctx.topology.tiles {
            let (mapping, reader) = try ctx.joinMetricsReadOnly(of: t)
            regions.append(mapping)
            readers.append(reader)
        }
        self.regions = regions
        let (scratchBase, parts) = try ctx.scratch(Self.self)
        server = GuiServer(
            listenFD: fd, requestBuffers: scratchBase + parts.requestBuffers, heads: scratchBase + parts.heads,
            assets: try GuiAssets(),
            snapshot: SnapshotJSON(
                topology: ctx.topology, readers: readers, intervalMs: ctx.tile[Self.updateIntervalMs],
                // Stale as /healthz and `tilectl ready` say it.
                maxAgeNanos: MetricTile.heartbeatLimitNanos(in: ctx.topology)),
            allowedHosts: ctx.tile[Self.guiAllowedHosts])

        let w = ctx.metrics
        cells = Cells(
            connActive: w.gauge(Self.connActive), streamsActive: w.gauge(Self.streamsActive),
            bytesRead: w.counter(Self.bytesRead), bytesWritten: w.counter(Self.bytesWritten),
            responses: w.enumCounter(Self.responses, GuiStatus.self), snapshots: w.counter(Self.snapshots),
            connEvicted: w.counter(Self.connEvicted), streamsEvicted: w.counter(Self.streamsEvicted),
            streamsClosedSlow: w.counter(Self.streamsClosedSlow), connSlowReaderClosed: w.counter(Self.connSlowReaderClosed),
            connTimedOut: w.counter(Self.connTimedOut), renderDuration: w.histogram(Self.renderDuration))
    }

    static func listenSocket(_ tile: TileSpec) throws -> Int32 {
        try ListenSocket.bind(tile, address: guiListenAddress, port: guiListenPort)
    }

    // MARK: unprivileged init

    package mutating func unprivilegedInit(_ ctx: TileContext) throws {
        nextUpdate = Clock.monotonicNanos() + intervalNanos
        Log.notice("serving the gui at http://\(address):\(port)/")
    }

    // MARK: loop callbacks

    package mutating func beforeCredit(_ stem: inout StemContext) -> Bool {
        var did = server.poll(timeoutNanos: 0)
        if stem.now >= nextUpdate {
            update(stem.now)
            did = true
        }
        return did
    }

    /// Waits in ppoll until the next update at the latest: a request
    /// wakes the tile at once.
    package mutating func idle(until deadline: Int64) {
        server.poll(timeoutNanos: max(0, min(deadline, nextUpdate) - Clock.monotonicNanos()))
        let now = Clock.monotonicNanos()
        if now >= nextUpdate { update(now) }
    }

    /// A snapshot for every stream; the next one an interval after this
    /// one was due (or after now, when the tile fell a whole one behind).
    mutating func update(_ now: Int64) {
        server.update(now: now)
        nextUpdate += intervalNanos
        if nextUpdate <= now { nextUpdate = now + intervalNanos }
    }

    package mutating func housekeeping(_ stem: inout StemContext) {
        server.expire(now: stem.now)
    }

    package mutating func writeMetrics() {
        let c = server.counters, k = server.table.counts
        cells.connActive.set(UInt64(server.active))
        cells.streamsActive.set(UInt64(server.streams))
        cells.bytesRead.set(k.bytesRead)
        cells.bytesWritten.set(k.bytesWritten)
        cells.responses.publish(c.responses)
        cells.snapshots.set(c.snapshots)
        cells.connEvicted.set(k.evicted)
        cells.streamsEvicted.set(c.streamsEvicted)
        cells.streamsClosedSlow.set(c.streamsClosedSlow)
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

    /// Exactly the metric tile's: an HTTP server's, on its listen socket
    /// (`ListenSocket.servingPolicy`, one reason per entry). Reading the
    /// other tiles' metrics needs no call: they are mapped before the sandbox.
    package static var seccompPolicy: SeccompPolicy { ListenSocket.servingPolicy(listenSocketRole) }
}
