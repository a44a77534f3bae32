import MetricTile
import Shared

/// Status codes the gui tile answers with, in the order of its
/// `gui_responses_total{status=…}` series.
package enum GuiStatus: Int, MetricLabel {
    case s200, s304, s400, s403, s404, s405, s431, s503
    /// The status code: the case's name without its `s`.
    package var code: String { String(String(describing: self).dropFirst()) }
    package var labelValue: String { code }

    /// The status line's reason phrase (RFC 9110 §15).
    var reason: String {
        switch self {
        case .s200: "OK"
        case .s304: "Not Modified"
        case .s400: "Bad Request"
        case .s403: "Forbidden"
        case .s404: "Not Found"
        case .s405: "Method Not Allowed"
        case .s431: "Request Header Fields Too Large"
        case .s503: "Service Unavailable"
        }
    }
}

/// The parts of every response that never change, built once (at init,
/// before the sandbox). A response head is written into its connection's
/// head buffer as: the prefix (status line and headers, each line ending
/// in CRLF), `Content-Length: <digits>` when it has a body length, the
/// `Date` line, `Connection: close` when the connection ends, the blank
/// line. Bodies are never copied but for the short error texts: an asset's
/// is sent from the table, a snapshot's from the frame it was rendered into.
struct GuiResponses {
    /// Status line and headers; its status for the metrics.
    struct Head {
        let prefix: UnsafeRawBufferPointer
        let status: GuiStatus
    }

    /// An answer whose body never changes (the errors, the 304s have none).
    struct Answer {
        let head: Head
        let body: UnsafeRawBufferPointer
    }

    /// What every response carries (the list): the page may load
    /// only its own script, style and data, in no frame, and no response
    /// may be read by another origin (no CORS header is ever sent).
    static let securityHeaders =
        "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n"
        + "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nCross-Origin-Resource-Policy: same-origin\r\n"

    let badRequest: Answer
    let websocket: Answer
    let forbidden: Answer
    let hostRefused: Answer
    let hostMissing: Answer
    let notFound: Answer
    let methodNotAllowed: Answer
    let tooLarge: Answer
    let snapshot: Head
    /// The stream's head (no length: the stream ends when the connection
    /// does), its body's first bytes the reconnection delay.
    let stream: Answer
    let healthOK: Head
    let healthFail: Head

    static let text = "text/plain; charset=utf-8"
    /// Milliseconds EventSource waits before it reconnects (the stream's
    /// first line; WHATWG HTML §9.2.4).
    static let retryMs = 2000

    init() {
        func answer(_ status: GuiStatus, _ body: String, _ extra: String = "") -> Answer {
            Answer(head: Self.head(status, Self.text, extra), body: Self.bytes(body))
        }
        badRequest = answer(.s400, "400 bad request\n")
        websocket = answer(
            .s400, "400 bad request: no WebSocket here; live updates are Server-Sent Events at \(GuiRequest.streamPath)\n")
        forbidden = answer(.s403, "403 forbidden: this API answers only its own page (same origin)\n")
        hostRefused = answer(
            .s403, "403 forbidden: the gui answers to IP addresses, localhost and the names in gui_allowed_hosts only\n")
        hostMissing = answer(.s400, "400 bad request: no Host header\n")
        notFound = answer(.s404, "404 not found\n")
        methodNotAllowed = answer(.s405, "405 method not allowed: the gui is read-only (GET or HEAD)\n", "Allow: GET, HEAD\r\n")
        tooLarge = answer(.s431, "431 request head larger than \(GuiServer.maxRequestBytes) bytes, or too many header lines\n")
        snapshot = Self.head(.s200, "application/json")
        healthOK = Self.head(.s200, Self.text)
        healthFail = Self.head(.s503, Self.text)
        // X-Accel-Buffering: a proxy (nginx) in front passes events on as
        // they come instead of buffering them.
        stream = Answer(
            head: Self.head(.s200, "text/event-stream", "X-Accel-Buffering: no\r\n"), body: Self.bytes("retry: \(Self.retryMs)\n\n"))
    }

    /// A status line and headers.
    static func head(_ status: GuiStatus, _ contentType: String?, _ extra: String = "", cache: String = "no-store") -> Head {
        Head(
            prefix: bytes(
                "HTTP/1.1 \(status.code) \(status.reason)\r\n" + (contentType.map { "Content-Type: \($0)\r\n" } ?? "")
                    + extra + "Cache-Control: \(cache)\r\n" + securityHeaders),
            status: status)
    }

    /// `s` in memory of its own, for the tile's life (it never frees it:
    /// a few hundred bytes per head, allocated once at init).
    static func bytes(_ s: String) -> UnsafeRawBufferPointer {
        let a = Array(s.utf8)
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, a.count), alignment: 8)
        p.copyBytes(from: a)
        return UnsafeRawBufferPointer(rebasing: p[0..<a.count])
    }

    /// The heads of one asset's representations: 200 and 304, identity
    /// and gzip (whose ETag differs: another representation).
    struct AssetHeads {
        let ok: Head
        let notModified: Head
    }

    static func assetHeads(contentType: String, etag: String, gzip: Bool) -> AssetHeads {
        // no-cache: the browser revalidates each time (a new binary may
        // serve a new page), and mostly gets a 304.
        let headers = "ETag: \(etag)\r\nVary: Accept-Encoding\r\n"
        return AssetHeads(
            ok: head(.s200, contentType, (gzip ? "Content-Encoding: gzip\r\n" : "") + headers, cache: "no-cache"),
            notModified: head(.s304, nil, headers, cache: "no-cache"))
    }
}
