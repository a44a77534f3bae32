// libFuzzer harness: the gui tile's request classifier (GuiRequest.classify,
// GuiRequest.noneMatch, GuiServer.otherMethod, HTTPHeaderFields, module
// GuiTile and MetricTile) over every head HTTPRequestParser accepts in
// arbitrary bytes, pipelined requests included, as the gui tile calls them.
//
// Properties (any violation aborts, a crash for libFuzzer):
//  - no crash, no trap, no read outside the buffer (AddressSanitizer; every
//    call gets an allocation of exactly the buffer's size);
//  - the header fields HTTPHeaderFields yields are the head's lines between
//    the request line and the blank line, split at the first colon, blanks
//    trimmed: the harness's own plain statement of them, in the same order;
//  - the route is the path's: /api/v1/snapshot, /api/v1/stream, one of the
//    page's files (or / for an absolute-form target without a path), else
//    not found;
//  - websocketUpgrade exactly when an Upgrade field lists "websocket";
//  - host: .missing exactly when there is no Host field; else .allowed
//    exactly when the Host value, up to its port's colon (through the
//    bracket of an IPv6 literal), is four dot-separated numbers of 1 to 3
//    digits up to 255, "[" hex digits, dots and two colons or more "]",
//    or "localhost" or the listed "gui.example" in any case: the harness's
//    own plain statement, over Strings;
//  - no Origin field and no Sec-Fetch-Site field: never cross-origin; an
//    Origin field that is "http://" + the Host value (one of each, a host
//    the parser accepted, no Sec-Fetch-Site): never cross-origin; two Origin
//    fields: always;
//  - ifNoneMatch lies inside the head, and a value that is exactly the tag
//    (or "*") matches it; noneMatch answers the same on the same bytes twice;
//  - otherMethod never claims GET or HEAD.
#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
@testable import GuiTile
@testable import MetricTile

let paths: [[UInt8]] = [Array("/".utf8), Array("/app.css".utf8), Array("/app.js".utf8)]
let allowedHosts: [[UInt8]] = [Array("gui.example".utf8)]
let etag = Array("\"0123456789abcdef\"".utf8)

func lower(_ bytes: some Sequence<UInt8>) -> [UInt8] { bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }

/// The head's header lines, by the harness's own reading: after the first
/// LF, each line up to the next LF (a CR before it dropped), until an empty
/// one; each split at its first colon, blanks (SP, HTAB) trimmed around the value.
func plainFields(_ b: UnsafeRawBufferPointer, _ length: Int) -> [([UInt8], [UInt8])] {
    var lines: [[UInt8]] = []
    var line: [UInt8] = []
    for c in b[0..<length] {
        if c == 0x0A {
            if line.last == 0x0D { line.removeLast() }
            lines.append(line)
            line = []
        } else {
            line.append(c)
        }
    }
    var out: [([UInt8], [UInt8])] = []
    for l in lines.dropFirst() {
        if l.isEmpty { break }
        guard let colon = l.firstIndex(of: UInt8(ascii: ":")) else { break }
        var value = Array(l[(colon + 1)...])
        while let f = value.first, f == 0x20 || f == 0x09 { value.removeFirst() }
        while let e = value.last, e == 0x20 || e == 0x09 { value.removeLast() }
        out.append((Array(l[..<colon]), value))
    }
    return out
}

/// Whether the gui answers to a Host value, by the harness's own reading.
func plainHostAllowed(_ value: [UInt8]) -> Bool {
    var name = value
    if name.first == UInt8(ascii: "[") {
        if let close = name.firstIndex(of: UInt8(ascii: "]")) { name = Array(name[...close]) }
    } else if let colon = name.firstIndex(of: UInt8(ascii: ":")) {
        name = Array(name[..<colon])
    }
    let text = String(decoding: lower(name), as: UTF8.self)
    if text == "localhost" || text == "gui.example" { return true }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    if parts.count == 4,
        parts.allSatisfy({ p in (1...3).contains(p.utf8.count) && p.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && Int(p)! <= 255 })
    {
        return true
    }
    guard text.hasPrefix("["), text.hasSuffix("]"), text.utf8.count >= 4 else { return false }
    let inner = text.utf8.dropFirst().dropLast()
    return inner.allSatisfy { Array("0123456789abcdef:.".utf8).contains($0) } && inner.filter { $0 == UInt8(ascii: ":") }.count >= 2
}

func checkOne(_ buf: UnsafeRawBufferPointer) -> Int? {
    _ = GuiServer.otherMethod(buf)
    if buf.count >= 4, buf[0] == UInt8(ascii: "G"), buf[1] == UInt8(ascii: "E"), buf[2] == UInt8(ascii: "T"), buf[3] == 0x20 {
        require(!GuiServer.otherMethod(buf), "otherMethod says GET is another method: \"\(escaped(buf))\"")
    }
    guard case .complete(let head) = HTTPRequestParser.parse(buf) else { return nil }
    let input = { "input \"\(escaped(UnsafeRawBufferPointer(rebasing: buf[0..<head.length])))\"" }

    // The fields, against the plain reading.
    var it = HTTPHeaderFields(buf, length: head.length)
    var fields: [([UInt8], [UInt8])] = []
    while let (n, v) = it.next() {
        require(
            n.lowerBound >= 0 && n.upperBound <= head.length && v.lowerBound >= 0 && v.upperBound <= head.length,
            "field out of the head: \(input())")
        fields.append((Array(buf[n]), Array(buf[v])))
    }
    let plain = plainFields(buf, head.length)
    require(
        fields.count == plain.count && zip(fields, plain).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 },
        "HTTPHeaderFields gave \(fields.count) fields, the plain reading \(plain.count): \(input())")

    let r = GuiRequest.classify(buf, head, assetPaths: paths, allowedHosts: allowedHosts)
    let path = Array(buf[head.path])
    let expected: GuiRequest.Route =
        path.isEmpty
        ? .asset(0)
        : path == Array("/api/v1/snapshot".utf8)
            ? .snapshot
            : path == Array("/api/v1/stream".utf8)
                ? .stream
                : paths.firstIndex(of: path).map { .asset($0) } ?? .notFound
    require(r.route == expected, "route \(r.route), not \(expected): \(input())")

    func named(_ name: String) -> [[UInt8]] { fields.filter { lower($0.0) == Array(name.utf8) }.map(\.1) }
    let upgrades = named("upgrade")
    let listsWebsocket = upgrades.contains { v in
        v.split(separator: UInt8(ascii: ",")).contains { token in
            var t = Array(token)
            while let f = t.first, f == 0x20 || f == 0x09 { t.removeFirst() }
            if let semi = t.firstIndex(where: { $0 == UInt8(ascii: ";") || $0 == 0x20 || $0 == 0x09 }) { t = Array(t[..<semi]) }
            return lower(t) == Array("websocket".utf8)
        }
    }
    require(r.websocketUpgrade == listsWebsocket, "websocketUpgrade \(r.websocketUpgrade) for Upgrade \(upgrades): \(input())")

    let origins = named("origin"), hosts = named("host"), sites = named("sec-fetch-site")
    let host: GuiRequest.Host = hosts.isEmpty ? .missing : plainHostAllowed(hosts[0]) ? .allowed : .refused
    require(r.host == host, "host \(r.host), not \(host), for Host \(hosts): \(input())")
    if origins.isEmpty && sites.isEmpty { require(!r.crossOrigin, "cross-origin without an Origin: \(input())") }
    if origins.count > 1 { require(r.crossOrigin, "two Origins let through: \(input())") }
    if origins.count == 1, hosts.count == 1, sites.isEmpty, !hosts[0].isEmpty, origins[0] == Array("http://".utf8) + hosts[0] {
        require(!r.crossOrigin, "the page's own origin refused: \(input())")
    }

    if let tags = r.ifNoneMatch {
        require(tags.lowerBound >= 0 && tags.upperBound <= head.length, "If-None-Match range \(tags) outside the head: \(input())")
        let once = etag.withUnsafeBytes { GuiRequest.noneMatch(buf, tags, etag: $0) }
        let twice = etag.withUnsafeBytes { GuiRequest.noneMatch(buf, tags, etag: $0) }
        require(once == twice, "noneMatch changed its mind: \(input())")
        let value = Array(buf[tags])
        if value == etag || value == [UInt8(ascii: "*")] { require(once, "If-None-Match \(value) does not match: \(input())") }
    }
    return head.length
}

func fuzzOne(_ data: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < data.count {
        guard let length = withExactCopy(UnsafeRawBufferPointer(rebasing: data[offset...]), { checkOne($0) }) else { return }
        offset += length
    }
}

fuzzMain(fuzzOne)
