#if canImport(Glibc)
import Glibc
#endif

/// What every tile needs after its sandbox is entered, whatever its kind:
/// the Swift runtime's allocator (glibc malloc underneath), the stem's
/// resource reads, and the way out. Each entry as tight as it works; the
/// measured steady state of a tile is in DESIGN.md ("Measured here").
public enum RuntimePolicy {
    /// The condition that keeps mappings non-executable: no PROT_EXEC bit in
    /// argument 2 (mmap's and mprotect's protection). Add it to any memory
    /// rule a kind declares of its own.
    public static let noExec = ArgumentCondition.arg(2, masked: UInt64(PROT_EXEC), equals: .constant(0, "no PROT_EXEC"))
    static let privateAnonymous = UInt64(MAP_PRIVATE | MAP_ANONYMOUS)

    /// What every tile needs inside its sandbox whatever its kind: the
    /// allocator's mmap/munmap/madvise without PROT_EXEC, the stem's
    /// resource reads, and exit. Every kind's policy includes it.
    public static let common = SeccompPolicy([
        // Exactly MAP_PRIVATE|MAP_ANONYMOUS: no MAP_SHARED (memory another
        // process could see), no MAP_FIXED (over the binary or a workspace),
        // no MAP_HUGETLB, no MAP_NORESERVE (reservations beyond RLIMIT_AS
        // are refused anyway); glibc's allocator asks for nothing else.
        SeccompRule(
            "mmap",
            [
                noExec, .arg(3, equals: .constant(privateAnonymous, "MAP_PRIVATE|MAP_ANONYMOUS")),
                .arg(4, equals: .constant(0xFFFF_FFFF, "-1")),
            ],
            reason: "the allocator maps private anonymous memory; never executable, shared, fixed or huge"),
        SeccompRule("mprotect", [noExec], reason: "the allocator changes protections; never to executable"),
        SeccompRule("munmap", reason: "the allocator returns memory"),
        SeccompRule("brk", reason: "the allocator grows and shrinks the heap"),
        SeccompRule(
            "madvise", [.arg(2, equals: .constant(UInt64(MADV_DONTNEED), "MADV_DONTNEED"))],
            reason: "the allocator releases unused pages"),
        SeccompRule(
            "getrusage", [.arg(0, equals: .constant(0, "RUSAGE_SELF"))],
            reason: "context switches and page faults for the tile_* metrics"),
        SeccompRule("clock_gettime", reason: "clock reads when the vDSO falls back to the syscall (some clock sources)"),
        SeccompRule(
            "futex", [.arg(1, equals: .constant(129, "FUTEX_WAKE_PRIVATE"))],
            reason: "a one-time initialisation (swift_once, pthread_once) wakes its waiters when done; with one thread there are none"),
        SeccompRule("exit_group", reason: "an orderly stop, or a fatal error"),
    ])

    /// For tiles that idle by sleeping.
    public static let sleep = SeccompPolicy([
        SeccompRule("clock_nanosleep", reason: "sleep until the next work item or housekeeping")
    ])

    /// Logging: the tile's own log lines, to stderr and the log file only.
    public static let logging = SeccompPolicy([
        SeccompRule("write", [.arg(0, equals: .descriptor(.stderr))], reason: "log lines to stderr"),
        SeccompRule("write", [.arg(0, equals: .descriptor(.logFile))], reason: "log lines to the log file"),
        SeccompRule("fsync", [.arg(0, equals: .descriptor(.logFile))], reason: "flush the log file after a warning"),
    ])
}
