#if canImport(Glibc)
import Glibc
#endif

/// Clocks, read through the vDSO (no syscall, so no seccomp entry needed).
public enum Clock {
    /// Nanoseconds since an arbitrary point; for intervals and deadlines.
    @inlinable
    public static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// Nanoseconds since the UNIX epoch; for timestamps others compare
    /// (heartbeats, boot time, log lines).
    @inlinable
    public static func wallclockNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}
