#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// The listening socket of a tile that serves HTTP (the metric tile, the
/// gui tile): bound in privileged init, before the sandbox takes the tile
/// into a network namespace of its own, where it keeps accepting on the
/// host's.
package enum ListenSocket {
    /// A bound, non-blocking TCP socket for the address and port `tile`'s
    /// options `address` and `port` name. A bind that fails names the
    /// option to change (`[tiles.<kind>] <port>`).
    package static func bind(_ tile: TileSpec, address addressKey: OptionKey<String>, port portKey: OptionKey<Int>) throws -> Int32 {
        let address = tile[addressKey]
        let port = tile[portKey]
        let fd = try Sys.check(
            "socket(AF_INET, SOCK_STREAM)",
            socket(AF_INET, Int32(SOCK_STREAM.rawValue) | CSHIM_SOCK_CLOEXEC | CSHIM_SOCK_NONBLOCK, 0))
        var one: Int32 = 1
        // Accepted connections inherit TCP_NODELAY: a response's last partial
        // segment goes out at once instead of waiting for the client's ACK
        // (Nagle). Neither can fail on a fresh TCP socket; if one did, the
        // tile would serve slowly or not rebind after a restart, so say so.
        for (level, option, name) in [(SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR"), (Int32(IPPROTO_TCP), TCP_NODELAY, "TCP_NODELAY")] {
            if setsockopt(fd, level, option, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                let e = errno
                Glibc.close(fd)
                throw RuntimeError(call: "setsockopt(\(name), 1)", errno: e)
            }
        }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(port).bigEndian)
        let octets = parseIPv4(address)!
        sa.sin_addr.s_addr =
            in_addr_t(octets[0]) | in_addr_t(octets[1]) << 8 | in_addr_t(octets[2]) << 16
            | in_addr_t(octets[3]) << 24
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            let table = "[tiles.\(tile.kind)]"
            let fix =
                switch e {
                case EADDRINUSE: "stop what listens there or choose another \(table) \(portKey.key)"
                case EACCES:
                    "a port below net.ipv4.ip_unprivileged_port_start needs root: run as root, or choose "
                        + "\(table) \(portKey.key) at or above it (1024 by default)"
                default: "choose a local address for \(table) \(addressKey.key)"
                }
            throw RuntimeError(call: "bind(\(address):\(port))", errno: e).with(fix: fix)
        }
        return fd
    }

    /// The policy of a tile that serves HTTP on `listen` and does nothing
    /// else (the metric tile, the gui tile): log writes, accept4 only on
    /// the listen socket, only non-blocking and without the peer's address,
    /// read/sendto/close on connections (any descriptor but stderr, the log
    /// file, the listen socket and the death pipe), ppoll; and shutdown of
    /// a connection's write side, for the graceful close RFC 9112 §9.6 asks for.
    package static func servingPolicy(_ listen: DescriptorRole) -> SeccompPolicy {
        let connection: [ArgumentCondition] = [
            .arg(0, notEquals: .descriptor(.stderr)),
            .arg(0, notEquals: .descriptor(.logFile)),
            .arg(0, notEquals: .descriptor(listen)),
            .arg(0, notEquals: .descriptor(.deathPipe)),
        ]
        let flags = UInt64(CSHIM_SOCK_CLOEXEC | CSHIM_SOCK_NONBLOCK)
        return RuntimePolicy.logging
            + SeccompPolicy([
                SeccompRule(
                    "accept4",
                    [
                        .arg(0, equals: .descriptor(listen)),
                        .arg(1, equals: .constant(0, "NULL")), .arg(2, equals: .constant(0, "NULL")),
                        .arg(3, equals: .constant(flags, "SOCK_CLOEXEC|SOCK_NONBLOCK")),
                    ],
                    reason: "accept HTTP connections: only on the listen socket, only non-blocking, the peer's address not asked for"),
                SeccompRule("read", connection, reason: "read HTTP requests from connections"),
                SeccompRule(
                    "sendto",
                    connection + [
                        .arg(3, equals: .constant(UInt64(MSG_NOSIGNAL), "MSG_NOSIGNAL")), .arg(4, equals: .constant(0, "NULL")),
                        .arg(5, equals: .constant(0, "0")),
                    ],
                    reason: "send HTTP responses to connections (no destination address: it is connected)"),
                SeccompRule("close", connection, reason: "close HTTP connections"),
                SeccompRule(
                    "shutdown", connection + [.arg(1, equals: .constant(UInt64(SHUT_WR), "SHUT_WR"))],
                    reason:
                        "end a response with EOF, then drain the client's late bytes: a close with them unread would reset the connection"),
                SeccompRule("ppoll", reason: "wait for the listen socket and connections"),
            ]) + RuntimePolicy.common
    }
}
