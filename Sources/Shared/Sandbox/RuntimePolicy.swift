#if canImport(Glibc)
import Glibc
#endif

/// What every tile needs after its sandbox is entered, whatever its kind:
/// the Swift runtime's allocator, the stem's clock and resource reads, and
/// the way out. Each entry as tight as it works.
public enum RuntimePolicy {
    static let protExec = UInt64(PROT_EXEC)

    public static let common = SeccompPolicy([
        SeccompRule("mmap", [.arg(2, masked: protExec, equals: .constant(0, "no PROT_EXEC"))],
                    reason: "the allocator maps memory; never executable"),
        SeccompRule("mprotect", [.arg(2, masked: protExec, equals: .constant(0, "no PROT_EXEC"))],
                    reason: "the allocator changes protections; never to executable"),
        SeccompRule("munmap", reason: "the allocator returns memory"),
        SeccompRule("brk", reason: "the allocator grows the heap"),
        SeccompRule("madvise", reason: "the allocator releases unused pages"),
        SeccompRule("getrusage", [.arg(0, equals: .constant(UInt64(bitPattern: Int64(RUSAGE_SELF.rawValue)), "RUSAGE_SELF"))],
                    reason: "context switches and page faults for the tile_* metrics"),
        SeccompRule("clock_nanosleep", reason: "idle between housekeeping passes when the topology sleeps"),
        SeccompRule("exit_group", reason: "an orderly stop, or a fatal error"),
        SeccompRule("exit", reason: "thread exit path of the runtime"),
    ])
}
