#if canImport(Glibc)
import Glibc
#endif

/// Loopback sockets for the tests that drive an HTTP server in their own
/// thread (the metric tile's and the gui tile's): a listener on a port the
/// kernel picks, and clients connected to it.
package enum Loopback {
    package struct Failed: Error {
        package let call: String
        package let errno: Int32
    }

    /// A listening, non-blocking TCP socket on 127.0.0.1 and its port.
    package static func listener() throws -> (fd: Int32, port: Int) {
        let nonblocking: Int32 = 0o4000  // SOCK_NONBLOCK
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | nonblocking, 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, len) == 0 else { return -1 }
                return getsockname(fd, p, &len)
            }
        }
        guard fd >= 0, rc == 0, listen(fd, 512) == 0 else { throw Failed(call: "listen on 127.0.0.1", errno: errno) }
        return (fd, Int(UInt16(bigEndian: sa.sin_port)))
    }

    /// A client socket connected to 127.0.0.1:`port`, its reads timing
    /// out after 200 ms; `receiveBuffer` shrinks its SO_RCVBUF (a slow reader).
    package static func connect(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var rcv = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, 4) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
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
            throw Failed(call: "connect to 127.0.0.1:\(port)", errno: e)
        }
        return fd
    }

    /// Sends all of `s` (a test's request: small, one call).
    package static func send(_ fd: Int32, _ s: String) {
        _ = Array(s.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
