import Shared

/// Status codes the tile answers with, in the order of its
/// `metric_responses_total{status=…}` series.
enum ResponseStatus: Int, MetricLabel {
    case s200, s400, s404, s431, s500, s503
    /// The status code: the case's name without its `s`.
    var code: String { String(String(describing: self).dropFirst()) }
    var labelValue: String { code }

    /// The status line's reason phrase (RFC 9110 §15).
    var reason: String {
        switch self {
        case .s200: "OK"
        case .s400: "Bad Request"
        case .s404: "Not Found"
        case .s431: "Request Header Fields Too Large"
        case .s500: "Internal Server Error"
        case .s503: "Service Unavailable"
        }
    }
}

/// The parts of every response that never change, built once. A response
/// is written into the response ring as: a head prefix (status line and
/// headers up to `Content-Length: `), the body's length in digits, a
/// suffix (the `Date` line, `Connection: close` when the connection ends,
/// the blank line), then the body.
struct CannedResponses {
    /// A status line and headers up to `Content-Length: `, and the status
    /// it counts as.
    struct Head {
        let prefix: [UInt8]
        let status: ResponseStatus
    }

    /// An answer whose body never changes (the errors).
    struct Answer {
        let head: Head
        let body: [UInt8]
    }

    let badRequest: Answer
    let notFound: Answer
    let tooLarge: Answer
    let tooBig: Answer
    let unavailable: Answer
    /// /metrics heads: [prometheus, openMetrics] × [identity, gzip].
    let metricsHeads: [Head]
    let healthOKHead: Head
    let healthFailHead: Head
    /// "\r\nDate: <29 bytes>\r\n\r\n" and the same with `Connection: close`.
    /// The date is rewritten in place once a second (`HTTPDate`): these
    /// bytes are only ever copied into the ring, never sent from here, so a
    /// response being sent never sees them change.
    let keepAliveSuffix: UnsafeMutableRawBufferPointer
    let closeSuffix: UnsafeMutableRawBufferPointer
    /// The longest head: prefix, 20 digits, suffix.
    let longestHead: Int

    init() {
        func head(_ status: ResponseStatus, _ contentType: String, gzip: Bool = false) -> Head {
            Head(
                prefix: Array(
                    ("HTTP/1.1 \(status.code) \(status.reason)\r\nContent-Type: \(contentType)\r\n"
                        + (gzip ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "") + "Content-Length: ").utf8),
                status: status)
        }
        let text = "text/plain; charset=utf-8"
        func answer(_ status: ResponseStatus, _ body: String) -> Answer {
            Answer(head: head(status, text), body: Array(body.utf8))
        }
        badRequest = answer(.s400, "400 bad request: only GET or HEAD of /metrics or /healthz is served\n")
        notFound = answer(.s404, "404 not found: metrics are at /metrics, health at /healthz\n")
        tooLarge = answer(.s431, "431 request head larger than \(MetricsServer.maxRequestBytes) bytes, or too many header lines\n")
        tooBig = answer(.s500, "500 metrics body larger than the response buffer\n")
        unavailable = answer(.s500, "500 metrics not ready\n")
        metricsHeads = [ExpositionPlan.Format.prometheus, .openMetrics].flatMap { format in
            [false, true].map { head(.s200, format.contentType, gzip: $0) }
        }
        healthOKHead = head(.s200, text)
        healthFailHead = head(.s503, text)

        func suffix(_ close: Bool) -> UnsafeMutableRawBufferPointer {
            let bytes = Array(
                ("\r\nDate: " + String(repeating: " ", count: HTTPDate.length) + "\r\n"
                    + (close ? "Connection: close\r\n" : "") + "\r\n").utf8)
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            p.copyBytes(from: bytes)
            return p
        }
        keepAliveSuffix = suffix(false)
        closeSuffix = suffix(true)
        let prefixes =
            metricsHeads + [
                healthOKHead, healthFailHead, badRequest.head, notFound.head, tooLarge.head,
                tooBig.head, unavailable.head,
            ]
        longestHead = prefixes.map(\.prefix.count).max()! + 20 + closeSuffix.count
    }

    /// Sets the `Date` both suffixes carry (they change once a second).
    func setDate(_ date: inout HTTPDate, wallclockNanos: Int64) {
        date.update(wallclockNanos, keepAliveSuffix.baseAddress! + 8, closeSuffix.baseAddress! + 8)
    }

    func metricsHead(_ format: ExpositionPlan.Format, gzip: Bool) -> Head {
        metricsHeads[(format == .openMetrics ? 2 : 0) + (gzip ? 1 : 0)]
    }
}
