#if canImport(Glibc)
import Glibc
#endif
import CShim
import MetricTile
import Shared

/// The gui tile's HTTP/1.1 server: one listening socket and a fixed table
/// of connections served from a single-threaded ppoll loop, by the same
/// state machine as the metric tile's (`ConnectionServer`), with what a
/// page needs besides: files, a JSON snapshot, and a stream of snapshots
/// (Server-Sent Events).
///
/// Memory, all of it allocated at init: a request buffer and a head buffer
/// per slot (in the tile's scratch); two frame buffers the snapshot is
/// rendered into in turn, each holding one SSE message (`event: snapshot`,
/// `data: <json>`, a blank line) whose JSON part is also what
/// `/api/v1/snapshot` sends. A body is never copied: a file is sent from
/// the asset table, a snapshot from its frame. Only a response's head (and
/// the short error texts) is written per request.
///
/// Limits: `maxConnections` slots, at most `maxStreams` of them streams. A
/// new stream beyond that closes the oldest one (EventSource reconnects on
/// its own two seconds later); a new connection when every slot is taken
/// closes one that is not a stream: one being drained, else a slow
/// reader, else the one idle longest (`ConnectionServer`). A stream that
/// has not taken the whole of one snapshot when the next is ready is a
/// whole snapshot behind: it is closed (`streams_closed_slow`), never
/// buffered for. A `/api/v1/snapshot`
/// reader still sending from a frame about to be rendered over (two
/// intervals later) is closed too. Request heads up to `maxRequestBytes`
/// (431 beyond); a connection that does not send a whole request, or take
/// any of its response, within the request timeout is closed. Connections
/// the server ends are closed gracefully (RFC 9112 §9.6).
final class GuiServer: ConnectionServer {
    static let maxConnections = 32
    static let maxStreams = 16
    static let maxRequestBytes = 8192
    /// A response's head, and an error text after it.
    static let headBytes = 1024
    /// In front of each frame's JSON, and after it (WHATWG HTML §9.2.5).
    static let eventPrefix: StaticString = "event: snapshot\ndata: "
    static let eventSuffix: StaticString = "\n\n"

    /// A connection's response: a head in the slot's head buffer, then a body.
    struct Response: ConnectionResponse {
        /// The head (and an error text) in the slot's head buffer, and how
        /// much of it is sent.
        var headLength = 0
        var headSent = 0
        /// The body: an asset's bytes or a frame's.
        var body: UnsafeRawPointer? = nil
        var bodyLength = 0
        var bodySent = 0
        /// The frame buffer `body` points into (0 or 1), or -1.
        var frame = -1

        var unsent: Bool { headSent < headLength || bodySent < bodyLength }
    }

    /// What the server counts besides `table.counts`; the tile publishes it.
    struct Counters {
        var streamsEvicted: UInt64 = 0
        var streamsClosedSlow: UInt64 = 0
        var slowReaderClosed: UInt64 = 0
        var snapshots: UInt64 = 0
        var responses = VariantCounts<GuiStatus>()
        var renderNanos: LocalHistogram
    }

    let listenFD: Int32
    let assets: GuiAssets
    let snapshot: SnapshotJSON
    /// `gui_allowed_hosts`, in lowercase.
    let allowedHosts: [[UInt8]]
    let table: ConnectionTable<Response>
    private let heads: UnsafeMutableRawPointer
    /// Two frames, rendered into in turn; `current` is the newest.
    private let frames: (UnsafeMutableRawPointer, UnsafeMutableRawPointer)
    private var frameLength = (0, 0)
    private var current = 0
    private let responses = GuiResponses()
    private let date: UnsafeMutableRawPointer
    private var dateState = HTTPDate()
    private(set) var counters: Counters
    private(set) var streams = 0

    static let renderDuration = MetricFamily.histogram(
        "render_duration_seconds", "Time to read every tile's metrics and render one snapshot.",
        buckets: [1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 5_000_000],
        unit: "seconds", converter: .nanosToSeconds)

    /// `requestBuffers` holds `maxConnections * maxRequestBytes` bytes and
    /// `heads` `maxConnections * headBytes`; both stay owned by the caller.
    /// Renders the first snapshot (rates of 0) before it returns.
    init(
        listenFD: Int32, requestBuffers: UnsafeMutableRawPointer, heads: UnsafeMutableRawPointer, assets: GuiAssets,
        snapshot: SnapshotJSON, allowedHosts: [String] = [], requestTimeoutNanos: Int64 = 10_000_000_000,
        now: Int64 = Clock.monotonicNanos()
    ) {
        self.listenFD = listenFD
        self.heads = heads
        self.assets = assets
        self.snapshot = snapshot
        self.allowedHosts = allowedHosts.map { Array($0.lowercased().utf8) }
        table = ConnectionTable(
            count: Self.maxConnections, requestBuffers: requestBuffers, maxRequestBytes: Self.maxRequestBytes,
            requestTimeoutNanos: requestTimeoutNanos)
        counters = Counters(renderNanos: LocalHistogram(Self.renderDuration))
        let frameBytes = Self.eventPrefix.utf8CodeUnitCount + snapshot.maxSize + Self.eventSuffix.utf8CodeUnitCount
        frames = (.allocate(byteCount: frameBytes, alignment: 64), .allocate(byteCount: frameBytes, alignment: 64))
        for f in [frames.0, frames.1] {
            f.copyMemory(from: Self.eventPrefix.utf8Start, byteCount: Self.eventPrefix.utf8CodeUnitCount)
        }
        date = .allocate(byteCount: HTTPDate.length, alignment: 1)
        dateState.update(Clock.wallclockNanos(), date, date)
        snapshot.start(now: now, wallclock: Clock.wallclockNanos())
        current = 1
        update(now: now, sample: false)
    }

    deinit {
        frames.0.deallocate()
        frames.1.deallocate()
        date.deallocate()
    }

    private func frame(_ k: Int) -> UnsafeMutableRawPointer { k == 0 ? frames.0 : frames.1 }
    private func length(_ k: Int) -> Int { k == 0 ? frameLength.0 : frameLength.1 }

    /// The newest snapshot's JSON.
    var snapshotJSON: UnsafeRawBufferPointer {
        let prefix = Self.eventPrefix.utf8CodeUnitCount
        return UnsafeRawBufferPointer(
            start: frame(current) + prefix, count: length(current) - prefix - Self.eventSuffix.utf8CodeUnitCount)
    }

    // MARK: snapshots

    /// Takes a reading of every tile (unless `sample` is false), renders
    /// the snapshot into the older frame, and sends it to every stream.
    /// Streams that have not taken the last one whole are closed first.
    func update(now: Int64, sample: Bool = true) {
        for i in 0..<table.slots.count where table.slots[i].state == .streaming && table.slots[i].response.unsent {
            counters.streamsClosedSlow &+= 1
            close(i)
        }
        let k = 1 - current
        for i in 0..<table.slots.count where table.slots[i].state == .writing && table.slots[i].response.frame == k {
            counters.slowReaderClosed &+= 1
            close(i)
        }
        let t0 = Clock.monotonicNanos()
        if sample { snapshot.sample(now: now, wallclock: Clock.wallclockNanos()) }
        let prefix = Self.eventPrefix.utf8CodeUnitCount
        let out = UnsafeMutableRawBufferPointer(start: frame(k) + prefix, count: snapshot.maxSize)
        // The bound is computed from the same parts the render writes.
        guard let n = snapshot.render(into: out) else { preconditionFailure("a snapshot outgrew its computed bound") }
        (frame(k) + prefix + n).copyMemory(from: Self.eventSuffix.utf8Start, byteCount: Self.eventSuffix.utf8CodeUnitCount)
        let total = prefix + n + Self.eventSuffix.utf8CodeUnitCount
        if k == 0 { frameLength.0 = total } else { frameLength.1 = total }
        current = k
        counters.snapshots &+= 1
        counters.renderNanos.sample(UInt64(max(0, Clock.monotonicNanos() - t0)))

        for i in 0..<table.slots.count where table.slots[i].state == .streaming {
            table.slots[i].response.body = UnsafeRawPointer(frame(k))
            table.slots[i].response.bodyLength = total
            table.slots[i].response.bodySent = 0
            table.slots[i].response.frame = k
            write(i, now)
        }
    }

    // MARK: the server's part of a connection (ConnectionServer)

    /// The slot's connection is closing: a stream is one fewer.
    func releasing(_ slot: Int) {
        if table.slots[slot].state == .streaming { streams -= 1 }
    }

    private func headBuffer(_ slot: Int) -> UnsafeMutableRawPointer { heads + slot * Self.headBytes }

    /// Answers the request at the front of the slot's buffer, if complete.
    func handleBuffered(_ slot: Int, _ now: Int64) {
        let buf = table.buffered(slot)
        let bodyless = HTTPRequestParser.startsWithHead(buf)
        switch HTTPRequestParser.parse(buf) {
        case .incomplete:
            if buf.count == Self.maxRequestBytes { answer(slot, responses.tooLarge, bodyless: bodyless, close: true, now) }
        case .invalid:
            // A method other than GET or HEAD is refused as such, whatever
            // else is wrong with the request (a body, most often).
            let a = Self.otherMethod(buf) ? responses.methodNotAllowed : responses.badRequest
            answer(slot, a, bodyless: bodyless, close: true, now)
        case .tooManyHeaders:
            answer(slot, responses.tooLarge, bodyless: bodyless, close: true, now)
        case .complete(let head):
            // Decide from the head before the buffer is compacted over it.
            let request = GuiRequest.classify(buf, head, assetPaths: assets.paths, allowedHosts: allowedHosts)
            var notModified = false
            if case .asset(let i) = request.route, let tags = request.ifNoneMatch {
                let a = assets.assets[i]
                let etag = head.acceptsGzip && a.gzipEtag != nil ? a.gzipEtag! : a.etag
                notModified = GuiRequest.noneMatch(buf, tags, etag: etag)
            }
            table.consume(slot, head.length)
            answer(slot, head, request, notModified: notModified, now)
        }
    }

    /// Whether the bytes start with a method token other than GET or HEAD,
    /// then a space.
    static func otherMethod(_ buf: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < buf.count, i < 32, buf[i] >= UInt8(ascii: "A"), buf[i] <= UInt8(ascii: "Z") { i += 1 }
        guard i > 0, i < buf.count, buf[i] == 0x20 else { return false }
        let method = UnsafeRawBufferPointer(rebasing: buf[0..<i])
        return !GuiRequest.equals(method, "GET") && !GuiRequest.equals(method, "HEAD")
    }

    private func answer(_ slot: Int, _ head: HTTPRequestHead, _ request: GuiRequest, notModified: Bool, _ now: Int64) {
        let close = !head.keepAlive
        let bodyless = head.method == .head
        if head.method == .other { return answer(slot, responses.methodNotAllowed, bodyless: false, close: true, now) }
        // A name the tile does not answer to gets nothing more, whatever the path.
        switch request.host {
        case .allowed: break
        case .missing: return answer(slot, responses.hostMissing, bodyless: bodyless, close: true, now)
        case .refused: return answer(slot, responses.hostRefused, bodyless: bodyless, close: close, now)
        }
        if request.websocketUpgrade { return answer(slot, responses.websocket, bodyless: bodyless, close: true, now) }
        if request.crossOrigin { return answer(slot, responses.forbidden, bodyless: bodyless, close: close, now) }
        switch request.route {
        case .notFound:
            answer(slot, responses.notFound, bodyless: bodyless, close: close, now)
        case .asset(let i):
            let a = assets.assets[i]
            let gzip = head.acceptsGzip ? a.gzip : nil
            let heads = gzip != nil ? a.gzipHeads! : a.heads
            if notModified {
                queue(slot, heads.notModified, length: nil, close: close, now)
            } else {
                let body = gzip ?? a.identity
                queue(slot, heads.ok, length: body.count, body: bodyless ? nil : body, close: close, now)
            }
        case .snapshot:
            let json = snapshotJSON
            queue(slot, responses.snapshot, length: json.count, body: bodyless ? nil : json, frame: current, close: close, now)
        case .stream:
            guard !bodyless else { return queue(slot, responses.stream.head, length: nil, close: true, now) }
            if streams == Self.maxStreams {
                counters.streamsEvicted &+= 1
                self.close(table.oldest(.streaming))
            }
            streams += 1
            // The oldest stream goes first: its age is counted from here.
            table.slots[slot].waitingSince = now
            table.slots[slot].buffered = 0
            // The head, `retry:`, then the newest snapshot at once.
            let k = current
            queue(
                slot, responses.stream.head, length: nil, text: responses.stream.body,
                body: UnsafeRawBufferPointer(start: frame(k), count: length(k)), frame: k, close: true, stream: true, now)
        }
    }

    /// An answer whose body never changes: its text after the head.
    private func answer(_ slot: Int, _ a: GuiResponses.Answer, bodyless: Bool, close: Bool, _ now: Int64) {
        queue(slot, a.head, length: a.body.count, text: bodyless ? nil : a.body, close: close, now)
    }

    /// Writes a response's head (and `text`, a short body) into the slot's
    /// head buffer, sets `body` to follow it, and starts sending.
    /// `length`: the Content-Length (nil: none, as for a 304 or a stream);
    /// `stream`: the connection is counted in `streams` and becomes one.
    private func queue(
        _ slot: Int, _ head: GuiResponses.Head, length: Int?, text: UnsafeRawBufferPointer? = nil,
        body: UnsafeRawBufferPointer? = nil, frame: Int = -1, close: Bool, stream: Bool = false, _ now: Int64
    ) {
        var w = JSONWriter(UnsafeMutableRawBufferPointer(start: headBuffer(slot), count: Self.headBytes))
        w.raw(head.prefix)
        if let length {
            w.raw("Content-Length: ")
            w.integer(UInt64(length))
            w.raw("\r\n")
        }
        dateState.update(Clock.wallclockNanos(), date, date)
        w.raw("Date: ")
        w.raw(UnsafeRawBufferPointer(start: date, count: HTTPDate.length))
        w.raw(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n")
        if let text { w.raw(text) }
        // Every head and text is built at init, and fits (tested).
        precondition(!w.overflow, "a response head outgrew its buffer")
        counters.responses[head.status] &+= 1
        // A stream stays one once its head is sent, for the next snapshot.
        table.slots[slot].state = stream ? .streaming : .writing
        table.slots[slot].response = Response(
            headLength: w.count, body: body?.baseAddress, bodyLength: body?.count ?? 0, frame: body == nil ? -1 : frame)
        table.slots[slot].closeAfterResponse = close
        table.slots[slot].lastProgress = now
        write(slot, now)
    }

    func write(_ slot: Int, _ now: Int64) {
        var c = table.slots[slot]
        let before = c.response.headSent + c.response.bodySent
        var sent = ConnectionIO.send(
            c.fd, headBuffer(slot), count: c.response.headLength, sent: &c.response.headSent, written: &table.counts.bytesWritten)
        if sent == .done, let body = c.response.body {
            sent = ConnectionIO.send(
                c.fd, body, count: c.response.bodyLength, sent: &c.response.bodySent, written: &table.counts.bytesWritten)
        }
        if c.response.headSent + c.response.bodySent > before { c.lastProgress = now }
        switch sent {
        case .again: table.slots[slot] = c; return
        case .failed: return close(slot)
        case .done: break
        }
        // All sent (a stream then waits for the next snapshot).
        c.response = Response()
        table.slots[slot] = c
        responseSent(slot, now)
    }
}
