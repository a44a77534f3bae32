#if canImport(Glibc)
import Glibc
#endif
import CShim

/// ptrace and unshare for the escape attempts (variadic or GNU-only in C).
func ptraceAttach(_ pid: Int32) -> Int { cshim_test_ptrace_attach(pid) }
func unshareUser() -> Int32 { cshim_unshare(CSHIM_CLONE_NEWUSER) }
