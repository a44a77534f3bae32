// libFuzzer harness: HTTPRequestParser.parse (module MetricTile) over
// arbitrary bytes, as the metric tile calls it on what a client sent,
// pipelined requests included.
//
// Properties (any violation aborts, a crash for libFuzzer):
//  - no crash, no trap, no read outside the buffer (AddressSanitizer; the
//    parser always gets an allocation of exactly the buffer's size);
//  - .complete(head): 4 <= head.length <= buf.count, the head ends at the
//    first CRLFCRLF; head.path is a non-empty range inside 0..<head.length
//    whose first byte is "/"; minorVersion is 0 or 1;
//  - .incomplete exactly when the buffer holds no CRLFCRLF;
//  - the result depends only on the bytes through the first CRLFCRLF (the
//    answer must not depend on how TCP split the stream): parsing just those
//    bytes gives the same result;
//  - after a complete head, the rest of the buffer (the next pipelined
//    request) is parsed the same way, as the server does.
#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
import MetricTile

/// Index just past the first CRLFCRLF, or nil: the harness's own, simple
/// statement of where a head ends.
func firstBlankLineEnd(_ b: UnsafeRawBufferPointer) -> Int? {
    guard b.count >= 4 else { return nil }
    for i in 0...(b.count - 4) where b[i] == 0x0D && b[i + 1] == 0x0A && b[i + 2] == 0x0D && b[i + 3] == 0x0A {
        return i + 4
    }
    return nil
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
    guard let end else { fuzzFailure("a result other than incomplete without any CRLFCRLF: \(input())") }

    if case .complete(let head) = result {
        require(head.length <= buf.count, "head.length \(head.length) > buf.count \(buf.count): \(input())")
        require(head.length == end, "head.length \(head.length) is not the end of the first CRLFCRLF (\(end)): \(input())")
        require(!head.path.isEmpty, "empty path range: \(input())")
        require(head.path.lowerBound >= 0 && head.path.upperBound <= head.length,
                "path range \(head.path) not inside 0..<\(head.length): \(input())")
        require(buf[head.path.lowerBound] == UInt8(ascii: "/"), "path does not start with \"/\": \(input())")
        require(head.minorVersion == 0 || head.minorVersion == 1, "minorVersion \(head.minorVersion): \(input())")
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
