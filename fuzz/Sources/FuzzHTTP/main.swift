// libFuzzer harness: HTTPRequestParser.parse (module MetricTile) over
// arbitrary bytes, as the metric tile calls it on what a client sent,
// pipelined requests included.
//
// Properties (any violation aborts, a crash for libFuzzer):
//  - no crash, no trap, no read outside the buffer (AddressSanitizer; the
//    parser always gets an allocation of exactly the buffer's size);
//  - .complete(head): head.length <= buf.count, the head ends at the
//    first empty line (lines end in LF, a CR before it optional: the first
//    LF LF or LF CR LF); head.path is a range inside 0..<head.length whose
//    first byte is "/", or empty only for an absolute-form target (one
//    that starts with "http"); minorVersion is 0 or 1;
//  - .incomplete exactly when the buffer holds no empty line;
//  - the result depends only on the bytes through the first empty line
//    (the answer must not depend on how TCP split the stream): parsing just
//    those bytes gives the same result;
//  - CRLF and bare LF are the same line end: a head whose line ends are all
//    CRLF (no bare CR or LF anywhere) parses, with every CRLF made LF, to
//    the same outcome, method, path, version, keep-alive and negotiation;
//  - after a complete head, the rest of the buffer (the next pipelined
//    request) is parsed the same way, as the server does.
#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
@testable import MetricTile

/// Index just past the first empty line, or nil: the harness's own, simple
/// statement of where a head ends (an LF, then an optional CR, then an LF).
func firstBlankLineEnd(_ b: UnsafeRawBufferPointer) -> Int? {
    var i = 0
    while i < b.count {
        if b[i] == 0x0A {
            if i + 1 < b.count && b[i + 1] == 0x0A { return i + 2 }
            if i + 2 < b.count && b[i + 1] == 0x0D && b[i + 2] == 0x0A { return i + 3 }
        }
        i += 1
    }
    return nil
}

/// The head with every CRLF made LF, when every CR and LF in it is part
/// of a CRLF; else nil.
func crlfToLF(_ b: UnsafeRawBufferPointer) -> [UInt8]? {
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        if b[i] == 0x0D {
            guard i + 1 < b.count, b[i + 1] == 0x0A else { return nil }
            out.append(0x0A)
            i += 2
            continue
        }
        if b[i] == 0x0A { return nil }
        out.append(b[i])
        i += 1
    }
    return out
}

/// What a parse decided, without byte offsets.
func outcome(_ r: HTTPParseResult, _ b: UnsafeRawBufferPointer) -> String {
    switch r {
    case .incomplete: return "incomplete"
    case .invalid: return "invalid"
    case .tooManyHeaders: return "tooManyHeaders"
    case .complete(let h):
        return "complete \(h.method) \(Array(b[h.path])) 1.\(h.minorVersion) keepAlive \(h.keepAlive) "
            + "openMetrics \(h.wantsOpenMetrics) gzip \(h.acceptsGzip)"
    }
}

func describe(_ r: HTTPParseResult) -> String {
    switch r {
    case .incomplete: "incomplete"
    case .complete(let h): "complete(length: \(h.length), path: \(h.path), minor: \(h.minorVersion))"
    case .invalid(let why): "invalid(\(why))"
    case .tooManyHeaders: "tooManyHeaders"
    }
}

/// Checks one parse of `buf` (an exact-size allocation); the head, if complete.
func checkOne(_ buf: UnsafeRawBufferPointer) -> HTTPRequestHead? {
    let result = HTTPRequestParser.parse(buf)
    let end = firstBlankLineEnd(buf)
    let input = { "input \"\(escaped(buf))\" gave \(describe(result))" }

    if case .incomplete = result {
        require(end == nil, "incomplete although the buffer holds a CRLFCRLF ending at \(end ?? -1): \(input())")
        return nil
    }
    guard let end else { fuzzFailure("a result other than incomplete without any empty line: \(input())") }

    if case .complete(let head) = result {
        require(head.length <= buf.count, "head.length \(head.length) > buf.count \(buf.count): \(input())")
        require(head.length == end, "head.length \(head.length) is not the end of the first empty line (\(end)): \(input())")
        require(
            head.path.lowerBound >= 0 && head.path.upperBound <= head.length,
            "path range \(head.path) not inside 0..<\(head.length): \(input())")
        if head.path.isEmpty {
            let target = buf.firstIndex(of: 0x20).map { $0 + 1 } ?? 0
            require(
                target + 4 <= buf.count && (buf[target] | 0x20) == UInt8(ascii: "h"),
                "empty path for a target that is not absolute-form: \(input())")
        } else {
            require(buf[head.path.lowerBound] == UInt8(ascii: "/"), "path does not start with \"/\": \(input())")
        }
        require(head.minorVersion == 0 || head.minorVersion == 1, "minorVersion \(head.minorVersion): \(input())")
    }

    // CRLF and LF are the same line end.
    if let lf = crlfToLF(UnsafeRawBufferPointer(rebasing: buf[0..<end])) {
        let viaLF = lf.withUnsafeBytes { withExactCopy($0) { b in outcome(HTTPRequestParser.parse(b), b) } }
        let direct = outcome(result, buf)
        require(viaLF == direct, "with CRLF made LF the head gives \(viaLF), not \(direct): \(input())")
    }

    // Only the head counts: the same bytes without what follows parse alike.
    if end < buf.count {
        let again = withExactCopy(UnsafeRawBufferPointer(rebasing: buf[0..<end])) { HTTPRequestParser.parse($0) }
        require(again == result, "the result depends on bytes after the head: just the head gave \(describe(again)); \(input())")
    }
    if case .complete(let head) = result { return head }
    return nil
}

func fuzzOne(_ data: UnsafeRawBufferPointer) {
    var offset = 0
    // Each complete head consumes at least 4 bytes, so this ends.
    while offset < data.count {
        let head = withExactCopy(UnsafeRawBufferPointer(rebasing: data[offset...])) { checkOne($0) }
        guard let head else { return }
        offset += head.length
    }
}

fuzzMain(fuzzOne)
