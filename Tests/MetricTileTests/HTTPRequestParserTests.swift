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
        let (h, path) = try head(
            """
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
        "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",  // two blanks
        " GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",  // leading blank
        "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",  // not an absolute path
        "GET ftp://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",  // not an http URI
        "GET http:///metrics HTTP/1.1\r\nHost: x\r\n\r\n",  // absolute form without a host
        "GET http://u@x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",  // userinfo
        "GET http://x:99999/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  // HTTP/2 preface
        "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n",
        "GET /metrics http/1.1\r\nHost: x\r\n\r\n",
        "GET /metrics HTTP/1.1\rHost: x\r\n\r\n",  // bare CR
        "GET /metrics HTTP/1.1\r\nHost: x\ry\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a, b\r\n\r\n",  // a list of hosts
        "GET /metrics HTTP/1.1\r\nHost: a,b\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: user@x\r\n\r\n",  // userinfo
        "GET /metrics HTTP/1.1\r\nHost: x/metrics\r\n\r\n",  // a path
        "GET /metrics HTTP/1.1\r\nHost: x y\r\n\r\n",  // a blank
        "GET /metrics HTTP/1.1\r\nHost: x:port\r\n\r\n",  // a bad port
        "GET /metrics HTTP/1.1\r\nHost: x:65536\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x:123456\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: :80\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: [::1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: []\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x%zz\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",  // blank before colon
        "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  // obs-fold
        "GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /metrics HTTP/1.1\r\n\r\n",  // no Host in 1.1
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

    @Test func acceptsBareLFAsALineEnd() throws {
        let lf = "GET /metrics HTTP/1.1\nHost: x\nAccept-Encoding: gzip\n\n"
        let (h, path) = try head(lf + "GET /next")
        #expect(h.method == .get && path == "/metrics" && h.acceptsGzip && h.length == lf.utf8.count)
        // Mixed, as a hand-typed request may be.
        let (mixed, _) = try head("GET /metrics HTTP/1.1\r\nHost: x\n\r\n")
        #expect(mixed.length == 33)
        #expect(parse("GET /metrics HTTP/1.1\nHost: x\n") == .incomplete)
    }

    @Test(arguments: [
        ("GET http://127.0.0.1:7999/metrics HTTP/1.1\r\nHost: 127.0.0.1:7999\r\n\r\n", "/metrics"),
        ("GET HTTPS://[::1]:7999/healthz?x=1 HTTP/1.1\r\nHost: [::1]:7999\r\n\r\n", "/healthz"),
        ("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", ""),
        ("GET http://example.com?q HTTP/1.0\r\n\r\n", ""),
    ])
    func acceptsAbsoluteFormTargets(_ request: String, _ path: String) throws {
        let (_, p) = try head(request)
        #expect(p == path)
    }

    @Test(arguments: ["x", "127.0.0.1:7999", "[::1]", "[::1]:80", "my-host.example:8080", "x:", "a%41b", "h!$&'()*+;=", ""])
    func acceptsHosts(_ host: String) throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n").0.method == .get)
    }

    @Test(arguments: [
        (
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,"
                + "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", true
        ),
        ("application/openmetrics-text", true),
        ("application/openmetrics-text;q=0", false),
        ("application/openmetrics-text; q=0.000", false),
        ("application/openmetrics-text;q=0.5, text/plain", false),
        ("text/plain;q=0.5, application/openmetrics-text;q=0.5", true),
        ("text/plain;q=0, application/openmetrics-text;q=0.001", true),
        ("*/*", false),
        ("application/*", false),
        ("application/openmetrics-text;q=2", false),  // malformed q: the element is ignored
        ("application/openmetrics-text;q=1.5", false),
        ("application/openmetrics-text;q=0.12345", false),
        ("APPLICATION/OPENMETRICS-TEXT;Q=1.000", true),
    ])
    func honoursAcceptQValues(_ accept: String, _ openMetrics: Bool) throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: x\r\nAccept: \(accept)\r\n\r\n").0.wantsOpenMetrics == openMetrics)
    }

    @Test(arguments: [
        ("gzip", true), ("gzip;q=0", false), ("x-gzip", true), ("*", true), ("*;q=0", false), ("identity", false),
        ("*, gzip;q=0", false), ("br;q=1, *;q=0.1", true), ("gzip;q=0.001", true), ("gzip;q=x", false),
    ])
    func honoursAcceptEncodingQValues(_ encoding: String, _ gzip: Bool) throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: \(encoding)\r\n\r\n").0.acceptsGzip == gzip)
    }

    @Test func knowsAHeadRequestBeforeItIsComplete() {
        #expect(Array("HEAD /x".utf8).withUnsafeBytes { HTTPRequestParser.startsWithHead($0) })
        #expect(!Array("HEADER /x".utf8).withUnsafeBytes { HTTPRequestParser.startsWithHead($0) })
        #expect(!Array("GET /x".utf8).withUnsafeBytes { HTTPRequestParser.startsWithHead($0) })
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
