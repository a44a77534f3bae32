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
/// evicts a slow reader first, else a slot chosen round robin), request
/// heads up to `maxRequestBytes` (431 beyond), responses up to the ring's
/// size (a larger body is a 500 and a warning in the log). Connections are
/// persistent unless the client says `Connection: close`; pipelined
/// requests are answered in order; a connection that does not complete a
/// request, or take its response, within the request timeout is closed.
final class MetricsServer {
    static let maxConnections = 128
    static let maxRequestBytes = 8192
    static let responseRingBytes = 32 << 20
    /// Room reserved in front of each body for its status line and headers.
    static let headRoom = 256

    enum State { case free, reading, writing }

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
        /// When the response last made progress.
        var lastProgress: Int64 = 0
    }

    /// What the server counts; the tile publishes it.
    struct Counters {
        var bytesRead: UInt64 = 0
        var bytesWritten: UInt64 = 0
        var evicted: UInt64 = 0
        var timedOut: UInt64 = 0
        /// Parallel to `ResponseStatus.allCases`.
        var responses = [UInt64](repeating: 0, count: ResponseStatus.allCases.count)
        var renderNanos: LocalHistogram
    }

    /// What `/metrics` and `/healthz` answer with.
    struct Content {
        let prometheus: ExpositionPlan
        let openMetrics: ExpositionPlan
        let health: HealthCheck
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
    private let gzip: Gzip
    private(set) var counters: Counters
    private(set) var active = 0
    private let canned = CannedResponses()

    /// `requestBuffers` holds `maxConnections * maxRequestBytes` bytes,
    /// `ring` holds `ringBytes`; both stay owned by the caller.
    init(listenFD: Int32, requestBuffers: UnsafeMutableRawPointer, ring: UnsafeMutableRawPointer,
         ringBytes: Int = MetricsServer.responseRingBytes, requestTimeoutNanos: Int64 = 10_000_000_000) throws {
        self.listenFD = listenFD
        self.requestBuffers = requestBuffers
        self.ring = ring
        self.ringBytes = ringBytes
        self.requestTimeoutNanos = requestTimeoutNanos
        conns = [Connection](repeating: Connection(), count: Self.maxConnections)
        pollFDs = .allocate(capacity: Self.maxConnections + 1)
        pollSlots = [Int](repeating: -1, count: Self.maxConnections + 1)
        counters = Counters(renderNanos: LocalHistogram(MetricTile.renderDuration))
        gzip = try Gzip()
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
            let events = conns[i].state == .writing ? POLLOUT : POLLIN
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
            if conns[slot].state == .writing { write(slot, now) } else { read(slot, now) }
        }
        if pollFDs[0].revents & Int16(POLLIN) != 0 { acceptAll(now) }
        return true
    }

    /// Closes connections that did not complete a request, or take any of
    /// their response, within the request timeout: idle keep-alive
    /// connections, slow trickles of bytes, readers that stopped reading.
    func expire(now: Int64) {
        for i in 0..<conns.count where conns[i].state != .free {
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

    /// Frees a slot for a new client: a slow reader (a response it has not
    /// taken) first, round robin among them; else the connection that has
    /// waited longest without completing a request (an idle keep-alive, a
    /// slow trickle), so the newest clients are the last to go.
    private func evict() -> Int {
        let n = conns.count
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
        switch HTTPRequestParser.parse(buf) {
        case .incomplete:
            if conns[slot].buffered == Self.maxRequestBytes { respond(slot, canned.tooLarge, .s431, close: true, now) }
        case .invalid:
            respond(slot, canned.badRequest, .s400, close: true, now)
        case .tooManyHeaders:
            respond(slot, canned.tooLarge, .s431, close: true, now)
        case .complete(let head):
            // Decide from the path before the buffer is compacted over it.
            let path = UnsafeRawBufferPointer(rebasing: buf[head.path])
            let route: Route = path.elementsEqual("/metrics".utf8) ? .metrics
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
        guard head.method != .other else { return respond(slot, canned.badRequest, .s400, close: true, now) }
        switch route {
        case .notFound:
            respond(slot, bodyless ? canned.notFoundHead : canned.notFound, .s404, close: close, now)
        case .metrics:
            renderMetrics(slot, format: head.wantsOpenMetrics ? .openMetrics : .prometheus, gzip: head.acceptsGzip,
                          bodyless: bodyless, close: close, now)
        case .health:
            guard let content else { return respond(slot, canned.unavailable, .s500, close: true, now) }
            let (healthy, text) = content.health.check(nowNanos: Clock.wallclockNanos())
            var body = text
            let placed = body.withUTF8 { bytes in
                place(ringHead, gzip: false) { out in bytes.count <= out.count ? copyOut(bytes, out) : nil }
                    ?? place(0, gzip: false) { out in bytes.count <= out.count ? copyOut(bytes, out) : nil }
            }
            guard let placed else { return respond(slot, canned.tooBig, .s500, close: true, now) }
            queue(slot, placed, head: healthy ? canned.healthOKHead : canned.healthFailHead,
                  status: healthy ? .s200 : .s503, bodyless: bodyless, close: close, now)
        }
    }

    private func copyOut(_ bytes: UnsafeBufferPointer<UInt8>, _ out: UnsafeMutableRawBufferPointer) -> Int {
        out.copyMemory(from: UnsafeRawBufferPointer(bytes))
        return bytes.count
    }

    private func respond(_ slot: Int, _ bytes: UnsafeRawBufferPointer, _ status: ResponseStatus, close: Bool, _ now: Int64) {
        precondition(conns[slot].ringRegion == nil, "a response is still queued on this connection")
        counters.responses[status.rawValue] &+= 1
        conns[slot].state = .writing
        conns[slot].response = UnsafeRawPointer(bytes.baseAddress!)
        conns[slot].responseLength = bytes.count
        conns[slot].sent = 0
        conns[slot].ringRegion = nil
        conns[slot].closeAfterResponse = close
        conns[slot].lastProgress = now
        write(slot, now)
    }

    /// Renders every tile's metrics (gzipped if asked) into the ring and
    /// queues the response.
    private func renderMetrics(_ slot: Int, format: ExpositionPlan.Format, gzip wantsGzip: Bool, bodyless: Bool,
                               close: Bool, _ now: Int64) {
        guard let content else { return respond(slot, canned.unavailable, .s500, close: true, now) }
        let plan = format == .openMetrics ? content.openMetrics : content.prometheus
        let t0 = Clock.monotonicNanos()
        let placed = place(ringHead, gzip: wantsGzip) { plan.render(into: $0) }
            ?? (ringHead > 0 ? place(0, gzip: wantsGzip) { plan.render(into: $0) } : nil)
        counters.renderNanos.sample(UInt64(max(0, Clock.monotonicNanos() - t0)))
        guard let placed else {
            Log.warning("the metrics body does not fit the \(formatBytes(ringBytes)) response buffer; answered 500")
            return respond(slot, canned.tooBig, .s500, close: true, now)
        }
        queue(slot, placed, head: canned.metricsHead(format, gzip: wantsGzip), status: .s200, bodyless: bodyless,
              close: close, now)
    }

    /// Where a body went in the ring: `[region)` is every byte it used.
    struct Placed {
        let region: Range<Int>
        let bodyAt: Int
        let bodyLength: Int
    }

    /// Writes a body at ring offset `start` (leaving head room in front),
    /// gzipping it when asked; nil when it does not fit before the ring's end.
    private func place(_ start: Int, gzip wantsGzip: Bool, _ write: (UnsafeMutableRawBufferPointer) -> Int?) -> Placed? {
        let plainAt = start + Self.headRoom
        guard plainAt < ringBytes,
              let n = write(UnsafeMutableRawBufferPointer(start: ring + plainAt, count: ringBytes - plainAt)) else { return nil }
        guard wantsGzip else { return Placed(region: start..<(plainAt + n), bodyAt: plainAt, bodyLength: n) }
        let zAt = alignUp(plainAt + n, 64) + Self.headRoom
        guard zAt < ringBytes,
              let z = gzip.compress(UnsafeRawBufferPointer(start: ring + plainAt, count: n),
                                    into: UnsafeMutableRawBufferPointer(start: ring + zAt, count: ringBytes - zAt)) else { return nil }
        return Placed(region: start..<(zAt + z), bodyAt: zAt, bodyLength: z)
    }

    /// Writes the status line and headers right in front of a placed body
    /// (nothing allocated), closes the slow readers whose queued responses
    /// the new body overwrote, and starts sending.
    private func queue(_ slot: Int, _ p: Placed, head: CannedResponses.Head, status: ResponseStatus, bodyless: Bool,
                       close: Bool, _ now: Int64) {
        let suffix = close ? canned.closeSuffix : canned.keepAliveSuffix
        var digits = 1
        var x = p.bodyLength
        while x >= 10 { x /= 10; digits += 1 }
        let headCount = head.prefix.count + digits + suffix.count
        let headAt = p.bodyAt - headCount
        var w = headAt
        head.prefix.withUnsafeBytes { (ring + w).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        w += head.prefix.count
        w += ExpositionPlan.writeInteger(UInt64(p.bodyLength), ring + w)
        suffix.withUnsafeBytes { (ring + w).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        // Any response still queued in the bytes just written is lost: its
        // reader was too slow.
        for i in 0..<conns.count where i != slot && conns[i].state == .writing {
            if let r = conns[i].ringRegion, r.overlaps(p.region) {
                counters.evicted &+= 1
                self.close(i)
            }
        }
        ringHead = alignUp(p.region.upperBound, 64)
        ringInFlight += 1
        counters.responses[status.rawValue] &+= 1
        conns[slot].state = .writing
        conns[slot].response = UnsafeRawPointer(ring + headAt)
        conns[slot].responseLength = bodyless ? headCount : p.bodyAt + p.bodyLength - headAt
        conns[slot].sent = 0
        conns[slot].ringRegion = p.region
        conns[slot].closeAfterResponse = close
        conns[slot].lastProgress = now
        write(slot, now)
    }

    private func write(_ slot: Int, _ now: Int64) {
        var c = conns[slot]
        while c.sent < c.responseLength {
            let n = sendto(c.fd, c.response! + c.sent, c.responseLength - c.sent, Int32(MSG_NOSIGNAL), nil, 0)
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { conns[slot] = c; return }
                close(slot)
                return
            }
            counters.bytesWritten &+= UInt64(n)
            c.sent += n
            c.lastProgress = now
        }
        if c.closeAfterResponse { close(slot); return }
        if c.ringRegion != nil { releaseRing() }
        c.state = .reading
        c.response = nil
        c.ringRegion = nil
        c.waitingSince = now
        conns[slot] = c
        // A pipelined request may already be waiting.
        if c.buffered > 0 { handleBuffered(slot, now) }
    }
}

/// Status codes the tile answers with, in the order of its
/// `metric_responses_total{status=…}` series.
enum ResponseStatus: Int, CaseIterable {
    case s200, s400, s404, s431, s500, s503
    var code: String { ["200", "400", "404", "431", "500", "503"][rawValue] }
}

/// Responses and header prefixes that never change, built once.
struct CannedResponses {
    /// A status line and headers up to `Content-Length: `.
    struct Head { let prefix: [UInt8] }

    let badRequest: UnsafeRawBufferPointer
    let notFound: UnsafeRawBufferPointer
    let notFoundHead: UnsafeRawBufferPointer
    let tooLarge: UnsafeRawBufferPointer
    let tooBig: UnsafeRawBufferPointer
    let unavailable: UnsafeRawBufferPointer
    /// /metrics heads: [prometheus, openMetrics] × [identity, gzip].
    let metricsHeads: [Head]
    let healthOKHead: Head
    let healthFailHead: Head
    let keepAliveSuffix: [UInt8]
    let closeSuffix: [UInt8]

    init() {
        func make(_ status: String, _ body: String, close: Bool, bodyless: Bool = false) -> UnsafeRawBufferPointer {
            let text = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
                + (close ? "Connection: close\r\n" : "") + "\r\n" + (bodyless ? "" : body)
            let bytes = Array(text.utf8)
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            p.copyBytes(from: bytes)
            return UnsafeRawBufferPointer(p)
        }
        func head(_ status: String, _ contentType: String, gzip: Bool = false) -> Head {
            Head(prefix: Array(("HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\n"
                + (gzip ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "") + "Content-Length: ").utf8))
        }
        badRequest = make("400 Bad Request", "400 bad request: only GET or HEAD of /metrics or /healthz is served\n", close: true)
        notFound = make("404 Not Found", "404 not found: metrics are at /metrics, health at /healthz\n", close: false)
        notFoundHead = make("404 Not Found", "404 not found: metrics are at /metrics, health at /healthz\n", close: false,
                            bodyless: true)
        tooLarge = make("431 Request Header Fields Too Large",
                        "431 request head larger than \(MetricsServer.maxRequestBytes) bytes, or too many header lines\n",
                        close: true)
        tooBig = make("500 Internal Server Error", "500 metrics body larger than the response buffer\n", close: true)
        unavailable = make("500 Internal Server Error", "500 metrics not ready\n", close: true)
        metricsHeads = [
            head("200 OK", ExpositionPlan.Format.prometheus.contentType),
            head("200 OK", ExpositionPlan.Format.prometheus.contentType, gzip: true),
            head("200 OK", ExpositionPlan.Format.openMetrics.contentType),
            head("200 OK", ExpositionPlan.Format.openMetrics.contentType, gzip: true),
        ]
        healthOKHead = head("200 OK", "text/plain; charset=utf-8")
        healthFailHead = head("503 Service Unavailable", "text/plain; charset=utf-8")
        keepAliveSuffix = Array("\r\n\r\n".utf8)
        closeSuffix = Array("\r\nConnection: close\r\n\r\n".utf8)
    }

    func metricsHead(_ format: ExpositionPlan.Format, gzip: Bool) -> Head {
        metricsHeads[(format == .openMetrics ? 2 : 0) + (gzip ? 1 : 0)]
    }
}
