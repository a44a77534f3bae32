import Testing

@testable import MetricTile

struct HTTPRequestParserTests {
    func parse(_ s: String) -> HTTPParseResult {
        Array(s.utf8).withUnsafeBytes { HTTPRequestParser.parse($0) }
    }

    func head(_ s: String) throws -> (HTTPRequestHead, String) {
        let bytes = Array(s.utf8)
        guard case .complete(let h) = bytes.withUnsafeBytes({ HTTPRequestParser.parse($0) }) else {
            Issue.record("not complete: \(s.debugDescription)")
            throw CancellationError()
        }
        return (h, String(decoding: bytes[h.path], as: UTF8.self))
    }

    @Test func parsesWhatPrometheusSends() throws {
        let (h, path) = try head("""
            GET /metrics?x=1 HTTP/1.1\r
            Host: 127.0.0.1:7999\r
            User-Agent: Prometheus/2.45.0\r
            Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r
            Accept-Encoding: gzip\r
            X-Prometheus-Scrape-Timeout-Seconds: 10\r
            \r

            """)
        #expect(h.method == .get)
        #expect(path == "/metrics")
        #expect(h.minorVersion == 1)
        #expect(h.keepAlive)
        #expect(h.wantsOpenMetrics)
        #expect(h.acceptsGzip)
    }

    @Test func parsesCurl() throws {
        let (h, path) = try head("HEAD /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
        #expect(h.method == .head && path == "/metrics" && !h.wantsOpenMetrics && !h.acceptsGzip)
    }

    @Test func connectionSemantics() throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").0.keepAlive == false)
        #expect(try head("GET / HTTP/1.0\r\n\r\n").0.keepAlive == false)
        #expect(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").0.keepAlive == true)
        #expect(try head("GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, close\r\n\r\n").0.keepAlive == false)
        #expect(try head("GET / HTTP/1.1\r\nhOsT: x\r\nAccept-Encoding: br, gzip;q=0\r\n\r\n").0.acceptsGzip == false)
        #expect(try head("GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: deflate, GZIP;q=0.5\r\n\r\n").0.acceptsGzip)
    }

    @Test func waitsForTheBlankLine() {
        #expect(parse("") == .incomplete)
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r") == .incomplete)
    }

    @Test func reportsTheHeadLengthSoPipelinedBytesRemain() throws {
        let one = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        let (h, _) = try head(one + "GET /other HTTP/1.1\r\n")
        #expect(h.length == one.utf8.count)
    }

    static let invalid: [String] = [
        "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",          // two blanks
        " GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",           // leading blank
        "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",             // not an absolute path
        "GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",    // absolute form
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",                   // HTTP/2 preface
        "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n",
        "GET /metrics http/1.1\r\nHost: x\r\n\r\n",
        "GET /metrics HTTP/1.1\nHost: x\r\n\r\n",             // bare LF
        "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",          // blank before colon
        "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", // obs-fold
        "GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /metrics HTTP/1.1\r\n\r\n",                      // no Host in 1.1
        "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\u{1}y\r\n\r\n",
        "G\u{0}T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /met\u{7F}rics HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\n\r\n",
    ]

    @Test(arguments: invalid)
    func rejects(_ request: String) {
        guard case .invalid = parse(request) else {
            Issue.record("accepted: \(request.debugDescription)")
            return
        }
    }

    @Test func limitsTheHeaderCount() {
        let many = (0...HTTPRequestParser.maxHeaders).map { "X-\($0): y\r\n" }.joined()
        #expect(parse("GET / HTTP/1.1\r\nHost: x\r\n" + many + "\r\n") == .tooManyHeaders)
    }

    @Test func acceptsAnEmptyContentLength() throws {
        let (h, _) = try head("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n")
        #expect(h.method == .get)
    }
}
