#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// The metric tile's HTTP/1.1 server: one listening socket and a fixed table
/// of connections served from a single-threaded ppoll loop. All memory is
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
/// is closed gracefully (RFC 9112 §9.6): once its response is sent, the
/// write side is shut (the client reads the end of the response, then
/// EOF), and what the client still sends is read and discarded, up to
/// `drainBytes` or `drainNanos`, so the kernel does not answer it with a
/// reset that could destroy the response before the client reads it.
final class MetricsServer {
    static let maxConnections = 128
    static let maxRequestBytes = 8192
    static let responseRingBytes = 32 << 20
    /// Room reserved in front of each body for its status line and headers.
    static let headRoom = 256
    /// After a response that ends the connection: how long, and how many
    /// bytes, the client's late request bytes are read and discarded.
    static let drainNanos = ConnectionIO.drainNanos
    static let drainBytes = ConnectionIO.drainBytes

    enum State { case free, reading, writing, draining }

    struct Connection {
        var fd: Int32 = -1
        var state = State.free
        /// Bytes of request data in this slot's buffer.
        var buffered = 0
        var response: UnsafeRawPointer? = nil
        var responseLength = 0
        var sent = 0
        /// The ring bytes this response depends on (its body, and for gzip
        /// the plain text it was compressed from), or nil for a canned one.
        var ringRegion: Range<Int>? = nil
        var closeAfterResponse = false
        /// When the connection became ready for its next request.
        var waitingSince: Int64 = 0
        /// When the response last made progress (draining: when it began).
        var lastProgress: Int64 = 0
        /// Bytes read and discarded since draining began.
        var drained = 0
    }

    /// What the server counts; the tile publishes it.
    struct Counters {
        var bytesRead: UInt64 = 0
        var bytesWritten: UInt64 = 0
        var evicted: UInt64 = 0
        var slowReaderClosed: UInt64 = 0
        var timedOut: UInt64 = 0
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
    private var conns: [Connection]
    private let pollFDs: UnsafeMutablePointer<pollfd>
    /// For each pollfd after the listener, its connection slot.
    private var pollSlots: [Int]
    private let requestBuffers: UnsafeMutableRawPointer
    private let ring: UnsafeMutableRawPointer
    private let ringBytes: Int
    private var ringHead = 0
    /// Responses in the ring not fully sent yet. At zero the ring starts
    /// over: the next body is rendered into the same, cache-warm bytes.
    private var ringInFlight = 0
    private var evictCursor = 0
    private let requestTimeoutNanos: Int64
    private var content: Content?
    private(set) var counters: Counters
    private(set) var active = 0
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
        self.requestBuffers = requestBuffers
        self.ring = ring
        self.ringBytes = ringBytes
        self.requestTimeoutNanos = requestTimeoutNanos
        conns = [Connection](repeating: Connection(), count: Self.maxConnections)
        pollFDs = .allocate(capacity: Self.maxConnections + 1)
        pollSlots = [Int](repeating: -1, count: Self.maxConnections + 1)
        counters = Counters(renderNanos: LocalHistogram(Self.renderDuration))
        precondition(canned.longestHead <= Self.headRoom, "a response head may not fit its head room")
    }

    deinit {
        pollFDs.deallocate()
        canned.keepAliveSuffix.deallocate()
        canned.closeSuffix.deallocate()
    }

    /// Sets what the server answers (once every tile's region is joined).
    func serve(_ content: Content) { self.content = content }

    // MARK: the poll loop

    /// One ppoll over the listener and every live connection, waiting at
    /// most `timeoutNanos` (0: do not wait). Returns whether anything happened.
    @discardableResult
    func poll(timeoutNanos: Int64) -> Bool {
        pollFDs[0] = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
        var n = 1
        for i in 0..<conns.count where conns[i].state != .free {
            let events = conns[i].state == .writing ? POLLOUT : POLLIN  // reading, draining: POLLIN
            pollFDs[n] = pollfd(fd: conns[i].fd, events: Int16(events), revents: 0)
            pollSlots[n] = i
            n += 1
        }
        let ready = cshim_ppoll(pollFDs, nfds_t(n), timeoutNanos)
        guard ready > 0 else { return false }
        let now = Clock.monotonicNanos()
        for k in 1..<n {
            let re = Int32(pollFDs[k].revents)
            guard re != 0 else { continue }
            let slot = pollSlots[k]
            // The slot may have been reused by an eviction in this pass.
            guard conns[slot].fd == pollFDs[k].fd, conns[slot].state != .free else { continue }
            if re & (POLLERR | POLLNVAL) != 0 { close(slot); continue }
            switch conns[slot].state {
            case .writing: write(slot, now)
            case .draining: drain(slot)
            default: read(slot, now)
            }
        }
        if pollFDs[0].revents & Int16(POLLIN) != 0 { acceptAll(now) }
        return true
    }

    /// Closes connections that did not complete a request, or take any of
    /// their response, within the request timeout: idle keep-alive
    /// connections, slow trickles of bytes, readers that stopped reading.
    func expire(now: Int64) {
        for i in 0..<conns.count where conns[i].state != .free {
            if conns[i].state == .draining {
                if now - conns[i].lastProgress > Self.drainNanos { close(i) }
                continue
            }
            let since = conns[i].state == .reading ? conns[i].waitingSince : conns[i].lastProgress
            if now - since > requestTimeoutNanos {
                counters.timedOut &+= 1
                close(i)
            }
        }
    }

    // MARK: connections

    /// Connections accepted per pass: bounded, so that under a flood the
    /// requests of the connections just accepted are read before more
    /// newcomers compete for their slots.
    static let acceptsPerPass = 16

    private func acceptAll(_ now: Int64) {
        for _ in 0..<Self.acceptsPerPass {
            let fd = cshim_accept4(listenFD, CSHIM_SOCK_CLOEXEC | CSHIM_SOCK_NONBLOCK)
            if fd < 0 { return }  // EAGAIN, or a client gone before accept
            let slot = freeSlot() ?? evict()
            conns[slot] = Connection(fd: fd, state: .reading, waitingSince: now, lastProgress: now)
            active += 1
            // A client usually sends its request with the connection: answer
            // it now, before a flood of newer connections can evict this one.
            read(slot, now)
        }
    }

    private func freeSlot() -> Int? { conns.firstIndex { $0.state == .free } }

    /// Frees a slot for a new client: a connection being drained (its
    /// answer is sent) first; then a slow reader (a response it has not
    /// taken), round robin among them; else the connection that has waited
    /// longest without completing a request (an idle keep-alive, a slow
    /// trickle), so the newest clients are the last to go.
    private func evict() -> Int {
        let n = conns.count
        if let draining = conns.firstIndex(where: { $0.state == .draining }) {
            close(draining)
            return draining
        }
        var victim = evictCursor
        if let k = (0..<n).first(where: { conns[(evictCursor + $0) % n].state == .writing }) {
            victim = (evictCursor + k) % n
        } else {
            for i in 0..<n where conns[i].waitingSince < conns[victim].waitingSince { victim = i }
        }
        evictCursor = (victim + 1) % n
        counters.evicted &+= 1
        close(victim)
        return victim
    }

    private func close(_ slot: Int) {
        guard conns[slot].state != .free else { return }
        _ = Glibc.close(conns[slot].fd)
        if conns[slot].ringRegion != nil { releaseRing() }
        conns[slot] = Connection()
        active -= 1
    }

    /// One ring response is done (sent or abandoned).
    private func releaseRing() {
        ringInFlight -= 1
        if ringInFlight == 0 { ringHead = 0 }
    }

    private func buffer(_ slot: Int) -> UnsafeMutableRawPointer {
        requestBuffers + slot * Self.maxRequestBytes
    }

    private func read(_ slot: Int, _ now: Int64) {
        let have = conns[slot].buffered
        let n = Glibc.read(conns[slot].fd, buffer(slot) + have, Self.maxRequestBytes - have)
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            close(slot)
            return
        }
        if n == 0 { close(slot); return }  // the client is done
        counters.bytesRead &+= UInt64(n)
        conns[slot].buffered += n
        handleBuffered(slot, now)
    }

    /// Answers the request at the front of the slot's buffer, if complete.
    private func handleBuffered(_ slot: Int, _ now: Int64) {
        let buf = UnsafeRawBufferPointer(start: buffer(slot), count: conns[slot].buffered)
        // Even an error answer to HEAD has no body: the client would read it
        // as the next response.
        let bodyless = HTTPRequestParser.startsWithHead(buf)
        switch HTTPRequestParser.parse(buf) {
        case .incomplete:
            if conns[slot].buffered == Self.maxRequestBytes { answer(slot, canned.tooLarge, bodyless: bodyless, close: true, now) }
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
            // Drop the head; pipelined bytes after it stay for the next turn.
            let rest = conns[slot].buffered - head.length
            if rest > 0 { buffer(slot).copyMemory(from: buffer(slot) + head.length, byteCount: rest) }
            conns[slot].buffered = rest
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
        precondition(conns[slot].ringRegion == nil, "a response is still queued on this connection")
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
        conns[slot].state = .writing
        conns[slot].response = UnsafeRawPointer(ring + headAt)
        conns[slot].responseLength = bodyless ? headCount : bodyAt + n - headAt
        conns[slot].sent = 0
        conns[slot].ringRegion = headAt..<(bodyAt + n)
        conns[slot].closeAfterResponse = close
        conns[slot].lastProgress = now
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
        for i in 0..<conns.count where conns[i].state == .writing {
            if let r = conns[i].ringRegion, r.overlaps(window) {
                counters.slowReaderClosed &+= 1
                close(i)
            }
        }
        return start
    }

    private func write(_ slot: Int, _ now: Int64) {
        var c = conns[slot]
        let before = c.sent
        let sent = ConnectionIO.send(c.fd, c.response!, count: c.responseLength, sent: &c.sent, written: &counters.bytesWritten)
        if c.sent > before { c.lastProgress = now }
        switch sent {
        case .again: conns[slot] = c; return
        case .failed: return close(slot)
        case .done: break
        }
        if c.ringRegion != nil { releaseRing() }
        c.response = nil
        c.ringRegion = nil
        if c.closeAfterResponse {
            conns[slot] = c
            return closeGracefully(slot, now)
        }
        c.state = .reading
        c.waitingSince = now
        conns[slot] = c
        // A pipelined request may already be waiting.
        if c.buffered > 0 { handleBuffered(slot, now) }
    }

    /// Ends a connection whose response is sent: shuts the write side (the
    /// client reads EOF after the response) and drains what it still sends.
    private func closeGracefully(_ slot: Int, _ now: Int64) {
        guard ConnectionIO.shutWrite(conns[slot].fd) else { return close(slot) }
        conns[slot].state = .draining
        conns[slot].buffered = 0
        conns[slot].drained = 0
        conns[slot].lastProgress = now
        drain(slot)
    }

    /// Reads and discards; closes at EOF, on error, or past `drainBytes`.
    private func drain(_ slot: Int) {
        let done = ConnectionIO.discard(
            conns[slot].fd, buffer(slot), capacity: Self.maxRequestBytes, drained: &conns[slot].drained, limit: Self.drainBytes,
            read: &counters.bytesRead)
        if done { close(slot) }
    }
}
