#if canImport(Glibc)
import Glibc
#endif
import CZlib
import Testing

@testable import MetricTile
@testable import Shared

/// One response, split into its head (lowercased header names) and body bytes.
struct RawResponse {
    let status: String
    let headers: [String: String]
    let body: [UInt8]

    init?(_ text: String) { self.init(Array(text.utf8)) }

    init?(_ bytes: [UInt8]) {
        guard
            let split = (0..<max(0, bytes.count - 3)).first(where: {
                bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
            })
        else { return nil }
        let head = String(decoding: bytes[0..<split], as: UTF8.self).replacing("\r\n", with: "\n").split(separator: "\n")
        status = String(head[0])
        var h: [String: String] = [:]
        for line in head.dropFirst() {
            guard let c = line.firstIndex(of: ":") else { continue }
            h[line[..<c].lowercased()] = String(line[line.index(after: c)...]).trimmingWhitespace
        }
        headers = h
        body = Array(bytes[(split + 4)...])
    }
}

func gunzip(_ data: [UInt8]) -> [UInt8]? {
    var s = z_stream()
    guard czlib_inflate_init_gzip(&s) == Z_OK else { return nil }
    defer { inflateEnd(&s) }
    var out = [UInt8](repeating: 0, count: 1 << 24)
    var input = data
    let rc = input.withUnsafeMutableBytes { inp in
        out.withUnsafeMutableBytes { o -> Int32 in
            s.next_in = inp.baseAddress!.assumingMemoryBound(to: Bytef.self)
            s.avail_in = uInt(inp.count)
            s.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
            s.avail_out = uInt(o.count)
            return inflate(&s, Z_FINISH)
        }
    }
    guard rc == Z_STREAM_END else { return nil }
    return Array(out[0..<Int(s.total_out)])
}

@Suite(.serialized) struct MetricsServerFeatureTests {
    func exchange(_ h: ServerHarness, _ request: String) throws -> (RawResponse, Bool) {
        let c = try h.connect()
        defer { close(c) }
        h.send(c, request)
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var closed = false
        for _ in 0..<100 {
            h.pump(1)
            let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 { closed = true; break }
            if n > 0 { bytes += buf[0..<n] }
            if let r = RawResponse(bytes), let len = Int(r.headers["content-length"] ?? ""), r.body.count >= len,
                !request.hasPrefix("HEAD") || r.body.isEmpty, r.body.count == len || request.hasPrefix("HEAD")
            {
                return (r, closed)
            }
        }
        guard let r = RawResponse(bytes) else { throw CancellationError() }
        return (r, closed)
    }

    @Test func openMetricsWhenAsked() throws {
        let h = try ServerHarness()
        let (r, _) = try exchange(h, "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n")
        #expect(r.status == "HTTP/1.1 200 OK")
        #expect(r.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        let text = String(decoding: r.body, as: UTF8.self)
        #expect(text.hasSuffix("# EOF\n"))
        #expect(text.contains("# TYPE demo_things counter\n"))
        #expect(text.contains("demo_things_total{kind=\"demo\",kind_id=\"0\"} 7\n"))
        #expect(text.contains("# TYPE tile_loop_duration_seconds histogram\n# UNIT tile_loop_duration_seconds seconds\n"))
        #expect(!text.contains("# TYPE demo_things_total"))
    }

    @Test func gzipWhenAccepted() throws {
        let h = try ServerHarness(tiles: 50)
        let (plain, _) = try exchange(h, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        for accept in ["gzip", "br, gzip;q=0.8", "deflate, gzip"] {
            let (r, _) = try exchange(h, "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: \(accept)\r\n\r\n")
            #expect(r.headers["content-encoding"] == "gzip", "\(accept)")
            #expect(r.body.count < plain.body.count / 5, "compressed: \(r.body.count) of \(plain.body.count)")
            #expect(gunzip(r.body) == plain.body)
        }
        let (identity, _) = try exchange(h, "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0, br\r\n\r\n")
        #expect(identity.headers["content-encoding"] == nil)
        // Both at once: OpenMetrics, gzipped.
        let (both, _) = try exchange(
            h, "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept: application/openmetrics-text\r\nAccept-Encoding: gzip\r\n\r\n")
        #expect(String(decoding: gunzip(both.body) ?? [], as: UTF8.self).hasSuffix("# EOF\n"))
    }

    @Test func healthzNamesStaleAndBootingTiles() throws {
        let h = try ServerHarness(tiles: 3)
        let (ok, _) = try exchange(h, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(ok.status == "HTTP/1.1 200 OK")
        #expect(String(decoding: ok.body, as: UTF8.self) == "ok: 3 tiles heartbeating within 1000 ms\n")
        h.setHealth(1, status: 1, heartbeatAgeNanos: 3_200_000_000)
        h.setHealth(2, status: 0, heartbeatAgeNanos: 0)
        let (bad, _) = try exchange(h, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(bad.status == "HTTP/1.1 503 Service Unavailable")
        #expect(String(decoding: bad.body, as: UTF8.self) == "stale: demo:1 (last heartbeat 3.2 s ago); booting: demo:2\n")
        let (head, _) = try exchange(h, "HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(head.status == "HTTP/1.1 503 Service Unavailable" && head.body.isEmpty)
        #expect(h.server.counters.responses[ResponseStatus.s503.rawValue] == 2)
    }

    @Test func aTrickleOrIdleConnectionIsClosedAfterTheTimeout() throws {
        let h = try ServerHarness(requestTimeoutNanos: 50_000_000)
        let trickle = try h.connect(), idle = try h.connect()
        defer { close(trickle); close(idle) }
        h.pump(2)
        for byte in "GET /metrics HTTP/1.1\r\n".utf8.prefix(12) {
            h.send(trickle, String(UnicodeScalar(byte)))
            h.pump(1)
            usleep(8_000)
            h.server.expire(now: Clock.monotonicNanos())
        }
        #expect(h.server.active == 0, "both closed: the trickle never completed a request in time")
        #expect(h.server.table.counts.timedOut == 2)
    }

    @Test func everyResponseHasAContentLength() throws {
        let h = try ServerHarness()
        for request in [
            "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", "GET /x HTTP/1.1\r\nHost: t\r\n\r\n",
            "PUT /metrics HTTP/1.1\r\nHost: t\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody",
        ] {
            let (r, _) = try exchange(h, request)
            #expect(r.headers["content-length"] != nil, "\(request)")
        }
    }
}
