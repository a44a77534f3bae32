import Testing

@testable import GuiTile
@testable import MetricTile

/// The request classifier: routes, the Host and same-origin rules,
/// WebSocket upgrades and entity tags, over heads the parser accepted.
struct GuiRequestTests {
    static let paths: [[UInt8]] = [Array("/".utf8), Array("/app.css".utf8), Array("/app.js".utf8)]
    /// `gui_allowed_hosts = ["gui.example"]`, as the server holds it.
    static let allowedHosts: [[UInt8]] = [Array("gui.example".utf8)]

    /// Parses and classifies `text`; nil when the parser does not accept it.
    static func classify(_ text: String) -> GuiRequest? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { buf in
            guard case .complete(let head) = HTTPRequestParser.parse(buf) else { return nil }
            return GuiRequest.classify(buf, head, assetPaths: paths, allowedHosts: allowedHosts)
        }
    }

    static func get(_ target: String, _ headers: String = "Host: 127.0.0.1:7998\r\n") -> GuiRequest? {
        classify("GET \(target) HTTP/1.1\r\n\(headers)\r\n")
    }

    @Test(arguments: [
        ("/", GuiRequest.Route.asset(0)), ("/app.css", .asset(1)), ("/app.js", .asset(2)), ("/app.js?v=3", .asset(2)),
        ("/api/v1/snapshot", .snapshot), ("/api/v1/snapshot?x", .snapshot), ("/api/v1/stream", .stream),
        ("http://127.0.0.1:7998", .asset(0)), ("http://127.0.0.1:7998/api/v1/stream", .stream), ("/index.html", .notFound),
        ("/api/v1/snapshot/", .notFound), ("/API/V1/SNAPSHOT", .notFound), ("/app.js/..", .notFound), ("//", .notFound),
        ("/healthz", .notFound), ("/metrics", .notFound), ("/api/v1/stream%00", .notFound),
    ])
    func routes(_ target: String, _ route: GuiRequest.Route) throws {
        let r = try #require(Self.get(target))
        #expect(r.route == route, "\(target)")
        #expect(r.host == .allowed && !r.crossOrigin && !r.websocketUpgrade && r.ifNoneMatch == nil)
    }

    /// DNS rebinding: a page on attacker.example points that name at
    /// 127.0.0.1 once it is loaded; its requests are then same-origin, and
    /// only the name in Host tells them from the user's. A browser sends an
    /// address, or localhost, only when it was given one.
    @Test(arguments: [
        // Addresses and localhost, with a port or not, and the names listed.
        ("127.0.0.1:7998", GuiRequest.Host.allowed), ("127.0.0.1", .allowed), ("10.20.30.255:80", .allowed),
        ("[::1]:7998", .allowed), ("[::1]", .allowed), ("[::ffff:127.0.0.1]:7998", .allowed), ("[2001:DB8::1]", .allowed),
        ("localhost", .allowed), ("LocalHost:7998", .allowed), ("gui.example", .allowed), ("GUI.Example:8080", .allowed),
        // Every other name, and nothing.
        ("attacker.example", .refused), ("attacker.example:7998", .refused), ("127.0.0.1.attacker.example", .refused),
        ("localhost.attacker.example", .refused), ("gui.example.attacker.example", .refused), ("gui.example.", .refused),
        ("xgui.example", .refused), ("localhost.", .refused), ("localhost6", .refused), ("127.0.0.1.", .refused),
        ("1.2.3", .refused), ("1.2.3.4.5", .refused), ("256.0.0.1", .refused), ("1.2.3.1000", .refused),
        ("0x7f.0.0.1", .refused), ("[v1.fe]", .refused), ("[::1%25lo]", .refused), ("", .refused),
    ])
    func onlyAddressesLocalhostAndListedNamesAreAnswered(_ host: String, _ verdict: GuiRequest.Host) throws {
        for target in ["/", "/app.js", "/api/v1/snapshot", "/api/v1/stream", "/nope"] {
            let r = try #require(Self.get(target, "Host: \(host)\r\n"), "Host \(host)")
            #expect(r.host == verdict, "Host \(host), \(target)")
        }
    }

    @Test func aRebindingPageIsRefusedThoughItsOriginMatchesItsHost() throws {
        let h = "Host: attacker.example:7998\r\nOrigin: http://attacker.example:7998\r\nSec-Fetch-Site: same-origin\r\n"
        let r = try #require(Self.get("/api/v1/snapshot", h))
        #expect(!r.crossOrigin, "the same-origin rule alone lets it through")
        #expect(r.host == .refused)
    }

    @Test func aMissingHostIsABadRequest() throws {
        // HTTP/1.1 without Host never gets here: the parser's 400.
        #expect(Self.classify("GET / HTTP/1.1\r\n\r\n") == nil)
        // HTTP/1.0 may leave it out; the gui needs it all the same.
        #expect(try #require(Self.classify("GET / HTTP/1.0\r\n\r\n")).host == .missing)
        #expect(try #require(Self.classify("GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")).host == .allowed)
    }

    @Test(arguments: [
        // The page's own origin, as browsers write it.
        ("127.0.0.1:7998", "http://127.0.0.1:7998", true),
        ("LOCALHOST:7998", "http://localhost:7998", true),
        ("[::1]:7998", "http://[::1]:7998", true),
        ("gui.example", "http://gui.example", true),
        ("gui.example", "https://gui.example", true),
        ("gui.example:80", "http://gui.example", true),
        ("gui.example", "http://gui.example:80", true),
        ("gui.example", "https://gui.example:443", true),
        // Anyone else.
        ("127.0.0.1:7998", "http://127.0.0.1:7999", false),
        ("127.0.0.1:7998", "http://127.0.0.1", false),
        ("127.0.0.1:7998", "http://evil.example:7998", false),
        ("127.0.0.1:7998", "http://127.0.0.1.evil.example:7998", false),
        ("gui.example", "http://gui.example:8080", false),
        ("gui.example", "https://gui.example:80", false),
        ("gui.example:443", "http://gui.example", false),
        ("127.0.0.1:7998", "null", false),
        ("127.0.0.1:7998", "", false),
        ("127.0.0.1:7998", "file://", false),
        ("127.0.0.1:7998", "http://127.0.0.1:7998/", false),
        ("127.0.0.1:7998", "http://user@127.0.0.1:7998", false),
        ("127.0.0.1:7998", "ws://127.0.0.1:7998", false),
        ("127.0.0.1:7998", "http://127.0.0.1:7998, http://127.0.0.1:7998", false),
        ("", "http://127.0.0.1:7998", false),
    ])
    func sameOriginOnly(_ host: String, _ origin: String, _ same: Bool) throws {
        for target in ["/api/v1/snapshot", "/api/v1/stream", "/"] {
            let r = try #require(Self.get(target, "Host: \(host)\r\nOrigin: \(origin)\r\n"))
            #expect(r.crossOrigin == !same, "Host \(host), Origin \(origin)")
        }
    }

    @Test func withoutAnOriginARequestIsTheUsersOwn() throws {
        #expect(try #require(Self.get("/api/v1/snapshot")).crossOrigin == false)
        // HTTP/1.0 without Host: nothing to compare an Origin with.
        #expect(try #require(Self.classify("GET /api/v1/snapshot HTTP/1.0\r\n\r\n")).crossOrigin == false)
        #expect(try #require(Self.classify("GET /api/v1/snapshot HTTP/1.0\r\nOrigin: http://a\r\n\r\n")).crossOrigin)
    }

    @Test func twoOriginsAreRefusedEvenIfBothMatch() throws {
        let h = "Host: 127.0.0.1:7998\r\nOrigin: http://127.0.0.1:7998\r\nOrigin: http://127.0.0.1:7998\r\n"
        #expect(try #require(Self.get("/api/v1/stream", h)).crossOrigin)
    }

    @Test(arguments: [("same-origin", false), ("none", false), ("cross-site", true), ("same-site", true), ("CROSS-SITE", true)])
    func fetchMetadataGuardsTheAPI(_ site: String, _ refused: Bool) throws {
        for target in ["/api/v1/snapshot", "/api/v1/stream"] {
            #expect(try #require(Self.get(target, "Host: h\r\nSec-Fetch-Site: \(site)\r\n")).crossOrigin == refused)
        }
        // A navigation to the page from anywhere is the user's choice.
        #expect(try #require(Self.get("/", "Host: h\r\nSec-Fetch-Site: \(site)\r\n")).crossOrigin == false)
    }

    @Test(arguments: [
        ("Upgrade: websocket\r\nConnection: Upgrade\r\n", true), ("Upgrade: WebSocket\r\n", true),
        ("Upgrade: h2c, websocket\r\n", true), ("Upgrade: h2c\r\n", false), ("Upgrade: websockets\r\n", false),
        ("X-Upgrade: websocket\r\n", false),
    ])
    func websocketUpgrades(_ header: String, _ upgrade: Bool) throws {
        #expect(try #require(Self.get("/api/v1/stream", "Host: h\r\n" + header)).websocketUpgrade == upgrade)
    }

    /// If-None-Match against the tag `"abc"` (weak comparison, RFC 9110 §13.1.2).
    @Test(arguments: [
        ("\"abc\"", true), ("W/\"abc\"", true), ("*", true), ("\"x\", \"abc\"", true), ("\"x\",W/\"abc\"", true),
        ("\"abcd\"", false), ("\"ab\"", false), ("abc", false), ("\"abc", false), ("\"x\" junk \"abc\"", false),
        ("", false), ("W/", false), ("w/\"abc\"", false), ("\"a,b\", \"abc\"", true),
    ])
    func entityTags(_ value: String, _ match: Bool) throws {
        let text = "GET /app.js HTTP/1.1\r\nHost: h\r\nIf-None-Match: \(value)\r\n\r\n"
        let bytes = Array(text.utf8)
        let tag = Array("\"abc\"".utf8)
        let got = bytes.withUnsafeBytes { buf -> Bool? in
            guard case .complete(let head) = HTTPRequestParser.parse(buf),
                let range = GuiRequest.classify(buf, head, assetPaths: Self.paths, allowedHosts: []).ifNoneMatch
            else { return nil }
            return tag.withUnsafeBytes { GuiRequest.noneMatch(buf, range, etag: $0) }
        }
        #expect(got == match, "If-None-Match: \(value)")
    }

    @Test func headerFieldsAreReadInOrderWithTheirBlanksTrimmed() {
        let text = "GET / HTTP/1.1\r\nHost:  a \r\nX-Empty:\r\nX-Tab:\tv\t\nLast: z\r\n\r\n"
        let bytes = Array(text.utf8)
        let fields = bytes.withUnsafeBytes { buf in
            var it = HTTPHeaderFields(buf, length: buf.count)
            var out: [String] = []
            while let (n, v) = it.next() {
                out.append(String(decoding: buf[n], as: UTF8.self) + "=" + String(decoding: buf[v], as: UTF8.self))
            }
            return out
        }
        #expect(fields == ["Host=a", "X-Empty=", "X-Tab=v", "Last=z"])
    }

    @Test(arguments: [
        ("POST / HTTP/1.1\r\n", true), ("DELETE /x HTTP/1.1\r\n", true), ("GET / HTTP/1.1\r\n", false),
        ("HEAD / HTTP/1.1\r\n", false), ("get / HTTP/1.1\r\n", false), ("\u{16}\u{3}\u{1}", false), ("", false),
        ("POST", false),
    ])
    func otherMethodsAreToldApartFromGarbage(_ start: String, _ other: Bool) {
        #expect(Array(start.utf8).withUnsafeBytes { GuiServer.otherMethod($0) } == other, "\(start.debugDescription)")
    }
}
