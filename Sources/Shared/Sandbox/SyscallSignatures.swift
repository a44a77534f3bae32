/// How the kernel reads each argument of a system call a policy puts a
/// condition on. A seccomp filter sees six 64-bit registers, but the kernel
/// reads an `int` or `unsigned int` argument as its low 32 bits only:
/// `close(0x1_0000_0004)` closes descriptor 4. A condition on such an
/// argument must therefore compare the low 32 bits, or a tile passes a
/// filter that "compares" 64 bits with a value the kernel then truncates to
/// a forbidden one.
///
/// The table is written from the kernel's own prototypes (x86_64 and
/// arm64 agree on every entry). A policy that puts a condition on an
/// argument not listed here does not compile: the width of an argument is
/// never guessed.
package enum ArgumentKind: Sendable, Equatable {
    /// A file descriptor (`int` or `unsigned int`): its low 32 bits, and a
    /// number a tile can only hold below its RLIMIT_NOFILE.
    case descriptor
    /// Any other `int` or `unsigned int`: its low 32 bits.
    case int32
    /// A pointer, a size or an `unsigned long`: all 64 bits.
    case int64

    package var bits: Int { self == .int64 ? 64 : 32 }
}

package struct SyscallArgument: Sendable {
    package let name: String
    package let kind: ArgumentKind
}

package enum SyscallSignatures {
    private static func sig(_ args: (String, ArgumentKind)...) -> [SyscallArgument] {
        args.map { SyscallArgument(name: $0.0, kind: $0.1) }
    }

    /// Arguments by syscall name, in order.
    package static let table: [String: [SyscallArgument]] = [
        // descriptors and I/O
        "read": sig(("fd", .descriptor), ("buf", .int64), ("count", .int64)),
        "write": sig(("fd", .descriptor), ("buf", .int64), ("count", .int64)),
        "close": sig(("fd", .descriptor)),
        "fsync": sig(("fd", .descriptor)),
        "fstat": sig(("fd", .descriptor), ("statbuf", .int64)),
        "lseek": sig(("fd", .descriptor), ("offset", .int64), ("whence", .int32)),
        "pread64": sig(("fd", .descriptor), ("buf", .int64), ("count", .int64), ("pos", .int64)),
        "flock": sig(("fd", .descriptor), ("cmd", .int32)),
        "ftruncate": sig(("fd", .descriptor), ("length", .int64)),
        "getdents64": sig(("fd", .descriptor), ("dirent", .int64), ("count", .int32)),
        "fcntl": sig(("fd", .descriptor), ("cmd", .int32), ("arg", .int64)),
        "openat": sig(("dirfd", .descriptor), ("pathname", .int64), ("flags", .int32), ("mode", .int32)),
        "dup3": sig(("oldfd", .descriptor), ("newfd", .descriptor), ("flags", .int32)),
        "unlinkat": sig(("dirfd", .descriptor), ("pathname", .int64), ("flags", .int32)),
        "newfstatat": sig(("dirfd", .descriptor), ("pathname", .int64), ("statbuf", .int64), ("flags", .int32)),
        "renameat": sig(("olddirfd", .descriptor), ("oldpath", .int64), ("newdirfd", .descriptor), ("newpath", .int64)),
        "ppoll": sig(("fds", .int64), ("nfds", .int32), ("timeout", .int64), ("sigmask", .int64), ("sigsetsize", .int64)),
        // sockets
        "accept4": sig(("fd", .descriptor), ("addr", .int64), ("addrlen", .int64), ("flags", .int32)),
        "sendto": sig(
            ("fd", .descriptor), ("buf", .int64), ("len", .int64), ("flags", .int32), ("dest_addr", .int64),
            ("addrlen", .int32)),
        "shutdown": sig(("fd", .descriptor), ("how", .int32)),
        // memory
        // fd is read as 32 bits (fget), and ignored for MAP_ANONYMOUS.
        "mmap": sig(
            ("addr", .int64), ("length", .int64), ("prot", .int64), ("flags", .int64), ("fd", .int32),
            ("offset", .int64)),
        "mprotect": sig(("addr", .int64), ("length", .int64), ("prot", .int64)),
        "munmap": sig(("addr", .int64), ("length", .int64)),
        "madvise": sig(("addr", .int64), ("length", .int64), ("advice", .int32)),
        "brk": sig(("addr", .int64)),
        // time, resources, synchronisation
        "clock_gettime": sig(("clockid", .int32), ("tp", .int64)),
        "clock_nanosleep": sig(("clockid", .int32), ("flags", .int32), ("request", .int64), ("remain", .int64)),
        "getrusage": sig(("who", .int32), ("usage", .int64)),
        "futex": sig(
            ("uaddr", .int64), ("op", .int32), ("val", .int32), ("timeout", .int64), ("uaddr2", .int64),
            ("val3", .int32)),
        // processes and signals
        "exit_group": sig(("status", .int32)),
        "waitid": sig(("idtype", .int32), ("id", .int32), ("infop", .int64), ("options", .int32), ("rusage", .int64)),
        "wait4": sig(("pid", .int32), ("wstatus", .int64), ("options", .int32), ("rusage", .int64)),
        "kill": sig(("pid", .int32), ("sig", .int32)),
        "rt_sigprocmask": sig(("how", .int32), ("set", .int64), ("oldset", .int64), ("sigsetsize", .int64)),
    ]

    /// The argument `index` of `syscall`, or nil when the table has no entry.
    package static func argument(_ syscall: String, _ index: Int) -> SyscallArgument? {
        guard let args = table[syscall], index >= 0, index < args.count else { return nil }
        return args[index]
    }
}
