// See CShim.h for why this file exists. Each function is the syscall and
// nothing else: errors come back as -1 with errno, untouched.
#define _GNU_SOURCE
#include "CShim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <linux/landlock.h>
#include <linux/securebits.h>

int cshim_unshare(int flags) { return unshare(flags); }
int cshim_setns(int fd, int nstype) { return setns(fd, nstype); }
int cshim_prctl_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }
int cshim_prctl_set_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }
int cshim_prctl_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int cshim_prctl_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on, 0, 0, 0); }
// glibc has no pivot_root wrapper.
int cshim_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}
// close_range(2) is in glibc 2.34+, but only under _GNU_SOURCE.
int cshim_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}

int cshim_memfd_create(const char *name, unsigned int flags) { return memfd_create(name, flags); }
int cshim_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
// ppoll with a timeout in nanoseconds; negative waits forever. Tiles use
// ppoll, not poll: poll(2) does not exist on arm64, and one syscall for both
// architectures keeps the seccomp policies identical.
int cshim_ppoll(struct pollfd *fds, nfds_t n, int64_t timeout_ns) {
    if (timeout_ns < 0) return ppoll(fds, n, NULL, NULL);
    struct timespec ts = { .tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL };
    return ppoll(fds, n, &ts, NULL);
}
// The peer address is not needed: the metric tile serves anyone who connects
// to its loopback (or configured) address.
int cshim_accept4(int fd, int flags) { return accept4(fd, NULL, NULL, flags); }
int cshim_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
int cshim_dup3(int oldfd, int newfd, int flags) { return dup3(oldfd, newfd, flags); }
extern char **environ;
void *cshim_environ(void) { return environ; }

// Landlock has no libc wrapper, and syscall(2) is variadic. The masks and
// the ABI versions are in Swift (Shared/Sandbox/Landlock.swift).
int cshim_landlock_create_ruleset(const void *attr, size_t size, uint32_t flags) {
    return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

// The rule is a packed struct (a 64-bit mask, then a 32-bit descriptor).
int cshim_landlock_add_path_rule(int ruleset, int fd, uint64_t access) {
    struct landlock_path_beneath_attr rule = { .allowed_access = access, .parent_fd = fd };
    return (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
}

int cshim_landlock_restrict_self(int ruleset, uint32_t flags) {
    return (int)syscall(SYS_landlock_restrict_self, ruleset, flags);
}


// pidfds (Linux 5.3+): a process the supervisor can wait for without a
// blocking wait, and that no pid reuse can swap for another.
int cshim_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static int cshim_status_of(const siginfo_t *info) {
    switch (info->si_code) {
    case CLD_EXITED: return (info->si_status & 0xff) << 8;
    case CLD_KILLED: return info->si_status & 0x7f;
    case CLD_DUMPED: return (info->si_status & 0x7f) | 0x80;
    default: return 0;
    }
}

int cshim_pidfd_reap(int pidfd, int *status) {
    siginfo_t info = { 0 };
    if (waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &info, WEXITED | WNOHANG) != 0) return -1;
    if (info.si_pid == 0) return 0;
    *status = cshim_status_of(&info);
    return 1;
}

pid_t cshim_peek_ended_child(void) {
    siginfo_t info = { 0 };
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return 0;
    return info.si_pid;
}

int cshim_reap_pid(pid_t pid, int *status) {
    siginfo_t info = { 0 };
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG) != 0) return -1;
    if (info.si_pid == 0) return 0;
    *status = cshim_status_of(&info);
    return 1;
}

int cshim_execveat_fd(int fd, char *const argv[], char *const envp[]) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}
const unsigned int CSHIM_CLOSE_RANGE_CLOEXEC = 4; /* CLOSE_RANGE_CLOEXEC, Linux 5.11 */

// Credentials, namespaces and keyrings: GNU-only or without a glibc wrapper.
int cshim_setresuid(uid_t uid) { return setresuid(uid, uid, uid); }
int cshim_setresgid(gid_t gid) { return setresgid(gid, gid, gid); }
// A fresh anonymous session keyring, so nothing the launcher's keyring
// holds is reachable from the tile.
int cshim_keyctl_join_session_keyring(void) { return (int)syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL); }

// Securebits that keep a process from regaining capabilities: no special
// treatment of uid 0, no capability fixup on setuid, no ambient raise, and
// each of those locked.
const unsigned int CSHIM_SECUREBITS_LOCKED_DOWN =
    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
    SECBIT_NOROOT_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

const int CSHIM_CLONE_NEWNS = CLONE_NEWNS;
const int CSHIM_CLONE_NEWPID = CLONE_NEWPID;
const int CSHIM_CLONE_NEWNET = CLONE_NEWNET;
const int CSHIM_CLONE_NEWIPC = CLONE_NEWIPC;
const int CSHIM_CLONE_NEWUTS = CLONE_NEWUTS;
const int CSHIM_CLONE_NEWUSER = CLONE_NEWUSER;
const int CSHIM_CLONE_NEWCGROUP = CLONE_NEWCGROUP;
const int CSHIM_F_ADD_SEALS = F_ADD_SEALS;
const int CSHIM_F_GET_SEALS = F_GET_SEALS;
const int CSHIM_F_SEAL_SEAL = F_SEAL_SEAL;
const int CSHIM_F_SEAL_SHRINK = F_SEAL_SHRINK;
const int CSHIM_F_SEAL_GROW = F_SEAL_GROW;
const int CSHIM_F_SEAL_WRITE = F_SEAL_WRITE;
const unsigned int CSHIM_MFD_CLOEXEC = MFD_CLOEXEC;
const unsigned int CSHIM_MFD_ALLOW_SEALING = MFD_ALLOW_SEALING;
const int CSHIM_SOCK_NONBLOCK = SOCK_NONBLOCK;
const int CSHIM_SOCK_CLOEXEC = SOCK_CLOEXEC;
const int CSHIM_O_CLOEXEC = O_CLOEXEC;
const int CSHIM_O_DIRECTORY = O_DIRECTORY;
const int CSHIM_O_NOFOLLOW = O_NOFOLLOW;
const int CSHIM_O_PATH = O_PATH;
const int CSHIM_AT_REMOVEDIR = AT_REMOVEDIR;

// fallocate(2) is GNU-only in glibc; posix_fallocate would fall back to
// writing zeros, which hugetlbfs refuses.
int cshim_fallocate(int fd, int64_t offset, int64_t length) { return fallocate(fd, 0, offset, length); }

int cshim_signalfd(const sigset_t *signals) { return signalfd(-1, signals, SFD_NONBLOCK | SFD_CLOEXEC); }
uint32_t cshim_signalfd_signo(const void *info) { return ((const struct signalfd_siginfo *)info)->ssi_signo; }
const int CSHIM_SIGNALFD_INFO_SIZE = sizeof(struct signalfd_siginfo);

int cshim_setrlimit(int resource, uint64_t value) {
    struct rlimit r = { .rlim_cur = value, .rlim_max = value };
    return setrlimit(resource, &r);
}
const int CSHIM_RLIMIT_NOFILE = RLIMIT_NOFILE, CSHIM_RLIMIT_NPROC = RLIMIT_NPROC, CSHIM_RLIMIT_CORE = RLIMIT_CORE,
    CSHIM_RLIMIT_MEMLOCK = RLIMIT_MEMLOCK, CSHIM_RLIMIT_MSGQUEUE = RLIMIT_MSGQUEUE, CSHIM_RLIMIT_NICE = RLIMIT_NICE,
    CSHIM_RLIMIT_RTPRIO = RLIMIT_RTPRIO, CSHIM_RLIMIT_RTTIME = RLIMIT_RTTIME, CSHIM_RLIMIT_SIGPENDING = RLIMIT_SIGPENDING,
    CSHIM_RLIMIT_LOCKS = RLIMIT_LOCKS, CSHIM_RLIMIT_FSIZE = RLIMIT_FSIZE, CSHIM_RLIMIT_AS = RLIMIT_AS,
    CSHIM_RLIMIT_DATA = RLIMIT_DATA, CSHIM_RLIMIT_STACK = RLIMIT_STACK, CSHIM_RLIMIT_CPU = RLIMIT_CPU;

int cshim_sched_setaffinity(const int *cpus, int n) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < n; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) { errno = EINVAL; return -1; }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof(set), &set);
}

int cshim_sched_getaffinity(int *cpus, int max) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[n++] = cpu;
    }
    return n;
}

// Node masks as the kernel reads them: 1024 bits, and maxnode one more
// than the bits passed (the kernel reads maxnode - 1 of them).
enum { CSHIM_NODE_BITS = 1024, CSHIM_MPOL_DEFAULT = 0, CSHIM_MPOL_BIND = 2, CSHIM_MPOL_MF_STRICT = 1 };

static int cshim_node_mask(int node, unsigned long mask[CSHIM_NODE_BITS / 64]) {
    for (int i = 0; i < CSHIM_NODE_BITS / 64; i++) mask[i] = 0;
    if (node >= CSHIM_NODE_BITS) { errno = EINVAL; return -1; }
    mask[node / 64] = 1UL << (node % 64);
    return 0;
}

int cshim_set_mempolicy_node(int node) {
    if (node < 0) return (int)syscall(SYS_set_mempolicy, CSHIM_MPOL_DEFAULT, NULL, 0);
    unsigned long mask[CSHIM_NODE_BITS / 64];
    if (cshim_node_mask(node, mask) != 0) return -1;
    return (int)syscall(SYS_set_mempolicy, CSHIM_MPOL_BIND, mask, CSHIM_NODE_BITS + 1);
}

int cshim_mbind_node(void *addr, unsigned long length, int node, int strict) {
    unsigned long mask[CSHIM_NODE_BITS / 64];
    if (cshim_node_mask(node, mask) != 0) return -1;
    return (int)syscall(SYS_mbind, addr, length, CSHIM_MPOL_BIND, mask, CSHIM_NODE_BITS + 1,
                        strict ? CSHIM_MPOL_MF_STRICT : 0);
}
