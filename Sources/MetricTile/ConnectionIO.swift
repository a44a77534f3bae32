#if canImport(Glibc)
import Glibc
#endif

/// The socket calls of an HTTP server's connection, for the metric tile's
/// server and the gui tile's: each one a result, never a throw, never an
/// allocation, and only the calls their seccomp policy allows (`read`,
/// `sendto` with MSG_NOSIGNAL, `shutdown(SHUT_WR)`).
package enum ConnectionIO {
    /// After a response that ends the connection: how long, and how many
    /// bytes, the client's late bytes are read and discarded (RFC 9112
    /// §9.6: a close with them unread would reset the connection, and the
    /// reset can destroy the response before the client reads it).
    package static let drainNanos: Int64 = 1_000_000_000
    package static let drainBytes = 64 << 10
    /// Connections accepted per pass: bounded, so that under a flood the
    /// requests of the connections just accepted are read before more
    /// newcomers compete for their slots.
    package static let acceptsPerPass = 16

    package enum Sent {
        /// Every byte is sent.
        case done
        /// The socket's buffer is full: wait for POLLOUT.
        case again
        /// The connection is gone: close it.
        case failed
    }

    /// Sends bytes `sent..<count` of `bytes`, adding what went to `sent`
    /// and `written`, until they are all sent, the socket would block, or
    /// it fails.
    package static func send(
        _ fd: Int32, _ bytes: UnsafeRawPointer, count: Int, sent: inout Int, written: inout UInt64
    ) -> Sent {
        while sent < count {
            let n = sendto(fd, bytes + sent, count - sent, Int32(MSG_NOSIGNAL), nil, 0)
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { return .again }
                return .failed
            }
            written &+= UInt64(n)
            sent += n
        }
        return .done
    }

    /// Reads what there is into `buffer` (`capacity` bytes) and discards
    /// it, adding to `drained` and `read`; returns whether the connection
    /// is to be closed: at EOF, on an error, or past `limit` bytes.
    package static func discard(
        _ fd: Int32, _ buffer: UnsafeMutableRawPointer, capacity: Int, drained: inout Int, limit: Int, read: inout UInt64
    ) -> Bool {
        while true {
            let n = Glibc.read(fd, buffer, capacity)
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return false }
            if n <= 0 { return true }
            read &+= UInt64(n)
            drained += n
            if drained >= limit { return true }
        }
    }

    /// Shuts the write side, so the client reads EOF after the response;
    /// false when that fails (the connection is then closed at once).
    package static func shutWrite(_ fd: Int32) -> Bool { shutdown(fd, Int32(SHUT_WR)) == 0 }
}
