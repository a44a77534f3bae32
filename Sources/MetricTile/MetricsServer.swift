#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// The metric tile's HTTP/1.1 server: one listening socket and a fixed table
/// of connections served from a single-threaded ppoll loop (the state
/// machine is `ConnectionServer`'s, shared with the gui tile). All memory is
/// preallocated in the tile's scratch: a request buffer per slot and one
/// response ring every rendered body is written into.
///
/// Limits are the seed's: `maxConnections` slots (when full, a new client
/// evicts a connection that is closing first, then a slow reader, else the
/// longest idle), request heads up to `maxRequestBytes` (431 beyond),
/// responses up to the ring's size (a larger body is a 500 and a warning in
/// the log). Connections are persistent unless the client says
/// `Connection: close`; pipelined requests are answered in order; a
/// connection that does not complete a request, or take its response,
/// within the request timeout is closed.
///
/// The response ring: every response (head and body) is written into it,
/// after the last one, wrapping to the start when the next would not fit
/// before the end. Before a single byte is written, the window the response
/// may use (its largest possible size, known from the plan) is cleared:
/// a connection whose unsent response lies in that window is closed, and
/// counted (`conn_slow_reader_closed`). So no byte of a response is ever
/// overwritten while it is queued: a slow reader gets its whole response
/// as it was rendered, or its connection closes before the rest.
///
/// A connection the server ends (a `Connection: close` request, an error)
/// is closed gracefully (RFC 9112 §9.6, see `ConnectionServer`).
final class MetricsServer: ConnectionServer {
    static let maxConnections = 128
    static let maxRequestBytes = 8192
    static let responseRingBytes = 32 << 20
    /// Room reserved in front of each body for its status line and headers.
    static let headRoom = 256
    /// After a response that ends the connection: how long, and how many
    /// bytes, the client's late request bytes are read and discarded.
    static let drainNanos = ConnectionIO.drainNanos
    static let drainBytes = ConnectionIO.drainBytes

    /// A connection's response: head and body, contiguous in the ring.
    struct Response: ConnectionResponse {
        var bytes: UnsafeRawPointer? = nil
        var length = 0
        var sent = 0
        /// The ring bytes this response depends on (its body, and for gzip
        /// the plain text it was compressed from), or nil for a canned one.
        var ringRegion: Range<Int>? = nil

        var unsent: Bool { sent < length }
    }

    /// What the server counts besides `table.counts`; the tile publishes it.
    struct Counters {
        var slowReaderClosed: UInt64 = 0
        var responses = VariantCounts<ResponseStatus>()
        var renderNanos: LocalHistogram
    }

    /// What `/metrics` and `/healthz` answer with.
    struct Content {
        let prometheus: ExpositionPlan
        let openMetrics: ExpositionPlan
        let prometheusGzip: ExpositionGzip
        let openMetricsGzip: ExpositionGzip
        let health: HealthCheck

        init(prometheus: ExpositionPlan, openMetrics: ExpositionPlan, health: HealthCheck) {
            self.prometheus = prometheus
            self.openMetrics = openMetrics
            prometheusGzip = ExpositionGzip(plan: prometheus)
            openMetricsGzip = ExpositionGzip(plan: openMetrics)
            self.health = health
        }
    }

    let listenFD: Int32
    let table: ConnectionTable<Response>
    private let ring: UnsafeMutableRawPointer
    private let ringBytes: Int
    private var ringHead = 0
    /// Responses in the ring not fully sent yet. At zero the ring starts
    /// over: the next body is rendered into the same, cache-warm bytes.
    private var ringInFlight = 0
    private var content: Content?
    private(set) var counters: Counters
    private let canned = CannedResponses()
    private var date = HTTPDate()

    /// What a scrape's rendering took: the server measures it, the metric
    /// tile exports it as `metric_render_duration_seconds`.
    static let renderDuration = MetricFamily.histogram(
        "render_duration_seconds", "Time to render one scrape of every tile's metrics.",
        buckets: [
            10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
            25_000_000, 50_000_000,
        ],
        unit: "seconds", converter: .nanosToSeconds)

    /// `requestBuffers` holds `maxConnections * maxRequestBytes` bytes,
    /// `ring` holds `ringBytes`; both stay owned by the caller.
    init(
        listenFD: Int32, requestBuffers: UnsafeMutableRawPointer, ring: UnsafeMutableRawPointer,
        ringBytes: Int = MetricsServer.responseRingBytes, requestTimeoutNanos: Int64 = 10_000_000_000
    ) throws {
        self.listenFD = listenFD
        self.ring = ring
        self.ringBytes = ringBytes
        table = ConnectionTable(
            count: Self.maxConnections, requestBuffers: requestBuffers, maxRequestBytes: Self.maxRequestBytes,
            requestTimeoutNanos: requestTimeoutNanos)
        counters = Counters(renderNanos: LocalHistogram(Self.renderDuration))
        precondition(canned.longestHead <= Self.headRoom, "a response head may not fit its head room")
    }

    deinit {
        canned.keepAliveSuffix.deallocate()
        canned.closeSuffix.deallocate()
    }

    /// Sets what the server answers (once every tile's region is joined).
    func serve(_ content: Content) { self.content = content }

    // MARK: the server's part of a connection (ConnectionServer)

    /// The slot's connection is closing: its response, if one is in the
    /// ring, is abandoned.
    func releasing(_ slot: Int) {
        if table.slots[slot].response.ringRegion != nil { releaseRing() }
    }

    /// One ring response is done (sent or abandoned).
    private func releaseRing() {
        ringInFlight -= 1
        if ringInFlight == 0 { ringHead = 0 }
    }

    /// Answers the request at the front of the slot's buffer, if complete.
    func handleBuffered(_ slot: Int, _ now: Int64) {
        let buf = table.buffered(slot)
        // Even an error answer to HEAD has no body: the client would read it
        // as the next response.
        let bodyless = HTTPRequestParser.startsWithHead(buf)
        switch HTTPRequestParser.parse(buf) {
        case .incomplete:
            if buf.count == Self.maxRequestBytes { answer(slot, canned.tooLarge, bodyless: bodyless, close: true, now) }
        case .invalid:
            answer(slot, canned.badRequest, bodyless: bodyless, close: true, now)
        case .tooManyHeaders:
            answer(slot, canned.tooLarge, bodyless: bodyless, close: true, now)
        case .complete(let head):
            // Decide from the path before the buffer is compacted over it.
            let path = UnsafeRawBufferPointer(rebasing: buf[head.path])
            let route: Route =
                path.elementsEqual("/metrics".utf8)
                ? .metrics
                : path.elementsEqual("/healthz".utf8) ? .health : .notFound
            table.consume(slot, head.length)
            answer(slot, head, route, now)
        }
    }

    enum Route { case metrics, health, notFound }

    private func answer(_ slot: Int, _ head: HTTPRequestHead, _ route: Route, _ now: Int64) {
        let close = !head.keepAlive
        let bodyless = head.method == .head
        guard head.method != .other else { return answer(slot, canned.badRequest, bodyless: false, close: true, now) }
        switch route {
        case .notFound:
            answer(slot, canned.notFound, bodyless: bodyless, close: close, now)
        case .metrics:
            guard let content else { return answer(slot, canned.unavailable, bodyless: bodyless, close: true, now) }
            let format: ExpositionPlan.Format = head.wantsOpenMetrics ? .openMetrics : .prometheus
            let plan = format == .openMetrics ? content.openMetrics : content.prometheus
            let response = canned.metricsHead(format, gzip: head.acceptsGzip)
            let t0 = Clock.monotonicNanos()
            let queued: Bool
            if head.acceptsGzip {
                // The gzip body first, the plain text after it as scratch.
                let encoder = format == .openMetrics ? content.openMetricsGzip : content.prometheusGzip
                queued = queue(
                    slot, response, maxBody: encoder.maxSize, scratch: plan.maxRenderedSize,
                    bodyless: bodyless, close: close, now
                ) { gz, plain in encoder.render(plain: plain, gz: gz)?.gz }
            } else {
                queued = queue(slot, response, maxBody: plan.maxRenderedSize, bodyless: bodyless, close: close, now) {
                    body, _ in plan.render(into: body)
                }
            }
            counters.renderNanos.sample(UInt64(max(0, Clock.monotonicNanos() - t0)))
            if !queued {
                Log.warning("the metrics body does not fit the \(formatBytes(ringBytes)) response buffer; answered 500")
                answer(slot, canned.tooBig, bodyless: bodyless, close: true, now)
            }
        case .health:
            guard let content else { return answer(slot, canned.unavailable, bodyless: bodyless, close: true, now) }
            var (healthy, text) = content.health.check(nowNanos: Clock.wallclockNanos())
            let queued = text.withUTF8 { bytes in
                queue(
                    slot, healthy ? canned.healthOKHead : canned.healthFailHead, maxBody: bytes.count,
                    bodyless: bodyless, close: close, now
                ) { out, _ in
                    out.copyMemory(from: UnsafeRawBufferPointer(bytes))
                    return bytes.count
                }
            }
            if !queued { answer(slot, canned.tooBig, bodyless: bodyless, close: true, now) }
        }
    }

    /// One of the answers whose body never changes.
    private func answer(_ slot: Int, _ a: CannedResponses.Answer, bodyless: Bool, close: Bool, _ now: Int64) {
        let queued = a.body.withUnsafeBytes { bytes in
            queue(slot, a.head, maxBody: bytes.count, bodyless: bodyless, close: close, now) { out, _ in
                out.copyMemory(from: bytes)
                return bytes.count
            }
        }
        // Only a ring smaller than an error page gets here: close, say nothing.
        if !queued { self.close(slot) }
    }

    /// Writes a response into the ring and starts sending it. `body` writes
    /// at most `maxBody` bytes into its first buffer (and may use its
    /// second, `scratch` bytes, as it likes) and returns how many, or nil.
    /// Returns false, with nothing queued, when the ring is too small or
    /// `body` fails.
    private func queue(
        _ slot: Int, _ head: CannedResponses.Head, maxBody: Int, scratch: Int = 0,
        bodyless: Bool, close: Bool, _ now: Int64,
        _ body: (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int?
    ) -> Bool {
        precondition(table.slots[slot].response.ringRegion == nil, "a response is still queued on this connection")
        let scratchAt = Self.headRoom + alignUp(maxBody, 64)
        guard let start = reserve(scratchAt + scratch) else { return false }
        let bodyAt = start + Self.headRoom
        guard
            let n = body(
                UnsafeMutableRawBufferPointer(start: ring + bodyAt, count: maxBody),
                UnsafeMutableRawBufferPointer(start: ring + start + scratchAt, count: scratch))
        else { return false }

        // The head, right in front of the body.
        canned.setDate(&date, wallclockNanos: Clock.wallclockNanos())
        let suffix = close ? canned.closeSuffix : canned.keepAliveSuffix
        var digits = 1
        var x = n
        while x >= 10 { x /= 10; digits += 1 }
        let headCount = head.prefix.count + digits + suffix.count
        let headAt = bodyAt - headCount
        var w = headAt
        head.prefix.withUnsafeBytes { (ring + w).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        w += head.prefix.count
        w += ExpositionPlan.writeInteger(UInt64(n), ring + w)
        (ring + w).copyMemory(from: suffix.baseAddress!, byteCount: suffix.count)

        ringHead = alignUp(bodyAt + n, 64)
        ringInFlight += 1
        counters.responses[head.status] &+= 1
        table.slots[slot].state = .writing
        table.slots[slot].response = Response(
            bytes: UnsafeRawPointer(ring + headAt), length: bodyless ? headCount : bodyAt + n - headAt,
            ringRegion: headAt..<(bodyAt + n))
        table.slots[slot].closeAfterResponse = close
        table.slots[slot].lastProgress = now
        write(slot, now)
        return true
    }

    /// The ring offset where `need` bytes go: after the last response, or
    /// at the start when they would not fit before the end. Every
    /// connection whose unsent response lies in those bytes is closed
    /// first: its reader is too slow, and none of its bytes may change
    /// while it could still be sent. Nil when the ring is smaller than `need`.
    private func reserve(_ need: Int) -> Int? {
        guard need <= ringBytes else { return nil }
        let start = ringHead + need <= ringBytes ? ringHead : 0
        let window = start..<(start + need)
        for i in 0..<table.slots.count where table.slots[i].state == .writing {
            if let r = table.slots[i].response.ringRegion, r.overlaps(window) {
                counters.slowReaderClosed &+= 1
                close(i)
            }
        }
        return start
    }

    func write(_ slot: Int, _ now: Int64) {
        var c = table.slots[slot]
        let before = c.response.sent
        let sent = ConnectionIO.send(
            c.fd, c.response.bytes!, count: c.response.length, sent: &c.response.sent, written: &table.counts.bytesWritten)
        if c.response.sent > before { c.lastProgress = now }
        switch sent {
        case .again: table.slots[slot] = c; return
        case .failed: return close(slot)
        case .done: break
        }
        if c.response.ringRegion != nil { releaseRing() }
        c.response = Response()
        table.slots[slot] = c
        responseSent(slot, now)
    }
}
