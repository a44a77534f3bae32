#if canImport(Glibc)
import Glibc
#endif
import CZlib
import Foundation

/// A plain HTTP/1.1 client over a TCP socket: what a scraper does, no more.
struct HTTPResponse {
    let status: Int
    let headers: [String: String]  // lowercased names
    /// The body as the client reads it: inflated when it came gzipped.
    let body: String
    /// How many body bytes came over the wire (what Content-Length counts).
    let wireBodyBytes: Int
}

enum HTTPClient {
    /// Sends `raw` bytes to 127.0.0.1:`port` and reads until the server closes.
    static func exchange(port: Int, _ raw: [UInt8], timeout: Double = 5) throws -> [UInt8] {
        try exchangeToEnd(port: port, raw, quiet: timeout).bytes
    }

    /// Sends `raw`, reads everything until the server closes or stays quiet
    /// for `quiet` seconds; how the stream ended: "EOF", "reset" or "open".
    static func exchangeToEnd(port: Int, _ raw: [UInt8], quiet: Double = 0.2) throws -> (bytes: [UInt8], end: String) {
        let fd = try connect(port: port, timeout: quiet)
        defer { close(fd) }
        var off = 0
        while off < raw.count {
            let n = raw.withUnsafeBytes { send(fd, $0.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            off += n
        }
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { got += buf[0..<n]; continue }
            if n == 0 { return (got, "EOF") }
            if errno == ECONNRESET { return (got, "reset") }
            return (got, "open")  // the receive timeout: quiet
        }
    }

    static func connect(port: Int, timeout: Double = 5) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(port).bigEndian)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw TestFailure("connect 127.0.0.1:\(port): errno \(e)")
        }
        return fd
    }

    /// One request with `Connection: close`; parses the response. Like
    /// Prometheus, it asks for gzip (unless `headers` name an
    /// Accept-Encoding): every gzip body is inflated, and must inflate
    /// whole, its CRC-32 and length right, or the request throws.
    static func request(
        port: Int, method: String = "GET", path: String = "/metrics",
        headers: [String] = []
    ) throws -> HTTPResponse {
        let encoding = headers.contains { $0.lowercased().hasPrefix("accept-encoding:") } ? [] : ["Accept-Encoding: gzip"]
        let head =
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
            + (headers + encoding).map { $0 + "\r\n" }.joined() + "\r\n"
        let bytes = try exchange(port: port, Array(head.utf8))
        return try parse(bytes)
    }

    static func parse(_ bytes: [UInt8]) throws -> HTTPResponse {
        guard
            let split = (0..<max(0, bytes.count - 3)).first(where: {
                bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
            })
        else { throw TestFailure("no response head in \(String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription)") }
        let lines = String(decoding: bytes[0..<split], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for l in lines.dropFirst() {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[(split + 4)...])
        let wireBodyBytes = body.count
        if headers["content-encoding"] == "gzip" && !body.isEmpty {
            guard let plain = gunzip(body) else { throw TestFailure("a gzip body (\(body.count) bytes) that zlib does not inflate whole") }
            body = plain
        }
        return HTTPResponse(
            status: status, headers: headers, body: String(decoding: body, as: UTF8.self),
            wireBodyBytes: wireBodyBytes)
    }

    /// zlib's inflate of a whole gzip member (CRC-32 and length checked);
    /// nil when it is not exactly one valid member.
    static func gunzip(_ data: [UInt8]) -> [UInt8]? {
        var s = z_stream()
        guard czlib_inflate_init_gzip(&s) == Z_OK else { return nil }
        defer { inflateEnd(&s) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var input = data
        return input.withUnsafeMutableBytes { inp -> [UInt8]? in
            s.next_in = inp.baseAddress!.assumingMemoryBound(to: Bytef.self)
            s.avail_in = uInt(inp.count)
            while true {
                let rc = chunk.withUnsafeMutableBytes { o -> Int32 in
                    s.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    s.avail_out = uInt(o.count)
                    return inflate(&s, Z_NO_FLUSH)
                }
                out += chunk[0..<(chunk.count - Int(s.avail_out))]
                if rc == Z_STREAM_END { return s.avail_in == 0 ? out : nil }
                guard rc == Z_OK else { return nil }
            }
        }
    }

    /// A free TCP port on 127.0.0.1 (bound, then released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        sa.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                _ = bind(fd, p, len)
                return getsockname(fd, p, &len)
            }
        }
        return Int(UInt16(bigEndian: sa.sin_port))
    }
}

/// Samples of a Prometheus text body, by series (name and labels).
func samples(_ body: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in body.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        out[String(line[..<space])] = String(line[line.index(after: space)...])
    }
    return out
}
