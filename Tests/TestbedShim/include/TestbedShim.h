#ifndef TESTBED_SHIM_H
#define TESTBED_SHIM_H
// C for the test-only escape tiles (tilectl-testbed), kept out of the
// production shim: calls Swift cannot make because glibc declares them
// variadic.
#include <stdint.h>
#include <sys/types.h>

// ptrace(PTRACE_ATTACH, pid): -1 with errno on failure.
long testbed_ptrace_attach(pid_t pid);
// A raw system call with full 64-bit arguments (the upper halves of int
// arguments included, as a compromised tile would set them): -1 with errno.
long testbed_syscall(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f);

#endif
