/// A strict, bounded HTTP/1.x request-head parser: a pure function over
/// bytes (no I/O, no allocation), so it can be fuzzed on its own. It accepts
/// what curl, Prometheus and load-balancer health checks send and rejects
/// everything else (RFC 9112 §2-§5, with none of the leniencies).
public struct HTTPRequestHead: Equatable, Sendable {
    public enum Method: Equatable, Sendable { case get, head, other }

    public var method: Method
    /// Byte range of the path (the target up to `?`).
    public var path: Range<Int>
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Whether the connection stays open after the response.
    public var keepAlive: Bool
    /// `Accept` names application/openmetrics-text.
    public var wantsOpenMetrics: Bool
    /// `Accept-Encoding` allows gzip.
    public var acceptsGzip: Bool
    /// Bytes of the head, through the blank line.
    public var length: Int
}

public enum HTTPParseResult: Equatable, Sendable {
    /// No blank line yet: read more.
    case incomplete
    case complete(HTTPRequestHead)
    /// Answer 400 and close, for the reason given (logged at debug level).
    case invalid(String)
    /// Answer 431 and close: too many header lines.
    case tooManyHeaders
}

public enum HTTPRequestParser {
    public static let maxHeaders = 64

    public static func parse(_ buf: UnsafeRawBufferPointer) -> HTTPParseResult {
        guard let end = headEnd(buf) else { return .incomplete }
        var p = Cursor(buf: buf, at: 0, end: end)

        // request-line = method SP request-target SP HTTP-version CRLF
        let methodStart = p.at
        while p.at < end, isTchar(buf[p.at]) { p.at += 1 }
        let methodLen = p.at - methodStart
        guard methodLen > 0, methodLen <= 32, p.take(0x20) else { return .invalid("malformed method") }
        let method: HTTPRequestHead.Method =
            p.equals(methodStart, "GET") ? .get : p.equals(methodStart, "HEAD") ? .head : .other

        let targetStart = p.at
        var pathEnd = -1
        while p.at < end, buf[p.at] > 0x20, buf[p.at] < 0x7F {
            if buf[p.at] == UInt8(ascii: "?") && pathEnd < 0 { pathEnd = p.at }
            p.at += 1
        }
        let targetEnd = p.at
        guard targetEnd > targetStart, buf[targetStart] == UInt8(ascii: "/") else {
            return .invalid("request target is not an absolute path")
        }
        if pathEnd < 0 { pathEnd = targetEnd }
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
        guard p.crlf() else { return .invalid("malformed request line") }

        var keepAlive = minor == 1
        var openMetrics = false
        var gzip = false
        var host = false
        var contentLength: UInt64? = nil
        var headers = 0

        // header-field = field-name ":" OWS field-value OWS CRLF
        while !p.crlf() {
            headers += 1
            if headers > maxHeaders { return .tooManyHeaders }
            let nameStart = p.at
            while p.at < end, isTchar(buf[p.at]) { p.at += 1 }
            let nameEnd = p.at
            // No blank before the colon (request smuggling), no obs-fold.
            guard nameEnd > nameStart, p.take(UInt8(ascii: ":")) else { return .invalid("malformed header line") }
            while p.at < end, buf[p.at] == 0x20 || buf[p.at] == 0x09 { p.at += 1 }
            let valueStart = p.at
            while p.at < end, buf[p.at] != 0x0D {
                let c = buf[p.at]
                guard c == 0x09 || (c >= 0x20 && c != 0x7F) else { return .invalid("control byte in header value") }
                p.at += 1
            }
            var valueEnd = p.at
            while valueEnd > valueStart, buf[valueEnd - 1] == 0x20 || buf[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            guard p.crlf() else { return .invalid("header line not ended by CRLF") }
            let value = valueStart..<valueEnd

            if p.nameIs(nameStart..<nameEnd, "host") {
                if host { return .invalid("more than one Host header") }
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
                openMetrics = openMetrics || p.contains(value, "application/openmetrics-text")
            } else if p.nameIs(nameStart..<nameEnd, "accept-encoding") {
                gzip = gzip || p.acceptsToken(value, "gzip")
            }
        }
        if let n = contentLength, n > 0 { return .invalid("request bodies are not accepted (Content-Length)") }
        if minor == 1 && !host { return .invalid("HTTP/1.1 request without Host") }
        return .complete(HTTPRequestHead(
            method: method, path: targetStart..<pathEnd, minorVersion: minor, keepAlive: keepAlive,
            wantsOpenMetrics: openMetrics, acceptsGzip: gzip, length: end))
    }

    /// Index just past the first CRLFCRLF, or nil.
    static func headEnd(_ buf: UnsafeRawBufferPointer) -> Int? {
        var i = 3
        while i < buf.count {
            if buf[i] == 0x0A && buf[i - 1] == 0x0D && buf[i - 2] == 0x0A && buf[i - 3] == 0x0D { return i + 1 }
            i += 1
        }
        return nil
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

    struct Cursor {
        let buf: UnsafeRawBufferPointer
        var at: Int
        let end: Int

        mutating func take(_ c: UInt8) -> Bool {
            guard at < end, buf[at] == c else { return false }
            at += 1
            return true
        }

        mutating func crlf() -> Bool {
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

        @inline(__always) static func lower(_ c: UInt8) -> UInt8 {
            c >= 0x41 && c <= 0x5A ? c | 0x20 : c
        }

        /// Case-insensitive comparison of a header name with a lowercase literal.
        func nameIs(_ r: Range<Int>, _ s: StaticString) -> Bool {
            guard r.count == s.utf8CodeUnitCount else { return false }
            let sp = s.utf8Start
            for i in 0..<r.count where Cursor.lower(buf[r.lowerBound + i]) != sp[i] { return false }
            return true
        }

        /// Case-insensitive substring search.
        func contains(_ r: Range<Int>, _ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard r.count >= n else { return false }
            let sp = s.utf8Start
            outer: for start in r.lowerBound...(r.upperBound - n) {
                for i in 0..<n where Cursor.lower(buf[start + i]) != sp[i] { continue outer }
                return true
            }
            return false
        }

        /// Whether a comma-separated list contains `token` (parameters ignored).
        func containsToken(_ r: Range<Int>, _ token: StaticString) -> Bool {
            forEachElement(r) { name, _ in nameIs(name, token) }
        }

        /// Whether `Accept-Encoding` allows `token`, i.e. lists it without `q=0`.
        func acceptsToken(_ r: Range<Int>, _ token: StaticString) -> Bool {
            forEachElement(r) { name, params in
                guard nameIs(name, token) else { return false }
                // q=0, q=0.0, q=0.00, q=0.000 refuse it.
                var i = params.lowerBound
                while i < params.upperBound {
                    if Cursor.lower(buf[i]) == UInt8(ascii: "q"), i + 2 < params.upperBound + 1,
                       i + 1 < params.upperBound, buf[i + 1] == UInt8(ascii: "=") {
                        var j = i + 2
                        var nonzero = false
                        while j < params.upperBound, buf[j] != UInt8(ascii: ";") {
                            let c = buf[j]
                            if c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") { nonzero = true }
                            j += 1
                        }
                        return nonzero
                    }
                    i += 1
                }
                return true
            }
        }

        /// Calls `body(name, parameters)` for each element of a comma list
        /// until it returns true.
        func forEachElement(_ r: Range<Int>, _ body: (Range<Int>, Range<Int>) -> Bool) -> Bool {
            var i = r.lowerBound
            while i < r.upperBound {
                while i < r.upperBound, buf[i] == 0x20 || buf[i] == 0x09 || buf[i] == UInt8(ascii: ",") { i += 1 }
                let start = i
                while i < r.upperBound, buf[i] != UInt8(ascii: ","), buf[i] != UInt8(ascii: ";"),
                      buf[i] != 0x20, buf[i] != 0x09 { i += 1 }
                let name = start..<i
                let paramStart = i
                while i < r.upperBound, buf[i] != UInt8(ascii: ",") { i += 1 }
                if !name.isEmpty && body(name, paramStart..<i) { return true }
            }
            return false
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
