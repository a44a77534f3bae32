import MetricTile

/// What the gui tile makes of a request head `HTTPRequestParser` accepted:
/// where it goes, and what of its headers the parser does not keep (the
/// name it was sent to, the origin it comes from, a WebSocket upgrade, the
/// entity tags it holds). A pure function over bytes (no I/O, no
/// allocation), fuzzed with the parser (`fuzz/Sources/FuzzGuiRequest`).
package struct GuiRequest: Equatable, Sendable {
    package enum Route: Equatable, Sendable {
        /// One of the page's files, by its place in the asset table.
        case asset(Int)
        case snapshot
        case stream
        case notFound
    }

    /// What the `Host` header names (`allowedHost`).
    package enum Host: Equatable, Sendable {
        /// An IP address, `localhost`, or a name of `gui_allowed_hosts`.
        case allowed
        /// No `Host` header (HTTP/1.0; the parser refuses HTTP/1.1
        /// without one): answered 400, whatever the path.
        case missing
        /// Any other name, or an empty value: answered 403, whatever the
        /// path, the page included (DNS rebinding).
        case refused
    }

    package var route: Route
    package var host = Host.allowed
    /// An `Origin` other than the request's own `Host` (another host or
    /// port, `null`, malformed, or several), or a `Sec-Fetch-Site` that
    /// says another site asks for the API: answered 403.
    package var crossOrigin = false
    /// `Upgrade: websocket`: answered 400, and the connection closed.
    package var websocketUpgrade = false
    /// The `If-None-Match` value, if any (bytes of the buffer).
    package var ifNoneMatch: Range<Int>? = nil

    package static let snapshotPath: StaticString = "/api/v1/snapshot"
    package static let streamPath: StaticString = "/api/v1/stream"

    /// Classifies the request `head` parsed from `buf`. `assetPaths` are
    /// the paths the page's files are served at, in table order;
    /// `allowedHosts` the names of `gui_allowed_hosts`, in lowercase.
    package static func classify(
        _ buf: UnsafeRawBufferPointer, _ head: HTTPRequestHead, assetPaths: [[UInt8]], allowedHosts: [[UInt8]]
    ) -> GuiRequest {
        let path = UnsafeRawBufferPointer(rebasing: buf[head.path.clamped(to: 0..<buf.count)])
        var route = Route.notFound
        if path.isEmpty {
            // An absolute-form target without a path means "/".
            for i in 0..<assetPaths.count where assetPaths[i].count == 1 && assetPaths[i][0] == UInt8(ascii: "/") {
                route = .asset(i)
            }
        } else if equals(path, snapshotPath) {
            route = .snapshot
        } else if equals(path, streamPath) {
            route = .stream
        } else {
            for i in 0..<assetPaths.count where same(path, assetPaths[i]) {
                route = .asset(i)
                break
            }
        }
        var out = GuiRequest(route: route)

        let c = HTTPRequestParser.Cursor(buf: buf, at: 0, end: min(head.length, buf.count))
        var host: Range<Int>? = nil
        var origin: Range<Int>? = nil
        var origins = 0
        var crossSite = false
        var fields = HTTPHeaderFields(buf, length: head.length)
        while let (name, value) = fields.next() {
            if c.nameIs(name, "host") {
                host = value
            } else if c.nameIs(name, "origin") {
                origin = value
                origins += 1
            } else if c.nameIs(name, "upgrade") {
                if c.containsToken(value, "websocket") { out.websocketUpgrade = true }
            } else if c.nameIs(name, "if-none-match") {
                out.ifNoneMatch = value
            } else if c.nameIs(name, "sec-fetch-site") {
                // Fetch Metadata: a browser says who asks. Only the page
                // itself ("same-origin") or the user ("none") reads the API.
                crossSite = c.nameIs(value, "cross-site") || c.nameIs(value, "same-site")
            }
        }
        if let host {
            out.host = allowedHost(buf, host, allowedHosts) ? .allowed : .refused
        } else {
            out.host = .missing
        }
        if origins > 1 {
            out.crossOrigin = true
        } else if let origin {
            out.crossOrigin = !sameOrigin(buf, origin: origin, host: host)
        }
        if crossSite, route == .snapshot || route == .stream { out.crossOrigin = true }
        return out
    }

    /// Whether a `Host` value (one the parser accepted: uri-host[:port],
    /// or empty) names the tile as no other site can: an IP address (IPv4
    /// dotted, or IPv6 in brackets), `localhost`, or one of `allowed`
    /// (lowercase); any port. Why: a web page can make a browser send its
    /// own site's name here, by pointing that name at this address once
    /// the page is loaded (DNS rebinding); its requests are then
    /// same-origin, `Origin` and `Host` agree, and only the name tells
    /// them apart. A browser never sends an address or `localhost` for a
    /// name it resolved.
    package static func allowedHost(_ buf: UnsafeRawBufferPointer, _ host: Range<Int>, _ allowed: [[UInt8]]) -> Bool {
        let r = host.clamped(to: 0..<buf.count)
        guard !r.isEmpty else { return false }
        // The name: through the bracket of an IPv6 literal, else up to the
        // port's colon.
        var end = r.lowerBound
        if buf[end] == UInt8(ascii: "[") {
            while end < r.upperBound, buf[end] != UInt8(ascii: "]") { end += 1 }
            end = min(end + 1, r.upperBound)
        } else {
            while end < r.upperBound, buf[end] != UInt8(ascii: ":") { end += 1 }
        }
        let name = UnsafeRawBufferPointer(rebasing: buf[r.lowerBound..<end])
        if isIPv4(name) || isIPv6Literal(name) || sameIgnoringCase(name, localhost) { return true }
        // An index loop: `for a in allowed` allocates per name in a debug build.
        for i in 0..<allowed.count where sameIgnoringCase(name, allowed[i]) { return true }
        return false
    }

    static let localhost: StaticString = "localhost"

    /// Four decimal numbers of 1 to 3 digits, each at most 255, joined by
    /// dots (what a browser sends for an IPv4 host, WHATWG URL §3.5).
    static func isIPv4(_ b: UnsafeRawBufferPointer) -> Bool {
        var parts = 0
        var value = 0
        var digits = 0
        for i in 0...b.count {
            if i == b.count || b[i] == UInt8(ascii: ".") {
                guard digits > 0, value <= 255 else { return false }
                parts += 1
                value = 0
                digits = 0
                continue
            }
            guard b[i] >= 0x30, b[i] <= 0x39, digits < 3 else { return false }
            value = value * 10 + Int(b[i] - 0x30)
            digits += 1
        }
        return parts == 4
    }

    /// `[`, hex digits, colons (two at least) and dots, `]`: an IPv6
    /// address in brackets (RFC 3986 §3.2.2), whatever its exact form; no
    /// zone. A browser resolves no name of this shape.
    static func isIPv6Literal(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 4, b[0] == UInt8(ascii: "["), b[b.count - 1] == UInt8(ascii: "]") else { return false }
        var colons = 0
        for i in 1..<(b.count - 1) {
            let c = b[i]
            if c == UInt8(ascii: ":") {
                colons += 1
                continue
            }
            let hex = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "f"))
            guard hex || c == UInt8(ascii: ".") else { return false }
        }
        return colons >= 2
    }

    static func sameIgnoringCase(_ a: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        sameIgnoringCase(a, UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    static func sameIgnoringCase(_ a: UnsafeRawBufferPointer, _ lower: [UInt8]) -> Bool {
        lower.withUnsafeBytes { sameIgnoringCase(a, $0) }
    }

    /// Byte for byte, ASCII letters in either case; `lower` is lowercase.
    static func sameIgnoringCase(_ a: UnsafeRawBufferPointer, _ lower: UnsafeRawBufferPointer) -> Bool {
        guard a.count == lower.count else { return false }
        for i in 0..<a.count where HTTPRequestParser.Cursor.lower(a[i]) != lower[i] { return false }
        return true
    }

    /// Whether the `Origin` value (RFC 6454 §7: `scheme "://" host [ ":"
    /// port ]`, or `null`) names the host and port the request was sent to
    /// (its `Host`). Hosts compare without case; a port left out is the
    /// scheme's default (80, 443), and a `Host` without a port matches
    /// either default (the tile may sit behind a TLS-terminating proxy).
    /// No `Host` (HTTP/1.0) cannot be compared: not the same origin.
    package static func sameOrigin(_ buf: UnsafeRawBufferPointer, origin: Range<Int>, host: Range<Int>?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        let c = HTTPRequestParser.Cursor(buf: buf, at: 0, end: buf.count)
        // The scheme: http or https.
        guard let authority = c.httpSchemeEnd(origin) else { return false }
        let defaultPort = authority - origin.lowerBound == "https://".utf8.count ? 443 : 80
        let i = authority
        let originAuthority = i..<origin.upperBound
        guard c.isHost(originAuthority), c.isHost(host) else { return false }
        let (originName, originPort) = splitPort(buf, originAuthority)
        let (hostName, hostPort) = splitPort(buf, host)
        guard originName.count == hostName.count else { return false }
        for k in 0..<originName.count
        where HTTPRequestParser.Cursor.lower(buf[originName.lowerBound + k])
            != HTTPRequestParser.Cursor.lower(buf[hostName.lowerBound + k])
        {
            return false
        }
        switch (originPort, hostPort) {
        case (let o?, let h?): return o == h
        case (let o?, nil): return o == defaultPort
        case (nil, let h?): return h == defaultPort
        case (nil, nil): return true
        }
    }

    /// A `host[:port]` the parser's `isHost` accepted, as its host and its
    /// port (nil when there is none).
    static func splitPort(_ buf: UnsafeRawBufferPointer, _ r: Range<Int>) -> (Range<Int>, Int?) {
        var i = r.upperBound
        var port = 0
        var scale = 1
        while i > r.lowerBound, buf[i - 1] >= 0x30, buf[i - 1] <= 0x39, scale <= 100_000 {
            port += Int(buf[i - 1] - 0x30) * scale
            scale *= 10
            i -= 1
        }
        guard i > r.lowerBound, i < r.upperBound, buf[i - 1] == UInt8(ascii: ":") else { return (r, nil) }
        return (r.lowerBound..<(i - 1), port)
    }

    /// Whether an `If-None-Match` value (RFC 9110 §13.1.2: `*`, or a list
    /// of entity tags) matches `etag` (a strong tag, with its quotes) by the
    /// weak comparison that header uses: `W/"x"` matches `"x"`. A malformed
    /// list matches nothing from where it goes wrong (the response is then
    /// sent whole, which is always correct).
    package static func noneMatch(_ buf: UnsafeRawBufferPointer, _ value: Range<Int>, etag: UnsafeRawBufferPointer) -> Bool {
        var i = value.lowerBound
        let end = min(value.upperBound, buf.count)
        while i < end {
            while i < end, buf[i] == 0x20 || buf[i] == 0x09 || buf[i] == UInt8(ascii: ",") { i += 1 }
            guard i < end else { return false }
            if buf[i] == UInt8(ascii: "*") { return true }
            if buf[i] == UInt8(ascii: "W"), i + 1 < end, buf[i + 1] == UInt8(ascii: "/") { i += 2 }
            guard i < end, buf[i] == UInt8(ascii: "\"") else { return false }
            let start = i
            i += 1
            while i < end, buf[i] != UInt8(ascii: "\"") { i += 1 }
            guard i < end else { return false }
            i += 1
            if same(UnsafeRawBufferPointer(rebasing: buf[start..<i]), etag) { return true }
        }
        return false
    }

    static func equals(_ bytes: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        same(bytes, UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Byte for byte, by hand: the generic `elementsEqual` allocates an
    /// iterator in a debug build, and a request allocates nothing.
    static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }

    static func same(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { same(a, $0) }
    }
}
