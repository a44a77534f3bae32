#if canImport(Glibc)
import Glibc
#endif
import CZlib
import Foundation
import Testing

@testable import GuiTile
@testable import MetricTile
@testable import Shared

/// The server over real loopback sockets: what a browser, curl and a
/// hostile client each get back.
@Suite(.serialized) struct GuiServerTests {
    static let host = "Host: 127.0.0.1:7998\r\n"

    static func get(_ path: String, _ headers: String = "", method: String = "GET") -> String {
        "\(method) \(path) HTTP/1.1\r\n\(host)\(headers)\r\n"
    }

    static let csp =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    /// The headers every response carries.
    static func expectSecurityHeaders(_ r: Response, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.headers["content-security-policy"] == csp, sourceLocation: sourceLocation)
        #expect(r.headers["x-content-type-options"] == "nosniff", sourceLocation: sourceLocation)
        #expect(r.headers["referrer-policy"] == "no-referrer", sourceLocation: sourceLocation)
        #expect(r.headers["cross-origin-resource-policy"] == "same-origin", sourceLocation: sourceLocation)
        #expect(!r.headers.keys.contains { $0.hasPrefix("access-control-") }, "no CORS header, ever", sourceLocation: sourceLocation)
    }

    static func gunzip(_ bytes: [UInt8]) -> [UInt8]? {
        var s = z_stream()
        guard inflateInit2_(&s, 31, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: 1 << 20)
        var input = bytes
        let rc = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o -> Int32 in
                s.next_in = i.baseAddress
                s.avail_in = uInt(i.count)
                s.next_out = o.baseAddress
                s.avail_out = uInt(o.count)
                return inflate(&s, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { return nil }
        return Array(out[0..<Int(s.total_out)])
    }

    @Test func servesThePageFromTheBinaryGzippedWhenAccepted() throws {
        let h = try GuiHarness()
        let assets = h.server.assets
        #expect(assets.assets.map(\.name).sorted() == ["app.css", "app.js", "index.html"], "every file under Assets/")
        for asset in assets.assets {
            let path = String(decoding: asset.path, as: UTF8.self)
            let plain = try #require(Response(Array(try h.exchange(Self.get(path)).text.utf8)))
            #expect(plain.status == 200)
            #expect(plain.headers["content-type"] == asset.contentType)
            #expect(plain.headers["content-encoding"] == nil)
            #expect(plain.headers["cache-control"] == "no-cache")
            #expect(plain.body == Array(asset.identity), "\(path) as it is in Assets/")
            Self.expectSecurityHeaders(plain)

            let c = try h.connect()
            defer { close(c) }
            h.send(c, Self.get(path, "Accept-Encoding: gzip, deflate, br\r\n"))
            let gz = try #require(Response(h.receive(c).bytes))
            #expect(gz.headers["content-encoding"] == "gzip")
            #expect(gz.headers["vary"] == "Accept-Encoding")
            #expect(Self.gunzip(gz.body) == Array(asset.identity))
            #expect(gz.body.count < asset.identity.count / 2, "\(path): \(gz.body.count) of \(asset.identity.count) bytes")
            #expect(gz.headers["etag"] != plain.headers["etag"], "another representation, another tag")

            // Revalidation: each representation's tag gives a 304 without a body.
            for (tag, encoding) in [(plain.headers["etag"]!, ""), (gz.headers["etag"]!, "Accept-Encoding: gzip\r\n")] {
                let r = try #require(Response(Array(try h.exchange(Self.get(path, "If-None-Match: \(tag)\r\n" + encoding)).text.utf8)))
                #expect(r.status == 304)
                #expect(r.body.isEmpty && r.headers["content-length"] == nil)
                #expect(r.headers["etag"] == tag)
                Self.expectSecurityHeaders(r)
            }
            let stale = try #require(Response(Array(try h.exchange(Self.get(path, "If-None-Match: \"0000\"\r\n")).text.utf8)))
            #expect(stale.status == 200)
        }
    }

    @Test func theSnapshotIsJSONAndHeadHasNoBody() throws {
        let h = try GuiHarness()
        let r = try #require(Response(Array(try h.exchange(Self.get("/api/v1/snapshot")).text.utf8)))
        #expect(r.status == 200)
        #expect(r.headers["content-type"] == "application/json")
        #expect(r.headers["cache-control"] == "no-store")
        #expect(Int(r.headers["content-length"] ?? "") == r.body.count)
        Self.expectSecurityHeaders(r)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        #expect((json["tiles"] as? [Any])?.count == 5)
        #expect(json["healthy"] as? Bool == true)

        let c = try h.connect()
        defer { close(c) }
        h.send(c, Self.get("/api/v1/snapshot", method: "HEAD") + Self.get("/nope"))
        let (bytes, closed) = h.receive(c)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!closed, "kept alive")
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.components(separatedBy: "HTTP/1.1 ").count == 3, "two responses, the HEAD one without a body")
        #expect(text.contains("\r\n\r\nHTTP/1.1 404 Not Found\r\n"))
    }

    /// The data lines of the SSE events in `text`, parsed.
    static func events(_ text: String) throws -> [[String: Any]] {
        try text.components(separatedBy: "event: snapshot\ndata: ").dropFirst().map { chunk in
            let (line, rest) = (chunk.prefix { $0 != "\n" }, chunk.drop { $0 != "\n" })
            #expect(rest.hasPrefix("\n\n"), "each event ends with a blank line")
            return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func theStreamSendsRetryThenEverySnapshot() throws {
        let h = try GuiHarness()
        let c = try h.connect()
        defer { close(c) }
        h.send(c, Self.get("/api/v1/stream", "Accept: text/event-stream\r\n"))
        let (first, closed) = h.receive(c, rounds: 3)
        #expect(!closed)
        let r = try #require(Response(first))
        #expect(r.status == 200)
        #expect(r.headers["content-type"] == "text/event-stream")
        #expect(r.headers["cache-control"] == "no-store")
        #expect(r.headers["content-length"] == nil && r.headers["transfer-encoding"] == nil, "ends when the connection does")
        #expect(r.headers["connection"] == "close")
        Self.expectSecurityHeaders(r)
        let body = String(decoding: r.body, as: UTF8.self)
        #expect(body.hasPrefix("retry: 2000\n\nevent: snapshot\ndata: {"), "the newest snapshot at once")
        #expect(h.server.streams == 1)

        var text = body
        for k in 1...3 {
            h.server.update(now: Clock.monotonicNanos() + Int64(k) * 250_000_000)
            text += String(decoding: h.receive(c, rounds: 2).bytes, as: UTF8.self)
        }
        let events = try Self.events(text)
        #expect(events.map { $0["seq"] as? Int } == [0, 1, 2, 3])
        #expect(events.allSatisfy { ($0["tiles"] as? [Any])?.count == 5 })
        #expect(h.server.counters.responses[GuiStatus.s200.rawValue] == 1, "a stream is one response")

        // HEAD: the head alone, then the end.
        let (head, ended) = try h.exchange(Self.get("/api/v1/stream", method: "HEAD"))
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n") && head.hasSuffix("\r\n\r\n"))
        #expect(ended)
    }

    @Test(arguments: [
        (
            "GET",
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        ),
        ("GET", "Connection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n"),
    ])
    func aWebSocketUpgradeGets400AndAClose(_ method: String, _ headers: String) throws {
        let h = try GuiHarness()
        for path in ["/api/v1/stream", "/", "/ws"] {
            let (text, closed) = try h.exchange(Self.get(path, headers, method: method))
            #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(path)")
            #expect(text.contains("\r\nConnection: close\r\n") && text.contains("Server-Sent Events"))
            #expect(!text.lowercased().contains("sec-websocket-accept") && !text.contains("101"))
            #expect(closed, "EOF after the 400")
        }
        #expect(h.server.streams == 0)
    }

    @Test func anotherOriginGets403AndNoCORS() throws {
        let h = try GuiHarness()
        for path in ["/api/v1/snapshot", "/api/v1/stream", "/"] {
            let (text, closed) = try h.exchange(Self.get(path, "Origin: http://evil.example\r\n"))
            let r = try #require(Response(Array(text.utf8)))
            #expect(r.status == 403, "\(path)")
            #expect(!closed, "a refusal is not a reason to drop a keep-alive connection")
            Self.expectSecurityHeaders(r)
        }
        #expect(h.server.streams == 0)
        let (ok, _) = try h.exchange(Self.get("/api/v1/snapshot", "Origin: http://127.0.0.1:7998\r\n"))
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    /// DNS rebinding: a page whose own name now resolves to the tile reads
    /// nothing, not even the page, though its Origin matches its Host.
    @Test func aNameTheTileDoesNotAnswerToGets403OnEveryPath() throws {
        let h = try GuiHarness(allowedHosts: ["Gui.Example"])
        for path in ["/", "/app.js", "/api/v1/snapshot", "/api/v1/stream", "/nope"] {
            let request = "GET \(path) HTTP/1.1\r\nHost: attacker.example:7998\r\nOrigin: http://attacker.example:7998\r\n\r\n"
            let (text, closed) = try h.exchange(request)
            let r = try #require(Response(Array(text.utf8)), "\(path)")
            #expect(r.status == 403, "\(path)")
            #expect(String(decoding: r.body, as: UTF8.self).contains("gui_allowed_hosts"))
            #expect(!closed, "a refusal is not a reason to drop a keep-alive connection")
            Self.expectSecurityHeaders(r)
        }
        #expect(h.server.streams == 0)
        #expect(h.server.counters.responses[.s403] == 5)
        for host in ["localhost:7998", "[::1]:7998", "gui.example:7998"] {
            let (text, _) = try h.exchange("GET /api/v1/snapshot HTTP/1.1\r\nHost: \(host)\r\nOrigin: http://\(host)\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(host)")
        }
        let (head, _) = try h.exchange("HEAD / HTTP/1.1\r\nHost: gui.example.attacker.example\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 403 Forbidden\r\n") && head.hasSuffix("\r\n\r\n"), "no body to HEAD")
        let (bare, closed) = try h.exchange("GET / HTTP/1.0\r\n\r\n")
        #expect(bare.hasPrefix("HTTP/1.1 400 Bad Request\r\n") && bare.contains("no Host"))
        #expect(closed)
    }

    @Test(arguments: [
        "POST /api/v1/snapshot HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        "PUT /api/v1/stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    ])
    func nothingButGetAndHead(_ request: String) throws {
        let h = try GuiHarness()
        let (text, closed) = try h.exchange(request)
        #expect(text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(text.contains("\r\nAllow: GET, HEAD\r\n"))
        #expect(closed)
    }

    @Test func malformedAndOversizedRequestsGetAnErrorAndAClose() throws {
        let h = try GuiHarness()
        for (request, status) in [
            ("GET /api/v1/stream HTTP/1.1\r\n\r\n", "400"), ("\u{16}\u{3}\u{1}\u{2}\u{0}\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 9000), "431"),
            ("GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-A: b\r\n", count: 70) + "\r\n", "431"),
        ] {
            let (text, closed) = try h.exchange(request)
            #expect(text.hasPrefix("HTTP/1.1 \(status) "), "\(request.prefix(40).debugDescription)")
            #expect(closed)
        }
    }

    @Test func theSeventeenthStreamClosesTheOldest() throws {
        let h = try GuiHarness()
        var clients: [Int32] = []
        defer { clients.forEach { close($0) } }
        for _ in 0..<(GuiServer.maxStreams + 1) {
            let c = try h.connect()
            clients.append(c)
            h.send(c, Self.get("/api/v1/stream"))
            h.pump(2)
        }
        #expect(h.server.streams == GuiServer.maxStreams)
        #expect(h.server.counters.streamsEvicted == 1)
        #expect(h.receive(clients[0]).closed, "the oldest is gone")
        h.server.update(now: Clock.monotonicNanos())
        for c in clients.dropFirst() {
            let (bytes, closed) = h.receive(c, rounds: 2)
            #expect(!closed)
            #expect(String(decoding: bytes, as: UTF8.self).components(separatedBy: "event: snapshot\n").count == 3, "two events")
        }
        // And the page's other requests still get slots of their own.
        let (text, _) = try h.exchange(Self.get("/api/v1/snapshot"))
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test func aStreamAWholeSnapshotBehindIsClosed() throws {
        let h = try GuiHarness()
        let slow = try h.connect(receiveBuffer: 2048)
        defer { close(slow) }
        let live = try h.connect()
        defer { close(live) }
        h.send(slow, Self.get("/api/v1/stream"))
        h.send(live, Self.get("/api/v1/stream"))
        h.pump(3)
        #expect(h.server.streams == 2)
        // The slow one never reads: the kernel's buffers fill, a snapshot
        // stays unsent, and the next one closes it.
        var rounds = 0
        let sink = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { sink.deallocate() }
        while h.server.counters.streamsClosedSlow == 0 && rounds < 200_000 {
            h.server.update(now: Clock.monotonicNanos())
            h.server.poll(timeoutNanos: 0)
            while recv(live, sink, 1 << 20, Int32(MSG_DONTWAIT)) > 0 {}
            rounds += 1
        }
        #expect(h.server.counters.streamsClosedSlow == 1, "after \(rounds) snapshots")
        #expect(h.server.streams == 1, "the live one stays")
        h.server.update(now: Clock.monotonicNanos())
        #expect(String(decoding: h.receive(live, rounds: 2).bytes, as: UTF8.self).contains("event: snapshot\n"))
    }

    @Test func idleConnectionsTimeOutButStreamsDoNot() throws {
        let h = try GuiHarness(requestTimeoutNanos: 50_000_000)
        let idle = try h.connect()
        defer { close(idle) }
        let stream = try h.connect()
        defer { close(stream) }
        h.send(stream, Self.get("/api/v1/stream"))
        h.pump(3)
        #expect(h.server.active == 2)
        h.server.expire(now: Clock.monotonicNanos() + 100_000_000)
        #expect(h.server.active == 1)
        #expect(h.server.streams == 1)
        #expect(h.server.table.counts.timedOut == 1)
    }

    @Test func aFullTableMakesRoomWithoutClosingAStream() throws {
        let h = try GuiHarness()
        var clients: [Int32] = []
        defer { clients.forEach { close($0) } }
        let stream = try h.connect()
        clients.append(stream)
        h.send(stream, Self.get("/api/v1/stream"))
        h.pump(2)
        for _ in 0..<(GuiServer.maxConnections + 4) {
            clients.append(try h.connect())
            h.pump(1)
        }
        #expect(h.server.active == GuiServer.maxConnections)
        #expect(h.server.table.counts.evicted >= 4)
        #expect(h.server.streams == 1)
        #expect(!h.receive(stream, rounds: 2).closed)
    }
}
