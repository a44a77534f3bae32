#if canImport(Glibc)
import Glibc
#endif
import CShim
import TestbedShim
import Shared

/// ptrace and unshare for the escape attempts (variadic or GNU-only in C).
func ptraceAttach(_ pid: Int32) -> Int { testbed_ptrace_attach(pid) }
func unshareUser() -> Int32 { cshim_unshare(CSHIM_CLONE_NEWUSER) }

/// A system call with raw 64-bit arguments, as a compromised tile would make
/// it: the upper halves of `int` arguments set on purpose.
func rawSyscall(_ name: String, _ a: UInt64 = 0, _ b: UInt64 = 0, _ c: UInt64 = 0, _ d: UInt64 = 0) -> Int {
    guard let nr = SeccompFilter.syscallNumber(name) else { return -1 }
    return testbed_syscall(Int(nr), a, b, c, d, 0, 0)
}
