/// A strict, bounded HTTP/1.x request-head parser: a pure function over
/// bytes (no I/O, no allocation), so it can be fuzzed on its own. It accepts
/// what curl, Prometheus, proxies and load-balancer health checks send and
/// rejects everything else (RFC 9112 §2-§5). Its one leniency is the one
/// RFC 9112 §2.2 allows: a bare LF ends a line as CRLF does (a bare CR is
/// an error), so a client that sends LF alone is answered, not left waiting.
package struct HTTPRequestHead: Equatable, Sendable {
    package enum Method: Equatable, Sendable { case get, head, other }

    package var method: Method
    /// Byte range of the path (the target up to `?`, after the scheme and
    /// authority of an absolute-form target). Empty only for an absolute
    /// form without a path, which means "/".
    package var path: Range<Int>
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    package var minorVersion: Int
    /// Whether the connection stays open after the response.
    package var keepAlive: Bool
    /// `Accept` lists application/openmetrics-text with a q-value above 0
    /// and at least that of text/plain.
    package var wantsOpenMetrics: Bool
    /// `Accept-Encoding` allows gzip (or x-gzip, or `*`) with a q-value above 0.
    package var acceptsGzip: Bool
    /// Bytes of the head, through the blank line.
    package var length: Int
}

package enum HTTPParseResult: Equatable, Sendable {
    /// No blank line yet: read more.
    case incomplete
    case complete(HTTPRequestHead)
    /// Answer 400 and close. The reason is for tests and the fuzz harness;
    /// the server does not log it: any client could fill the log with them,
    /// and the tile's log lines are rate-limited by the supervisor, so a
    /// flood of them would stall the tile itself.
    case invalid(String)
    /// Answer 431 and close: too many header lines.
    case tooManyHeaders
}

package enum HTTPRequestParser {
    package static let maxHeaders = 64

    package static func parse(_ buf: UnsafeRawBufferPointer) -> HTTPParseResult {
        guard let end = headEnd(buf) else { return .incomplete }
        var p = Cursor(buf: buf, at: 0, end: end)

        // request-line = method SP request-target SP HTTP-version CRLF
        let methodStart = p.at
        while p.at < end, isTchar(buf[p.at]) { p.at += 1 }
        let methodLen = p.at - methodStart
        guard methodLen > 0, methodLen <= 32, p.take(0x20) else { return .invalid("malformed method") }
        let method: HTTPRequestHead.Method =
            p.equals(methodStart, "GET") ? .get : p.equals(methodStart, "HEAD") ? .head : .other

        // request-target: origin-form (/path?query), or absolute-form
        // (http://authority/path?query), which RFC 9112 §3.2.2 says a server
        // MUST accept.
        let targetStart = p.at
        while p.at < end, buf[p.at] > 0x20, buf[p.at] < 0x7F { p.at += 1 }
        let targetEnd = p.at
        guard targetEnd > targetStart else { return .invalid("empty request target") }
        var pathStart = targetStart
        if buf[targetStart] != UInt8(ascii: "/") {
            guard let authorityStart = p.httpSchemeEnd(targetStart..<targetEnd) else {
                return .invalid("request target is neither an absolute path nor an http URI")
            }
            pathStart = authorityStart
            while pathStart < targetEnd, buf[pathStart] != UInt8(ascii: "/"), buf[pathStart] != UInt8(ascii: "?") {
                pathStart += 1
            }
            guard pathStart > authorityStart, p.isHost(authorityStart..<pathStart) else {
                return .invalid("request target's authority is not a host[:port]")
            }
        }
        var pathEnd = pathStart
        while pathEnd < targetEnd, buf[pathEnd] != UInt8(ascii: "?") { pathEnd += 1 }
        guard p.take(0x20) else { return .invalid("malformed request line") }
        guard p.at + 8 <= end, p.equals(p.at, "HTTP/1.") else { return .invalid("unsupported HTTP version") }
        p.at += 7
        let minor: Int
        switch buf[p.at] {
        case UInt8(ascii: "0"): minor = 0
        case UInt8(ascii: "1"): minor = 1
        default: return .invalid("unsupported HTTP version")
        }
        p.at += 1
        guard p.lineEnd() else { return .invalid("malformed request line") }

        var keepAlive = minor == 1
        var accept = Negotiation()
        var host = false
        var contentLength: UInt64? = nil
        var headers = 0

        // header-field = field-name ":" OWS field-value OWS CRLF
        while !p.lineEnd() {
            headers += 1
            if headers > maxHeaders { return .tooManyHeaders }
            let nameStart = p.at
            while p.at < end, isTchar(buf[p.at]) { p.at += 1 }
            let nameEnd = p.at
            // No blank before the colon (request smuggling), no obs-fold.
            guard nameEnd > nameStart, p.take(UInt8(ascii: ":")) else { return .invalid("malformed header line") }
            while p.at < end, buf[p.at] == 0x20 || buf[p.at] == 0x09 { p.at += 1 }
            let valueStart = p.at
            while p.at < end, buf[p.at] != 0x0D, buf[p.at] != 0x0A {
                let c = buf[p.at]
                guard c == 0x09 || (c >= 0x20 && c != 0x7F) else { return .invalid("control byte in header value") }
                p.at += 1
            }
            var valueEnd = p.at
            while valueEnd > valueStart, buf[valueEnd - 1] == 0x20 || buf[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            guard p.lineEnd() else { return .invalid("header line not ended by CRLF (a bare CR)") }
            let value = valueStart..<valueEnd

            if p.nameIs(nameStart..<nameEnd, "host") {
                if host { return .invalid("more than one Host header") }
                // RFC 9112 §3.2: a Host that is not uri-host[:port] is a 400.
                // A comma is a list: two Hosts folded into one line.
                guard p.isHost(value) || value.isEmpty else { return .invalid("Host is not a host[:port]") }
                host = true
            } else if p.nameIs(nameStart..<nameEnd, "content-length") {
                guard let n = p.decimal(value) else { return .invalid("malformed Content-Length") }
                if let prior = contentLength, prior != n { return .invalid("conflicting Content-Length headers") }
                contentLength = n
            } else if p.nameIs(nameStart..<nameEnd, "transfer-encoding") {
                return .invalid("request bodies are not accepted (Transfer-Encoding)")
            } else if p.nameIs(nameStart..<nameEnd, "connection") {
                if p.containsToken(value, "close") { keepAlive = false }
                if p.containsToken(value, "keep-alive") && minor == 0 { keepAlive = true }
            } else if p.nameIs(nameStart..<nameEnd, "accept") {
                p.readAccept(value, &accept)
            } else if p.nameIs(nameStart..<nameEnd, "accept-encoding") {
                p.readAcceptEncoding(value, &accept)
            }
        }
        if let n = contentLength, n > 0 { return .invalid("request bodies are not accepted (Content-Length)") }
        if minor == 1 && !host { return .invalid("HTTP/1.1 request without Host") }
        return .complete(
            HTTPRequestHead(
                method: method, path: pathStart..<pathEnd, minorVersion: minor, keepAlive: keepAlive,
                wantsOpenMetrics: accept.openMetrics, acceptsGzip: accept.gzip, length: end))
    }

    /// Whether the bytes start a HEAD request, whatever follows: even an
    /// error answer to HEAD has no body (RFC 9110 §9.3.2).
    package static func startsWithHead(_ buf: UnsafeRawBufferPointer) -> Bool {
        buf.count >= 5 && buf[0] == UInt8(ascii: "H") && buf[1] == UInt8(ascii: "E") && buf[2] == UInt8(ascii: "A")
            && buf[3] == UInt8(ascii: "D") && buf[4] == 0x20
    }

    /// Index just past the first empty line (the head's end), or nil. Lines
    /// end in LF, with or without a CR before it: the head ends at the
    /// first LF that follows LF or LF CR.
    package static func headEnd(_ buf: UnsafeRawBufferPointer) -> Int? {
        var i = 1
        while i < buf.count {
            if buf[i] == 0x0A {
                if buf[i - 1] == 0x0A || (i >= 2 && buf[i - 1] == 0x0D && buf[i - 2] == 0x0A) { return i + 1 }
            }
            i += 1
        }
        return nil
    }

    /// Content negotiation as the request's Accept and Accept-Encoding
    /// lines state it, in thousandths of q (-1: not listed).
    struct Negotiation {
        var openMetricsQ = -1
        var textQ = -1
        var gzipQ = -1
        var anyEncodingQ = -1

        /// OpenMetrics only when asked for by name, acceptable (q > 0), and
        /// not less wanted than the text format; a wildcard alone means text.
        var openMetrics: Bool { openMetricsQ > 0 && openMetricsQ >= textQ }
        var gzip: Bool { gzipQ >= 0 ? gzipQ > 0 : anyEncodingQ > 0 }
    }

    /// RFC 9110 token characters.
    @inline(__always) static func isTchar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// A position in a request head, and the reads the parser makes there
    /// (the gui tile's request classifier makes them too).
    package struct Cursor {
        let buf: UnsafeRawBufferPointer
        var at: Int
        let end: Int

        package init(buf: UnsafeRawBufferPointer, at: Int, end: Int) {
            self.buf = buf
            self.at = at
            self.end = end
        }

        mutating func take(_ c: UInt8) -> Bool {
            guard at < end, buf[at] == c else { return false }
            at += 1
            return true
        }

        /// CRLF, or a bare LF (RFC 9112 §2.2).
        mutating func lineEnd() -> Bool {
            if at < end, buf[at] == 0x0A {
                at += 1
                return true
            }
            guard at + 1 < end, buf[at] == 0x0D, buf[at + 1] == 0x0A else { return false }
            at += 2
            return true
        }

        func equals(_ start: Int, _ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard start + n <= end else { return false }
            let sp = s.utf8Start
            for i in 0..<n where buf[start + i] != sp[i] { return false }
            return true
        }

        @inline(__always) package static func lower(_ c: UInt8) -> UInt8 {
            c >= 0x41 && c <= 0x5A ? c | 0x20 : c
        }

        /// Case-insensitive comparison of a header name with a lowercase literal.
        package func nameIs(_ r: Range<Int>, _ s: StaticString) -> Bool {
            guard r.count == s.utf8CodeUnitCount else { return false }
            let sp = s.utf8Start
            for i in 0..<r.count where Cursor.lower(buf[r.lowerBound + i]) != sp[i] { return false }
            return true
        }

        /// Whether a comma-separated list contains `token` (parameters ignored).
        package func containsToken(_ r: Range<Int>, _ token: StaticString) -> Bool {
            var list = ListElements(r)
            while let (name, _) = list.next(buf) {
                if nameIs(name, token) { return true }
            }
            return false
        }

        /// Accept: the highest q of each format's media range (RFC 9110 §12.5.1).
        func readAccept(_ r: Range<Int>, _ n: inout Negotiation) {
            var list = ListElements(r)
            while let (name, params) = list.next(buf) {
                guard let q = qValue(params) else { continue }
                if nameIs(name, "application/openmetrics-text") { n.openMetricsQ = max(n.openMetricsQ, q) }
                if nameIs(name, "text/plain") { n.textQ = max(n.textQ, q) }
            }
        }

        /// Accept-Encoding: gzip's q (x-gzip is gzip, RFC 9110 §8.4.1.3), and `*`'s.
        func readAcceptEncoding(_ r: Range<Int>, _ n: inout Negotiation) {
            var list = ListElements(r)
            while let (name, params) = list.next(buf) {
                guard let q = qValue(params) else { continue }
                if nameIs(name, "gzip") || nameIs(name, "x-gzip") { n.gzipQ = max(n.gzipQ, q) }
                if nameIs(name, "*") { n.anyEncodingQ = max(n.anyEncodingQ, q) }
            }
        }

        /// The weight among an element's parameters, in thousandths: 1000
        /// when there is none, nil when it is malformed (the element is then
        /// ignored). qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
        func qValue(_ params: Range<Int>) -> Int? {
            var i = params.lowerBound
            while i < params.upperBound {
                // Each parameter: ";" OWS name "=" value.
                guard buf[i] == UInt8(ascii: ";") else { i += 1; continue }
                i += 1
                while i < params.upperBound, buf[i] == 0x20 || buf[i] == 0x09 { i += 1 }
                guard i + 1 < params.upperBound, Cursor.lower(buf[i]) == UInt8(ascii: "q"), buf[i + 1] == UInt8(ascii: "=") else {
                    continue
                }
                var j = i + 2
                var valueEnd = j
                while valueEnd < params.upperBound, buf[valueEnd] != UInt8(ascii: ";"), buf[valueEnd] != 0x20,
                    buf[valueEnd] != 0x09
                { valueEnd += 1 }
                guard j < valueEnd, buf[j] == UInt8(ascii: "0") || buf[j] == UInt8(ascii: "1") else { return nil }
                let one = buf[j] == UInt8(ascii: "1")
                j += 1
                var q = one ? 1000 : 0
                if j < valueEnd {
                    guard buf[j] == UInt8(ascii: "."), valueEnd - j <= 4 else { return nil }
                    var scale = 100
                    j += 1
                    while j < valueEnd {
                        let d = Int(buf[j]) - 0x30
                        guard d >= 0 && d <= 9, !one || d == 0 else { return nil }
                        q += d * scale
                        scale /= 10
                        j += 1
                    }
                }
                return q
            }
            return 1000
        }

        /// After "http://" or "https://" (any case) at the start of `r`, or nil.
        package func httpSchemeEnd(_ r: Range<Int>) -> Int? {
            var i = r.lowerBound
            for c in "http".utf8 {
                guard i < r.upperBound, Cursor.lower(buf[i]) == c else { return nil }
                i += 1
            }
            if i < r.upperBound, Cursor.lower(buf[i]) == UInt8(ascii: "s") { i += 1 }
            for c in "://".utf8 {
                guard i < r.upperBound, buf[i] == c else { return nil }
                i += 1
            }
            return i
        }

        /// uri-host [ ":" port ] (RFC 3986 §3.2.2, RFC 9110 §7.2): an
        /// IP-literal in brackets or a non-empty reg-name (unreserved,
        /// pct-encoded, sub-delims but the comma, which folds two values),
        /// then at most a port of up to 5 digits, at most 65535. No userinfo
        /// ("@"), no path, no blank.
        package func isHost(_ r: Range<Int>) -> Bool {
            var i = r.lowerBound
            guard i < r.upperBound else { return false }
            if buf[i] == UInt8(ascii: "[") {
                i += 1
                let start = i
                while i < r.upperBound, buf[i] != UInt8(ascii: "]") {
                    let c = buf[i]
                    guard
                        isHexDigit(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: ".") || isUnreserved(c)
                            || c == UInt8(ascii: "%") || (isSubDelim(c) && c != UInt8(ascii: ","))
                    else { return false }
                    i += 1
                }
                guard i < r.upperBound, i > start else { return false }
                i += 1
            } else {
                let start = i
                while i < r.upperBound, buf[i] != UInt8(ascii: ":") {
                    let c = buf[i]
                    if c == UInt8(ascii: "%") {
                        guard i + 2 < r.upperBound, isHexDigit(buf[i + 1]), isHexDigit(buf[i + 2]) else { return false }
                        i += 3
                        continue
                    }
                    guard isUnreserved(c) || (isSubDelim(c) && c != UInt8(ascii: ",")) else { return false }
                    i += 1
                }
                guard i > start else { return false }
            }
            guard i < r.upperBound else { return true }
            guard buf[i] == UInt8(ascii: ":") else { return false }
            i += 1
            guard r.upperBound - i <= 5 else { return false }
            var port = 0
            while i < r.upperBound {
                let d = Int(buf[i]) - 0x30
                guard d >= 0 && d <= 9 else { return false }
                port = port * 10 + d
                i += 1
            }
            return port <= 65535
        }

        @inline(__always) func isHexDigit(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (Cursor.lower(c) >= UInt8(ascii: "a") && Cursor.lower(c) <= UInt8(ascii: "f"))
        }

        @inline(__always) func isUnreserved(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (Cursor.lower(c) >= UInt8(ascii: "a") && Cursor.lower(c) <= UInt8(ascii: "z"))
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
        }

        @inline(__always) func isSubDelim(_ c: UInt8) -> Bool {
            switch c {
            case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
                UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
                UInt8(ascii: "="):
                return true
            default:
                return false
            }
        }

        /// The elements of a comma-separated list: each one's name (up to
        /// a blank or ";") and its parameters (from there to the next comma).
        /// An iterator, not a closure: nothing captured, nothing allocated.
        struct ListElements {
            var i: Int
            let end: Int

            init(_ r: Range<Int>) {
                i = r.lowerBound
                end = r.upperBound
            }

            mutating func next(_ buf: UnsafeRawBufferPointer) -> (name: Range<Int>, params: Range<Int>)? {
                while i < end {
                    while i < end, buf[i] == 0x20 || buf[i] == 0x09 || buf[i] == UInt8(ascii: ",") { i += 1 }
                    let start = i
                    while i < end, buf[i] != UInt8(ascii: ","), buf[i] != UInt8(ascii: ";"), buf[i] != 0x20, buf[i] != 0x09 {
                        i += 1
                    }
                    let name = start..<i
                    let paramStart = i
                    while i < end, buf[i] != UInt8(ascii: ",") { i += 1 }
                    if !name.isEmpty { return (name, paramStart..<i) }
                }
                return nil
            }
        }

        /// A decimal number of at most 18 digits, nothing else.
        func decimal(_ r: Range<Int>) -> UInt64? {
            guard !r.isEmpty, r.count <= 18 else { return nil }
            var v: UInt64 = 0
            for i in r {
                let c = buf[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + UInt64(c - 0x30)
            }
            return v
        }
    }
}

/// The header fields of a head `HTTPRequestParser.parse` accepted, in
/// order: each one's name and value (without the blanks around it) as byte
/// ranges of the buffer. An iterator over already-validated bytes (for
/// the headers the parser does not keep: `Origin`, `If-None-Match`, …);
/// on any other bytes it stops early, never reads out of bounds.
package struct HTTPHeaderFields: IteratorProtocol {
    let buf: UnsafeRawBufferPointer
    var at: Int
    let end: Int

    /// The fields of the head in the first `length` bytes of `buf`.
    package init(_ buf: UnsafeRawBufferPointer, length: Int) {
        self.buf = buf
        end = min(length, buf.count)
        at = 0
        // Past the request line.
        while at < end, buf[at] != 0x0A { at += 1 }
        at += 1
    }

    package mutating func next() -> (name: Range<Int>, value: Range<Int>)? {
        guard at < end, buf[at] != 0x0A, buf[at] != 0x0D else { return nil }
        let nameStart = at
        while at < end, buf[at] != UInt8(ascii: ":"), buf[at] != 0x0A { at += 1 }
        guard at < end, buf[at] == UInt8(ascii: ":") else { return nil }
        let name = nameStart..<at
        at += 1
        while at < end, buf[at] == 0x20 || buf[at] == 0x09 { at += 1 }
        let valueStart = at
        while at < end, buf[at] != 0x0D, buf[at] != 0x0A { at += 1 }
        var valueEnd = at
        while valueEnd > valueStart, buf[valueEnd - 1] == 0x20 || buf[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        // The line end: CRLF or a bare LF.
        if at < end, buf[at] == 0x0D { at += 1 }
        if at < end, buf[at] == 0x0A { at += 1 }
        return (name, valueStart..<valueEnd)
    }
}
