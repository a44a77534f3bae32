#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@testable import MetricTile
@testable import Shared

/// How a client's stream ended.
enum StreamEnd: Equatable { case eof, reset, open }

extension ServerHarness {
    /// Everything the server sends on `fd` (pumping it in between) until
    /// the stream ends or stays quiet for `rounds` polls.
    func receiveToEnd(_ fd: Int32, rounds: Int = 50) -> (bytes: [UInt8], end: StreamEnd) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var quiet = 0
        while quiet < rounds {
            pump(1)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 { return (out, .eof) }
            if n < 0 {
                if errno == ECONNRESET { return (out, .reset) }
                quiet += 1
                continue
            }
            quiet = 0
            out += buf[0..<n]
        }
        return (out, .open)
    }

    func sendBytes(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// Responses split out of a byte stream by their Content-Length (bodies
/// only where `bodies` says so: a HEAD response has none).
func splitResponses(_ bytes: [UInt8], bodies: [Bool]) -> [RawResponse]? {
    var rest = bytes[...]
    var out: [RawResponse] = []
    for hasBody in bodies {
        guard
            let end = (rest.startIndex..<max(rest.startIndex, rest.endIndex - 3)).first(where: {
                rest[$0] == 13 && rest[$0 + 1] == 10 && rest[$0 + 2] == 13 && rest[$0 + 3] == 10
            })
        else { return nil }
        guard let head = RawResponse(Array(rest[rest.startIndex..<(end + 4)])) else { return nil }
        let length = hasBody ? Int(head.headers["content-length"] ?? "") ?? 0 : 0
        guard end + 4 + length <= rest.endIndex else { return nil }
        out.append(RawResponse(Array(rest[rest.startIndex..<(end + 4 + length)]))!)
        rest = rest[(end + 4 + length)...]
    }
    return rest.isEmpty ? out : nil
}

/// RFC 9110 §5.6.7 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
func parseIMFFixdate(_ s: String) -> Date? {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    guard s.utf8.count == 29, let d = f.date(from: s), f.string(from: d) == s else { return nil }
    return d
}

@Suite(.serialized) struct MetricsServerFramingTests {
    @Test func aHeadRequestGetsNoBodyWhateverTheStatus() throws {
        let h = try ServerHarness()
        let c = try h.connect()
        defer { close(c) }
        // 404, then 200 for HEAD /healthz, then a GET whose 404 body must be the
        // next bytes: nothing of the HEAD answers' bodies in between.
        h.send(
            c,
            "HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
                + "HEAD /metrics HTTP/1.1\r\nHost: a, b\r\n\r\n")
        let (bytes, end) = h.receiveToEnd(c)
        let r = try #require(splitResponses(bytes, bodies: [false, false, true, false]), "\(String(decoding: bytes, as: UTF8.self))")
        #expect(r.map(\.status) == ["HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 400 Bad Request"])
        // HEAD's Content-Length is the one GET would carry.
        #expect(r[0].headers["content-length"] == r[2].headers["content-length"])
        #expect(Int(r[1].headers["content-length"] ?? "") == h.referenceBody().utf8.count)
        #expect(String(decoding: r[2].body, as: UTF8.self) == "404 not found: metrics are at /metrics, health at /healthz\n")
        #expect(end == .eof, "a 400 ends the connection, cleanly")
    }

    /// HEAD requests that get an error, by the answer they get.
    static let erroneousHeads = [
        "431, a head too large": "HEAD /metrics HTTP/1.1\r\nHost: t\r\nX-Filler: " + String(repeating: "a", count: 9000),
        "400, a Host with a blank": "HEAD /metrics HTTP/1.1\r\nHost: x y\r\n\r\n",
        "400, Transfer-Encoding": "HEAD /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]

    @Test(arguments: erroneousHeads.keys.sorted())
    func anErrorAnswerToHeadHasNoBody(_ answer: String) throws {
        let h = try ServerHarness()
        let c = try h.connect()
        defer { close(c) }
        h.send(c, Self.erroneousHeads[answer]!)
        let (bytes, end) = h.receiveToEnd(c)
        let r = try #require(splitResponses(bytes, bodies: [false]), "\(String(decoding: bytes, as: UTF8.self))")
        #expect(r[0].status.hasPrefix("HTTP/1.1 4"))
        #expect(Int(r[0].headers["content-length"] ?? "") ?? 0 > 0)
        #expect(end == .eof)
    }

    @Test func a431IsFollowedByEOFNotAReset() throws {
        let h = try ServerHarness()
        let c = try h.connect()
        defer { close(c) }
        // 9000 bytes in one go: 808 stay unread in the server's socket when it
        // answers. Closing with them unread would send a reset, which may
        // destroy the 431 in the client's receive queue.
        h.send(c, "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Filler: " + String(repeating: "a", count: 9000))
        let (first, _) = h.receiveToEnd(c, rounds: 5)
        #expect(String(decoding: first, as: UTF8.self).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        // The client, not reading the answer yet, still sends: drained.
        _ = h.sendBytes(c, [UInt8](repeating: 0x61, count: 20_000))
        let (rest, end) = h.receiveToEnd(c)
        #expect(rest.isEmpty)
        #expect(end == .eof, "FIN after the 431, never a reset")
        #expect(h.server.table.counts.bytesRead >= 29_000)
        #expect(h.server.active == 1, "draining until the client closes")
        close(c)
        h.pump(3)
        #expect(h.server.active == 0)
    }

    @Test func drainingIsBoundedInBytesAndTime() throws {
        let h = try ServerHarness()
        let flood = try h.connect(), silent = try h.connect()
        defer { close(flood); close(silent) }
        h.send(flood, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        h.send(silent, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        h.pump(5)
        #expect(h.server.active == 2, "both draining: the clients have not closed their side")
        // One keeps sending past the drain limit: closed.
        var sent = 0
        for _ in 0..<200 where sent <= MetricsServer.drainBytes + 8192 {
            let n = h.sendBytes(flood, [UInt8](repeating: 0x62, count: 4096))
            if n > 0 { sent += n }
            h.pump(1)
        }
        h.pump(20)
        #expect(h.server.active == 1, "sent \(sent), read \(h.server.table.counts.bytesRead)")
        // The other sends nothing and never closes: closed after drainNanos.
        h.server.expire(now: Clock.monotonicNanos() + MetricsServer.drainNanos / 2)
        #expect(h.server.active == 1)
        h.server.expire(now: Clock.monotonicNanos() + MetricsServer.drainNanos + 1_000_000)
        #expect(h.server.active == 0)
        #expect(h.server.table.counts.timedOut == 0, "a drain running out is not a timeout")
    }

    @Test(arguments: [
        "GET /metrics HTTP/1.1\nHost: t\n\n",
        "GET http://127.0.0.1:7999/metrics HTTP/1.1\r\nHost: 127.0.0.1:7999\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept: application/openmetrics-text;q=0, text/plain;q=0.5\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: [::1]:7999\r\nAccept: application/openmetrics-text;q=0\r\n\r\n",
    ])
    func servesTheTextExposition(_ request: String) throws {
        let h = try ServerHarness()
        let c = try h.connect()
        defer { close(c) }
        h.send(c, request)
        let (bytes, end) = h.receiveToEnd(c, rounds: 10)
        let r = try #require(splitResponses(bytes, bodies: [true]), "\(String(decoding: bytes, as: UTF8.self))")
        #expect(r[0].status == "HTTP/1.1 200 OK")
        #expect(r[0].headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(String(decoding: r[0].body, as: UTF8.self) == h.referenceBody())
        #expect(end == .open, "kept alive")
    }

    @Test func everyResponseIsDated() throws {
        let h = try ServerHarness()
        for request in [
            "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
            "HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n", "GET /x HTTP/1.1\r\nHost: t\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: t,u\r\n\r\n", "GET /x HTTP/1.1\r\nHost: t\r\nX: " + String(repeating: "y", count: 9000),
        ] {
            let c = try h.connect()
            defer { close(c) }
            h.send(c, request)
            let (bytes, _) = h.receiveToEnd(c, rounds: 5)
            let r = try #require(RawResponse(bytes))
            let date = try #require(r.headers["date"].flatMap(parseIMFFixdate), "\(r.headers)")
            #expect(abs(date.timeIntervalSinceNow) < 3, "\(date)")
        }
    }

    @Test func formatsIMFFixdates() {
        let out = UnsafeMutableRawPointer.allocate(byteCount: HTTPDate.length, alignment: 1)
        defer { out.deallocate() }
        for (seconds, text) in [
            (Int64(0), "Thu, 01 Jan 1970 00:00:00 GMT"), (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"), (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 GMT"),
            (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
        ] {
            HTTPDate.format(seconds, out)
            #expect(String(decoding: UnsafeRawBufferPointer(start: out, count: HTTPDate.length), as: UTF8.self) == text)
        }
    }

    /// A client with a tiny receive buffer stops reading mid-body while
    /// others scrape (text, OpenMetrics, gzip: bytes that differ at every
    /// offset) until the ring has wrapped over it many times; then it reads
    /// on. It must get its body exactly as rendered, or a closed connection
    /// before any byte that is not.
    @Test(arguments: [1, 16])
    func aSlowReaderNeverGetsAnOverwrittenByte(_ ringBodies: Int) throws {
        // A ring of 2 of the largest responses (each scrape wraps it) or of
        // 16 (the 12 scrapes never come back to the slow reader's bytes).
        // Megabytes: more than the loopback socket buffers take at once.
        let tiles = 1500
        let window = try ServerHarness(tiles: tiles).largestWindow
        let h = try ServerHarness(tiles: tiles, ringBytes: ringBodies == 1 ? 2 * window : 16 * window)
        let slow = try h.connect(receiveBuffer: 2048)
        defer { close(slow) }
        h.send(slow, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        h.pump(3)
        var first = [UInt8](repeating: 0, count: 1000)
        let got = recv(slow, &first, first.count, Int32(MSG_DONTWAIT))
        #expect(got > 0, "the slow reader has the start of its response")

        let requests = [
            "Accept-Encoding: gzip\r\n", "Accept: application/openmetrics-text\r\n",
            "Accept: application/openmetrics-text\r\nAccept-Encoding: gzip\r\n", "",
        ]
        for i in 0..<12 {
            let c = try h.connect()
            h.send(c, "GET /metrics HTTP/1.1\r\nHost: t\r\n\(requests[i % requests.count])Connection: close\r\n\r\n")
            let (bytes, end) = h.receiveToEnd(c, rounds: 20)
            #expect(end == .eof && RawResponse(bytes)?.status == "HTTP/1.1 200 OK")
            close(c)
        }

        var bytes = Array(first[0..<max(0, got)])
        let (rest, end) = h.receiveToEnd(slow, rounds: 20)
        bytes += rest
        let text = String(decoding: bytes, as: UTF8.self)
        let split = try #require(bytes.indices.dropLast(3).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 })
        let body = Array(bytes[(split + 4)...])
        let expected = Array(h.referenceBody().utf8)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        print(
            "slow reader, ring of \(ringBodies == 1 ? 2 : 16) responses: \(body.count) of \(expected.count) body bytes, "
                + "\(h.server.counters.slowReaderClosed) closed for the ring")
        if ringBodies == 1 {
            #expect(h.server.counters.slowReaderClosed >= 1, "the ring wrapped over the slow reader's response")
            #expect(end != .open && body.count < expected.count, "closed before the end of the body")
            #expect(Array(expected.prefix(body.count)) == body, "every byte received is the body's own")
        } else {
            #expect(h.server.counters.slowReaderClosed == 0)
            #expect(body == expected, "the whole body, byte for byte")
            #expect(end == .open)
        }
    }
}

extension ServerHarness {
    /// The text exposition as it renders now.
    func referenceBody() -> String {
        let sources = regions.enumerated().map { i, p in
            RenderSource(
                tile: TileSpec(index: i, kind: "demo", kindId: i, options: [:]),
                reader: MetricsReader(base: UnsafePointer(p), layout: layout), kindSchema: Self.schema)
        }
        let plan = ExpositionPlan(sources: sources)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.maxRenderedSize, alignment: 64)
        defer { out.deallocate() }
        let n = plan.render(into: out) ?? 0
        return String(decoding: UnsafeRawBufferPointer(rebasing: out[0..<n]), as: UTF8.self)
    }
}
