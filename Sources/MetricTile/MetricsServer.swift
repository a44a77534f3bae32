#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// The metric tile's HTTP server: one listening socket and a fixed table of
/// connections served from a single-threaded ppoll loop. All memory is
/// preallocated in the tile's scratch: a request buffer per slot and one
/// response ring every rendered body is written into.
///
/// Limits are the seed's: `maxConnections` slots (when full, a new client
/// evicts a slow reader first, else a slot chosen round robin), requests up
/// to `maxRequestBytes`, responses up to the ring's size (a larger body is a
/// 500 and a warning in the log).
final class MetricsServer {
    static let maxConnections = 128
    static let maxRequestBytes = 8192
    static let responseRingBytes = 32 << 20
    /// Room reserved in front of each body for its status line and headers.
    static let headRoom = 256
    /// A connection with a partial request or nothing to say for this long
    /// is closed, so slow or idle clients cannot hold slots.
    static let idleTimeoutNanos: Int64 = 30_000_000_000

    enum State { case free, reading, writing }

    struct Connection {
        var fd: Int32 = -1
        var state = State.free
        /// Bytes of request data in this slot's buffer.
        var buffered = 0
        var response: UnsafeRawPointer? = nil
        var responseLength = 0
        var sent = 0
        /// Whether the response lives in the ring (and can be overwritten).
        var inRing = false
        var ringStart = 0
        var closeAfterResponse = false
        var lastActivity: Int64 = 0
    }

    /// What the server counts; the tile publishes it.
    struct Counters {
        var bytesRead: UInt64 = 0
        var bytesWritten: UInt64 = 0
        var evicted: UInt64 = 0
        var timedOut: UInt64 = 0
        /// Parallel to `MetricTile.statusVariants`.
        var responses = [UInt64](repeating: 0, count: MetricTile.statusVariants.count)
        var renderNanos: LocalHistogram
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
    private var evictCursor = 0
    private var plan: ExpositionPlan?
    private(set) var counters: Counters
    private(set) var active = 0

    private let canned: CannedResponses

    /// `requestBuffers` holds `maxConnections * maxRequestBytes` bytes,
    /// `ring` holds `ringBytes`; both stay owned by the caller.
    init(listenFD: Int32, requestBuffers: UnsafeMutableRawPointer, ring: UnsafeMutableRawPointer,
         ringBytes: Int = MetricsServer.responseRingBytes) {
        self.listenFD = listenFD
        self.requestBuffers = requestBuffers
        self.ring = ring
        self.ringBytes = ringBytes
        conns = [Connection](repeating: Connection(), count: Self.maxConnections)
        pollFDs = .allocate(capacity: Self.maxConnections + 1)
        pollSlots = [Int](repeating: -1, count: Self.maxConnections + 1)
        counters = Counters(renderNanos: LocalHistogram(MetricTile.renderDuration))
        canned = CannedResponses()
    }

    /// Sets what `/metrics` renders (after every tile's region is joined).
    func serve(_ plan: ExpositionPlan) { self.plan = plan }

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
            conns[slot].lastActivity = now
            if conns[slot].state == .writing { write(slot) } else { read(slot) }
        }
        if pollFDs[0].revents & Int16(POLLIN) != 0 { acceptAll(now) }
        return true
    }

    /// Closes connections that have been silent too long.
    func expireIdle(now: Int64) {
        for i in 0..<conns.count where conns[i].state != .free && now - conns[i].lastActivity > Self.idleTimeoutNanos {
            counters.timedOut &+= 1
            close(i)
        }
    }

    // MARK: connections

    private func acceptAll(_ now: Int64) {
        // Bounded, so a connection flood cannot starve the other clients.
        for _ in 0..<Self.maxConnections {
            let fd = cshim_accept4(listenFD, CSHIM_SOCK_CLOEXEC | CSHIM_SOCK_NONBLOCK)
            if fd < 0 { return }  // EAGAIN, or a client gone before accept
            let slot = freeSlot() ?? evict()
            conns[slot] = Connection(fd: fd, state: .reading, lastActivity: now)
            active += 1
        }
    }

    private func freeSlot() -> Int? { conns.firstIndex { $0.state == .free } }

    /// Frees a slot for a new client: a slow reader (a response it has not
    /// taken) first, else the next slot round robin.
    private func evict() -> Int {
        let n = conns.count
        for k in 0..<n {
            let i = (evictCursor + k) % n
            if conns[i].state == .writing {
                evictCursor = (i + 1) % n
                counters.evicted &+= 1
                close(i)
                return i
            }
        }
        let i = evictCursor
        evictCursor = (i + 1) % n
        counters.evicted &+= 1
        close(i)
        return i
    }

    private func close(_ slot: Int) {
        guard conns[slot].state != .free else { return }
        _ = Glibc.close(conns[slot].fd)
        conns[slot] = Connection()
        active -= 1
    }

    private func buffer(_ slot: Int) -> UnsafeMutableRawPointer {
        requestBuffers + slot * Self.maxRequestBytes
    }

    private func read(_ slot: Int) {
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
        handleBuffered(slot)
    }

    /// Answers the request at the front of the slot's buffer, if complete.
    private func handleBuffered(_ slot: Int) {
        let buf = UnsafeRawBufferPointer(start: buffer(slot), count: conns[slot].buffered)
        switch HTTPRequestParser.parse(buf) {
        case .incomplete:
            if conns[slot].buffered == Self.maxRequestBytes { respond(slot, canned.tooLarge, status: .s431, close: true) }
        case .invalid:
            respond(slot, canned.badRequest, status: .s400, close: true)
        case .tooManyHeaders:
            respond(slot, canned.tooLarge, status: .s431, close: true)
        case .complete(let head):
            // Decide from the path before the buffer is compacted over it.
            let isMetrics = UnsafeRawBufferPointer(rebasing: buf[head.path]).elementsEqual("/metrics".utf8)
            // Drop the head; pipelined bytes after it stay for the next turn.
            let rest = conns[slot].buffered - head.length
            if rest > 0 { buffer(slot).copyMemory(from: buffer(slot) + head.length, byteCount: rest) }
            conns[slot].buffered = rest
            route(slot, head, isMetrics: isMetrics)
        }
    }

    private func route(_ slot: Int, _ head: HTTPRequestHead, isMetrics: Bool) {
        let close = !head.keepAlive
        guard head.method != .other else { return respond(slot, canned.badRequest, status: .s400, close: true) }
        guard isMetrics else {
            return respond(slot, head.method == .head ? canned.notFoundHead : canned.notFound, status: .s404, close: close)
        }
        renderMetrics(slot, bodyless: head.method == .head, close: close)
    }

    private func respond(_ slot: Int, _ bytes: UnsafeRawBufferPointer, status: ResponseStatus, close: Bool) {
        counters.responses[status.rawValue] &+= 1
        conns[slot].state = .writing
        conns[slot].response = UnsafeRawPointer(bytes.baseAddress!)
        conns[slot].responseLength = bytes.count
        conns[slot].sent = 0
        conns[slot].inRing = false
        conns[slot].closeAfterResponse = close
        write(slot)
    }

    /// Renders every tile's metrics into the ring and queues the response.
    private func renderMetrics(_ slot: Int, bodyless: Bool, close: Bool) {
        guard let plan else { return respond(slot, canned.unavailable, status: .s500, close: true) }
        let t0 = Clock.monotonicNanos()
        var start = ringHead
        var length = renderAt(start, plan)
        if length == nil && start > 0 {
            start = 0
            length = renderAt(0, plan)
        }
        counters.renderNanos.sample(UInt64(max(0, Clock.monotonicNanos() - t0)))
        guard let body = length else {
            Log.warning("the metrics body does not fit the \(formatBytes(ringBytes)) response buffer; answered 500")
            return respond(slot, canned.tooBig, status: .s500, close: true)
        }
        // Status line and headers go right in front of the body, written in
        // place: nothing is allocated per scrape.
        let suffix = close ? canned.closeSuffix : canned.keepAliveSuffix
        var digits = 1
        var x = body
        while x >= 10 { x /= 10; digits += 1 }
        let headCount = canned.okHeadPrefix.count + digits + suffix.count
        let bodyAt = start + Self.headRoom
        let headAt = bodyAt - headCount
        var w = headAt
        canned.okHeadPrefix.withUnsafeBytes { (ring + w).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        w += canned.okHeadPrefix.count
        w += ExpositionPlan.writeInteger(UInt64(body), ring + w)
        suffix.withUnsafeBytes { (ring + w).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let end = bodyAt + body
        // Any response still queued in the bytes just written is lost: its
        // reader was too slow. Close it.
        for i in 0..<conns.count where i != slot && conns[i].state == .writing && conns[i].inRing {
            let s = conns[i].ringStart + conns[i].sent, e = conns[i].ringStart + conns[i].responseLength
            if s < end && start < e {
                counters.evicted &+= 1
                self.close(i)
            }
        }
        ringHead = alignUp(end, 64)
        counters.responses[ResponseStatus.s200.rawValue] &+= 1
        conns[slot].state = .writing
        conns[slot].response = UnsafeRawPointer(ring + headAt)
        conns[slot].responseLength = bodyless ? headCount : end - headAt
        conns[slot].sent = 0
        conns[slot].inRing = true
        conns[slot].ringStart = headAt
        conns[slot].closeAfterResponse = close
        write(slot)
    }

    private func renderAt(_ start: Int, _ plan: ExpositionPlan) -> Int? {
        let bodyAt = start + Self.headRoom
        guard bodyAt < ringBytes else { return nil }
        return plan.render(into: UnsafeMutableRawBufferPointer(start: ring + bodyAt, count: ringBytes - bodyAt))
    }

    private func write(_ slot: Int) {
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
        }
        if c.closeAfterResponse { close(slot); return }
        c.state = .reading
        c.response = nil
        c.inRing = false
        conns[slot] = c
        // A pipelined request may already be waiting.
        if c.buffered > 0 { handleBuffered(slot) }
    }
}

/// Status codes the tile answers with, in the order of its
/// `metric_responses_total{status=…}` series.
enum ResponseStatus: Int, CaseIterable {
    case s200, s400, s404, s431, s500
    var code: String { ["200", "400", "404", "431", "500"][rawValue] }
}

/// Responses that never change, built once.
struct CannedResponses {
    let badRequest: UnsafeRawBufferPointer
    let notFound: UnsafeRawBufferPointer
    let notFoundHead: UnsafeRawBufferPointer
    let tooLarge: UnsafeRawBufferPointer
    let tooBig: UnsafeRawBufferPointer
    let unavailable: UnsafeRawBufferPointer
    let okHeadPrefix: [UInt8]
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
        badRequest = make("400 Bad Request", "400 bad request: only GET /metrics is served\n", close: true)
        notFound = make("404 Not Found", "404 not found: metrics are at /metrics\n", close: false)
        notFoundHead = make("404 Not Found", "404 not found: metrics are at /metrics\n", close: false, bodyless: true)
        tooLarge = make("431 Request Header Fields Too Large",
                        "431 request head larger than \(MetricsServer.maxRequestBytes) bytes\n", close: true)
        tooBig = make("500 Internal Server Error", "500 metrics body larger than the response buffer\n", close: true)
        unavailable = make("500 Internal Server Error", "500 metrics not ready\n", close: true)
        okHeadPrefix = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: ".utf8)
        keepAliveSuffix = Array("\r\n\r\n".utf8)
        closeSuffix = Array("\r\nConnection: close\r\n\r\n".utf8)
    }
}
