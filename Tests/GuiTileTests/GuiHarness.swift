#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Loopback
import Testing

@testable import GuiTile
@testable import MetricTile
@testable import Shared

/// A small validator-like topology held in ordinary memory: source:0 feeds
/// verify:0 and verify:1 (one link instance, two consumers), each feeds
/// dedup:0 (two instances), and gui:0. Each tile's metrics region is laid
/// out as a real one and written through the same writer a tile uses.
final class FakeTopology {
    static let schema = MetricSchema(prefix: "demo", [MetricFamily.counter("things", "Things.")])

    let topology: Topology
    let layouts: [MetricsLayout]
    let regions: [UnsafeMutablePointer<UInt64>]

    init(name: String = "validator") {
        let tiles = [
            TileSpec(index: 0, kind: "source", kindId: 0, options: [:], outLinks: [0]),
            TileSpec(index: 1, kind: "verify", kindId: 0, options: [:], inLinks: [0], outLinks: [1]),
            TileSpec(index: 2, kind: "verify", kindId: 1, options: [:], inLinks: [0], outLinks: [2]),
            TileSpec(index: 3, kind: "dedup", kindId: 0, options: [:], inLinks: [1, 2]),
            TileSpec(index: 4, kind: "gui", kindId: 0, options: [:]),
        ]
        func link(_ index: Int, _ name: String, _ kindId: Int, _ producer: Int, _ consumers: [(tile: Int, inIndex: Int)])
            -> LinkInstance
        {
            LinkInstance(
                index: index, name: name, kindId: kindId, depth: 512, mtu: 1232, reliable: true, producer: producer,
                consumers: consumers.enumerated().map {
                    LinkInstanceConsumer(tile: $1.tile, inIndex: $1.inIndex, slot: $0, reliable: true)
                })
        }
        topology = Topology(
            name: name, source: "test", user: .dynamic, log: LogConfig(path: nil, levelStderr: .notice, levelLogfile: .info),
            shmem: ShmemConfig(pageSize: .normal, hugetlbfsMount: "/mnt/.tilectl"),
            layout: LayoutConfig(idle: .sleep, housekeepingIntervalNanos: 1_000_000), tiles: tiles,
            links: [
                link(0, "source_verify", 0, 0, [(1, 0), (2, 0)]), link(1, "verify_dedup", 0, 1, [(3, 0)]),
                link(2, "verify_dedup", 1, 2, [(3, 1)]),
            ])
        layouts = tiles.map { MetricsLayout(inLinkCount: $0.inLinks.count, kindSchema: Self.schema) }
        regions = layouts.map { l in
            let p = UnsafeMutablePointer<UInt64>.allocate(capacity: l.slotCount)
            p.initialize(repeating: 0, count: l.slotCount)
            p[l.inLinkCountSlot] = UInt64(l.inLinkCount)
            return p
        }
    }

    deinit { regions.forEach { $0.deallocate() } }

    var readers: [MetricsReader] { zip(regions, layouts).map { MetricsReader(base: UnsafePointer($0), layout: $1) } }

    func writer(_ tile: Int) -> MetricsWriter { MetricsWriter(base: regions[tile], layout: layouts[tile], kindSchema: Self.schema) }

    /// Sets what tile `i` says about itself.
    func set(
        _ i: Int, pid: UInt64 = 1000, status: TileStatus = .running, heartbeat: Int64 = Clock.wallclockNanos(),
        regimes: [Regime: UInt64] = [:], inBackpressure: Bool = false, backpressure: UInt64 = 0
    ) {
        let w = writer(i)
        w.gauge(CommonMetrics.pid).set(pid)
        w.gauge(CommonMetrics.status).set(status.rawValue)
        w.gauge(CommonMetrics.heartbeat).set(UInt64(heartbeat))
        let cells = w.enumCounter(CommonMetrics.regimeDuration, Regime.self)
        for (r, v) in regimes { cells.set(r, v) }
        w.gauge(CommonMetrics.inBackpressure).set(inBackpressure ? 1 : 0)
        w.counter(CommonMetrics.backpressure).set(backpressure)
    }

    /// Sets in-link `input` of tile `i`'s counters.
    func setLink(_ i: Int, _ input: Int, consumed: UInt64, bytes: UInt64, filtered: UInt64 = 0, lost: UInt64 = 0) {
        let w = writer(i)
        w.linkCounter(LinkMetrics.consumed, in: input).set(consumed)
        w.linkCounter(LinkMetrics.consumedBytes, in: input).set(bytes)
        w.linkCounter(LinkMetrics.filtered, in: input).set(filtered)
        w.linkCounter(LinkMetrics.fragPollingOverrun, in: input).set(lost)
    }

    /// Every slot of every region at `value`.
    func fill(_ value: UInt64) {
        for (p, l) in zip(regions, layouts) {
            for s in 0..<l.slotCount { p[s] = value }
            p[l.inLinkCountSlot] = UInt64(l.inLinkCount)
        }
    }

    func snapshot(intervalMs: Int = 250, maxAgeNanos: Int64 = 2_000_000_000) -> SnapshotJSON {
        SnapshotJSON(topology: topology, readers: readers, intervalMs: intervalMs, maxAgeNanos: maxAgeNanos)
    }
}

/// The gui server driven in the test's own thread over real loopback
/// sockets, with the page's real (embedded) files.
final class GuiHarness {
    let fake: FakeTopology
    let listenFD: Int32
    let port: Int
    let requestBuffers: UnsafeMutableRawPointer
    let heads: UnsafeMutableRawPointer
    let server: GuiServer

    init(allowedHosts: [String] = [], requestTimeoutNanos: Int64 = 10_000_000_000) throws {
        fake = FakeTopology()
        for i in 0..<5 { fake.set(i) }
        let (fd, port) = try Loopback.listener()
        listenFD = fd
        self.port = port
        requestBuffers = .allocate(byteCount: GuiServer.maxConnections * GuiServer.maxRequestBytes, alignment: 64)
        heads = .allocate(byteCount: GuiServer.maxConnections * GuiServer.headBytes, alignment: 64)
        server = GuiServer(
            listenFD: fd, requestBuffers: requestBuffers, heads: heads, assets: try GuiAssets(), snapshot: fake.snapshot(),
            allowedHosts: allowedHosts, requestTimeoutNanos: requestTimeoutNanos)
    }

    deinit {
        close(listenFD)
        requestBuffers.deallocate()
        heads.deallocate()
    }

    func pump(_ rounds: Int = 5) {
        for _ in 0..<rounds { server.poll(timeoutNanos: 2_000_000) }
    }

    func connect(receiveBuffer: Int32? = nil) throws -> Int32 {
        try Loopback.connect(port: port, receiveBuffer: receiveBuffer)
    }

    func send(_ fd: Int32, _ s: String) { Loopback.send(fd, s) }

    /// Everything readable now (pumping the server in between), until EOF
    /// or `rounds` polls.
    func receive(_ fd: Int32, rounds: Int = 30) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        for _ in 0..<rounds {
            pump(1)
            while true {
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n == 0 { return (out, true) }
                if n < 0 {
                    if errno == ECONNRESET { return (out, true) }
                    break
                }
                out += buf[0..<n]
            }
        }
        return (out, false)
    }

    /// One request on a fresh connection; the response as text.
    func exchange(_ request: String) throws -> (text: String, closed: Bool) {
        let c = try connect()
        defer { close(c) }
        send(c, request)
        let (bytes, closed) = receive(c)
        return (String(decoding: bytes, as: UTF8.self), closed)
    }
}

/// A response's status line, headers (names lowercased) and body.
struct Response {
    let status: Int
    let headers: [String: String]
    let body: [UInt8]

    /// The first response in `bytes`; the body is everything after the head.
    init?(_ bytes: [UInt8]) {
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { bytes[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }) else {
            return nil
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let first = lines.first, first.hasPrefix("HTTP/1.1 "), let code = Int(first.dropFirst(9).prefix(3)) else { return nil }
        status = code
        var h: [String: String] = [:]
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: ":") else { continue }
            h[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        headers = h
        body = Array(bytes[(end + 4)...])
    }
}
