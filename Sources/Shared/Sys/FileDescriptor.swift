#if canImport(Glibc)
import Glibc
#endif
import CShim

/// An open file descriptor. A value type over the raw number: who owns it
/// (and must close it) is stated where it is created.
public struct FileDescriptor: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The descriptor's number.
    public let rawValue: Int32
    /// Wraps `rawValue` without checking it is open.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    package static let standardInput = FileDescriptor(rawValue: 0)
    package static let standardOutput = FileDescriptor(rawValue: 1)
    /// Descriptor 2, which every tile keeps for its log lines.
    public static let standardError = FileDescriptor(rawValue: 2)

    public var description: String { "fd \(rawValue)" }

    /// open(2), always with O_CLOEXEC: a descriptor crosses execve only when
    /// it is placed there on purpose (dup2 clears the flag).
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws -> FileDescriptor {
        let fd = try Sys.retry("open(\(path))", Glibc.open(path, flags | CSHIM_O_CLOEXEC, mode))
        return FileDescriptor(rawValue: fd)
    }

    /// Closes the descriptor, ignoring errors (EINTR included: Linux has
    /// released the number either way). Inside the sandbox only if the
    /// kind's policy allows `close`.
    public func close() {
        // close(2) must not be retried on EINTR on Linux: the descriptor is
        // already released.
        _ = Glibc.close(rawValue)
    }

    /// Writes all of `bytes`, retrying short writes and EINTR.
    package func writeAll(_ bytes: UnsafeRawBufferPointer, what: @autoclosure () -> String = "write") throws {
        var off = 0
        while off < bytes.count {
            let n = try Sys.retry("\(what())(\(self))", Glibc.write(rawValue, bytes.baseAddress! + off, bytes.count - off))
            off += n
        }
    }

    package func writeAll(_ string: String) throws {
        var s = string
        try s.withUTF8 { try writeAll(UnsafeRawBufferPointer($0)) }
    }

    /// Reads until end of file; at most `limit` bytes (a larger input is an error).
    package func readToEnd(limit: Int, what: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { buf in
                try Sys.retry("read(\(what))", Glibc.read(rawValue, buf.baseAddress, buf.count))
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw RuntimeError(call: "read(\(what)): more than \(limit) bytes", errno: EFBIG) }
        }
    }

    package func setCloseOnExec(_ on: Bool) throws {
        let flags = try Sys.check("fcntl(\(self), F_GETFD)", cshim_fcntl_int(rawValue, F_GETFD, 0))
        let new = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC)
        try Sys.check("fcntl(\(self), F_SETFD)", cshim_fcntl_int(rawValue, F_SETFD, new))
    }

    /// Moves the descriptor to number `target` (close-on-exec), closing
    /// the old number; `target` must be free or this descriptor itself.
    package func move(to target: Int32) throws -> FileDescriptor {
        if rawValue == target { return self }
        guard cshim_fcntl_int(target, F_GETFD, 0) < 0 && errno == EBADF else {
            close()
            throw RuntimeError(call: "dup3(\(rawValue), \(target))", errno: EBUSY)
        }
        let fd = cshim_dup3(rawValue, target, CSHIM_O_CLOEXEC)
        let e = errno
        close()
        guard fd == target else { throw RuntimeError(call: "dup3(\(rawValue), \(target))", errno: e) }
        return FileDescriptor(rawValue: target)
    }

    /// A second descriptor on the same open file (close-on-exec).
    package func duplicate() throws -> FileDescriptor {
        FileDescriptor(rawValue: try Sys.check("fcntl(\(rawValue), F_DUPFD_CLOEXEC)", cshim_fcntl_int(rawValue, F_DUPFD_CLOEXEC, 0)))
    }

    /// A pipe whose both ends are close-on-exec.
    package static func pipe() throws -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        try Sys.check("pipe2(O_CLOEXEC)", cshim_pipe2(&fds, CSHIM_O_CLOEXEC))
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }
}

/// The descriptors this process has open, from /proc/self/fd (or
/// /proc/<pid>/fd), in ascending order.
package func openDescriptors(pid: String = "self") throws -> [Int32] {
    guard let dir = opendir("/proc/\(pid)/fd") else {
        throw RuntimeError(call: "opendir(/proc/\(pid)/fd)", errno: errno)
    }
    let dirFD = dirfd(dir)
    defer { closedir(dir) }
    var out: [Int32] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if let n = Int32(name), n != dirFD { out.append(n) }
    }
    return out.sorted()
}

/// Closes every descriptor of this process but `keep` (close_range over the
/// gaps). For a forked child about to do one job.
package func closeAllDescriptors(except keep: [Int32]) {
    var from: Int32 = 0
    for fd in keep.sorted() where fd >= from {
        if fd > from { _ = cshim_close_range(UInt32(from), UInt32(fd - 1), 0) }
        from = fd + 1
    }
    _ = cshim_close_range(UInt32(from), UInt32.max, 0)
}
