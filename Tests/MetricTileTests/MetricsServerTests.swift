#if canImport(Glibc)
import Glibc
#endif
import Loopback
import Testing

@testable import MetricTile
@testable import Shared

/// The server driven in the test's own thread: clients are real loopback
/// sockets, and `pump` runs the server's poll loop between their steps.
final class ServerHarness {
    let listenFD: Int32
    let port: Int
    let requestBuffers: UnsafeMutableRawPointer
    let ring: UnsafeMutableRawPointer
    let server: MetricsServer
    let regions: [UnsafeMutablePointer<UInt64>]

    static let family = MetricFamily.counter("things", "Things.")
    static let schema = MetricSchema(prefix: "demo", [family])

    /// A server whose `/metrics` lists `tiles` fake tiles.
    init(tiles: Int = 2, ringBytes: Int = 1 << 20, requestTimeoutNanos: Int64 = 10_000_000_000) throws {
        let (fd, port) = try Loopback.listener()
        listenFD = fd
        self.port = port
        requestBuffers = .allocate(byteCount: MetricsServer.maxConnections * MetricsServer.maxRequestBytes, alignment: 64)
        ring = .allocate(byteCount: ringBytes, alignment: 64)
        server = try MetricsServer(
            listenFD: fd, requestBuffers: requestBuffers, ring: ring, ringBytes: ringBytes,
            requestTimeoutNanos: requestTimeoutNanos)
        let layout = MetricsLayout(inLinkCount: 0, kindSchema: Self.schema)
        regions = (0..<tiles).map { _ in
            let p = UnsafeMutablePointer<UInt64>.allocate(capacity: layout.slotCount)
            p.initialize(repeating: 7, count: layout.slotCount)
            return p
        }
        self.layout = layout
        let sources = regions.enumerated().map { i, p in
            RenderSource(
                tile: TileSpec(index: i, kind: "demo", kindId: i, options: [:]),
                reader: MetricsReader(base: UnsafePointer(p), layout: layout), kindSchema: Self.schema)
        }
        let plan = ExpositionPlan(sources: sources)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        bodyBytes = plan.render(into: scratch) ?? 0
        scratch.deallocate()
        content = MetricsServer.Content(
            prometheus: plan, openMetrics: ExpositionPlan(sources: sources, format: .openMetrics),
            health: HealthCheck(tiles: sources.map { ($0.tile, $0.reader) }, maxAgeNanos: 1_000_000_000))
        server.serve(content)
        for i in 0..<tiles { setHealth(i, status: 1, heartbeatAgeNanos: 0) }
    }

    let layout: MetricsLayout
    let content: MetricsServer.Content

    /// The most ring bytes one response may need (a gzip one: its body
    /// bound, then the plain text as scratch).
    var largestWindow: Int {
        [(content.prometheus, content.prometheusGzip), (content.openMetrics, content.openMetricsGzip)].map { plan, gz in
            MetricsServer.headRoom + (gz.maxSize + 63) / 64 * 64 + plan.maxRenderedSize
        }.max()!
    }

    /// Sets a fake tile's status and how old its heartbeat is.
    func setHealth(_ tile: Int, status: UInt64, heartbeatAgeNanos: Int64) {
        let w = MetricsWriter(base: regions[tile], layout: layout, kindSchema: Self.schema)
        w.gauge(CommonMetrics.status).set(status)
        w.gauge(CommonMetrics.heartbeat).set(UInt64(Clock.wallclockNanos() - heartbeatAgeNanos))
    }

    /// Size of one `/metrics` body.
    let bodyBytes: Int

    deinit {
        close(listenFD)
        requestBuffers.deallocate()
        ring.deallocate()
        regions.forEach { $0.deallocate() }
    }

    func pump(_ rounds: Int = 5) {
        for _ in 0..<rounds { server.poll(timeoutNanos: 2_000_000) }
    }

    /// A connected client socket with receive timeouts.
    func connect(receiveBuffer: Int32? = nil) throws -> Int32 {
        try Loopback.connect(port: port, receiveBuffer: receiveBuffer)
    }

    func send(_ fd: Int32, _ s: String) { Loopback.send(fd, s) }

    /// Everything readable now (pumping the server in between), until EOF or a quiet timeout.
    func receive(_ fd: Int32, rounds: Int = 50) -> (bytes: String, closed: Bool) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        for _ in 0..<rounds {
            pump(1)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 { return (String(decoding: out, as: UTF8.self), true) }
            if n < 0 {
                if errno == ECONNRESET { return (String(decoding: out, as: UTF8.self), true) }
                continue
            }
            out += buf[0..<n]
        }
        return (String(decoding: out, as: UTF8.self), false)
    }
}

@Suite(.serialized) struct MetricsServerTests {
    static let get = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"

    @Test func servesMetricsWithKeepAliveAndPipelining() throws {
        let h = try ServerHarness()
        let c = try h.connect()
        defer { close(c) }
        h.send(c, Self.get + "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n" + "HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let (text, closed) = h.receive(c)
        #expect(closed, "Connection: close on the last request")
        let statuses = text.replacing("\r\n", with: "\n").split(separator: "\n").filter { $0.hasPrefix("HTTP/1.1 ") }
        #expect(statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"], "in order")
        #expect(text.contains("demo_things_total{kind=\"demo\",kind_id=\"1\"} 7\n"))
        #expect(h.server.counters.responses[ResponseStatus.s200.rawValue] == 2)
        #expect(h.server.counters.responses[ResponseStatus.s404.rawValue] == 1)
    }

    @Test func otherMethodsGet400AndClose() throws {
        let h = try ServerHarness()
        let c = try h.connect()
        defer { close(c) }
        h.send(c, "POST /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        let (text, closed) = h.receive(c)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(closed)
    }

    @Test func aHeadLargerThan8192BytesGets431AndClose() throws {
        let h = try ServerHarness()
        let c = try h.connect()
        defer { close(c) }
        h.send(c, "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Filler: " + String(repeating: "a", count: 9000))
        let (text, closed) = h.receive(c)
        #expect(text.hasPrefix("HTTP/1.1 431 "))
        #expect(closed)
        #expect(h.server.table.counts.bytesRead == 9042, "the rest drained, not left to reset the connection")
    }

    @Test func aBodyLargerThanTheResponseBufferGets500AndAWarning() throws {
        let logPath = "/tmp/tilectl-server-test-\(getpid()).log"
        try Log.configure(who: "metric:0", stderrLevel: .error, fileLevel: .warning, path: logPath)
        defer {
            Log.closeFile()
            try? Log.configure(who: "tilectl", stderrLevel: .notice, fileLevel: .info, path: nil)
            unlink(logPath)
        }
        let h = try ServerHarness(tiles: 100, ringBytes: 4096)
        let c = try h.connect()
        defer { close(c) }
        h.send(c, Self.get)
        let (text, closed) = h.receive(c)
        #expect(text.hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
        #expect(text.contains("larger than the response buffer"))
        #expect(closed)
        let log = String(decoding: try FileDescriptor.open(logPath, O_RDONLY).readToEnd(limit: 1 << 16, what: logPath), as: UTF8.self)
        #expect(log.contains(" WARNING metric:0: the metrics body does not fit the 4 KiB response buffer; answered 500\n"))
    }

    @Test func whenFullASlowReaderIsEvictedFirstThenRoundRobin() throws {
        // Megabytes of metrics: more than loopback socket buffers hold, so
        // a client that does not read keeps its response queued.
        let h = try ServerHarness(tiles: 5_000, ringBytes: 32 << 20)
        #expect(h.bodyBytes > 8_000_000 && h.bodyBytes < 30_000_000)
        let slow = try h.connect(receiveBuffer: 4096)
        defer { close(slow) }
        h.send(slow, Self.get)
        h.pump(20)
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<(MetricsServer.maxConnections - 1) {
            idle.append(try h.connect())
            h.pump(1)
        }
        #expect(h.server.active == MetricsServer.maxConnections)

        let newcomer = try h.connect()
        defer { close(newcomer) }
        h.pump(5)
        #expect(h.server.active == MetricsServer.maxConnections)
        #expect(h.server.table.counts.evicted == 1)
        // The slow reader lost its connection; every idle client still has its own.
        var drained = 0
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            // Blocking, with the socket's 200 ms timeout: what the kernel
            // still had queued arrives, then the end of the stream.
            let n = buf.withUnsafeMutableBytes { recv(slow, $0.baseAddress, $0.count, 0) }
            if n <= 0 { #expect(n == 0 || errno == ECONNRESET, "slow reader closed (errno \(errno))"); break }
            drained += n
        }
        #expect(drained < h.bodyBytes, "the slow reader did not get the whole body")
        for fd in idle {
            let n = recv(fd, &buf, 1, Int32(MSG_DONTWAIT))
            #expect(n < 0 && errno == EAGAIN, "an idle client was closed")
        }

        // Full again with no slow reader: the next newcomer evicts round robin.
        let another = try h.connect()
        defer { close(another) }
        h.pump(5)
        #expect(h.server.table.counts.evicted == 2)
        #expect(h.server.active == MetricsServer.maxConnections)
    }
}
