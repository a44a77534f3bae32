#define _GNU_SOURCE
#include "TestbedShim.h"
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

long testbed_ptrace_attach(pid_t pid) { return ptrace(PTRACE_ATTACH, pid, NULL, NULL); }

long testbed_syscall(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f) {
    return syscall(nr, a, b, c, d, e, f);
}
