#if canImport(Glibc)
import Glibc
#endif

/// Errno names, so messages say `EADDRINUSE` (what a user can search for)
/// next to strerror's sentence.
package enum Errno {
    package static func name(_ e: Int32) -> String {
        switch e {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case ESRCH: "ESRCH"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case ENXIO: "ENXIO"
        case E2BIG: "E2BIG"
        case ENOEXEC: "ENOEXEC"
        case EBADF: "EBADF"
        case ECHILD: "ECHILD"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case EXDEV: "EXDEV"
        case ENODEV: "ENODEV"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case ENOTTY: "ENOTTY"
        case EFBIG: "EFBIG"
        case ENOSPC: "ENOSPC"
        case ESPIPE: "ESPIPE"
        case EROFS: "EROFS"
        case EPIPE: "EPIPE"
        case ERANGE: "ERANGE"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOSYS: "ENOSYS"
        case ENOTEMPTY: "ENOTEMPTY"
        case ELOOP: "ELOOP"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ENETUNREACH: "ENETUNREACH"
        case ECONNABORTED: "ECONNABORTED"
        case ECONNRESET: "ECONNRESET"
        case ENOBUFS: "ENOBUFS"
        case ENOTCONN: "ENOTCONN"
        case ETIMEDOUT: "ETIMEDOUT"
        case ECONNREFUSED: "ECONNREFUSED"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case ENOTSOCK: "ENOTSOCK"
        case EOVERFLOW: "EOVERFLOW"
        default: "errno \(e)"
        }
    }

    /// `ENOENT (No such file or directory)`.
    package static func describe(_ e: Int32) -> String {
        "\(name(e)) (\(String(cString: strerror(e))))"
    }
}

/// The one place where "-1 means look at errno" and the EINTR retry live.
package enum Sys {
    /// Runs `body` until it does not fail with EINTR; throws a
    /// `RuntimeError` naming `call` if it fails otherwise.
    @inline(__always)
    @discardableResult
    package static func retry<R: BinaryInteger>(
        _ call: @autoclosure () -> String, _ body: @autoclosure () -> R
    ) throws -> R {
        while true {
            let rc = body()
            if rc >= 0 { return rc }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw RuntimeError(call: call(), errno: e)
        }
    }

    /// Throws a `RuntimeError` naming `call` when `rc` is negative.
    @inline(__always)
    @discardableResult
    package static func check<R: BinaryInteger>(_ call: @autoclosure () -> String, _ rc: R) throws -> R {
        if rc >= 0 { return rc }
        throw RuntimeError(call: call(), errno: Glibc.errno)
    }
}
