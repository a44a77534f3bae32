// CShim: the few Linux calls Swift cannot make directly.
//
// Swift's Glibc module is built without _GNU_SOURCE, so GNU/Linux-only
// declarations (unshare, memfd_create, pipe2, ppoll, accept4, the F_SEAL_*
// and CLONE_NEW* constants) are invisible to Swift; variadic functions
// (prctl, syscall) cannot be called from Swift at all. Each function here is
// a few lines, prefixed `cshim_`, and returns what the kernel returned
// (-1 with errno set on failure) so the Swift wrappers above it handle errors
// in one place. Atomics on raw shared memory are static inline so they
// compile to single instructions at the call site.
#ifndef CSHIM_H
#define CSHIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <poll.h>
#include <time.h>

// MARK: relaxed / acquire / release atomics on shared memory
// Metrics regions and link rings live in memory mapped by several processes;
// Swift has no way to express an atomic access through a raw pointer, so
// these compile to plain aligned moves (x86-64, arm64) with the right
// ordering constraints for the optimizer and the CPU.
static inline uint64_t cshim_load_relaxed_u64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void cshim_store_relaxed_u64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
static inline uint64_t cshim_load_acquire_u64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void cshim_store_release_u64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline void cshim_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
static inline void cshim_fence_release(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

// The CPU's timestamp counter (TickClock): one instruction Swift has no
// intrinsic for. 0 where there is none (TickClock then uses clock_gettime).
static inline uint64_t cshim_tickcount(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return 0;
#endif
}

// The CPU this thread runs on, from RDTSCP's auxiliary word (Linux puts
// the CPU number in its low 12 bits): no system call, so nothing for the
// seccomp policy. -1 where there is no such instruction.
static inline int cshim_current_cpu(void) {
#if defined(__x86_64__)
    unsigned int aux;
    (void)__builtin_ia32_rdtscp(&aux);
    return (int)(aux & 0xfff);
#else
    return -1;
#endif
}

// MARK: CPU affinity (cpu_set_t and its CPU_SET macros are GNU-only)
// Pins this process to `n` CPUs. 0, or -1 with errno.
int cshim_sched_setaffinity(const int *cpus, int n);
// MARK: NUMA memory policy
// set_mempolicy(2) and mbind(2), which glibc does not wrap (libnuma does),
// for one node: MPOL_BIND to `node`, or MPOL_DEFAULT when node < 0. `strict`
// (mbind only) adds MPOL_MF_STRICT: fail with EIO when a page already in the
// range is on another node.
int cshim_set_mempolicy_node(int node);
int cshim_mbind_node(void *addr, unsigned long length, int node, int strict);

// The CPUs this process may run on, ascending, at most `max` of them.
// Their count, or -1 with errno.
int cshim_sched_getaffinity(int *cpus, int max);

// MARK: process and namespaces
int cshim_unshare(int flags);
int cshim_setns(int fd, int nstype);
int cshim_prctl_set_pdeathsig(int sig);
int cshim_prctl_set_name(const char *name);
int cshim_prctl_set_no_new_privs(void);
int cshim_prctl_set_dumpable(int on);
int cshim_pivot_root(const char *new_root, const char *put_old);
int cshim_close_range(unsigned int first, unsigned int last, unsigned int flags);

// MARK: descriptors
int cshim_memfd_create(const char *name, unsigned int flags);
int cshim_pipe2(int fds[2], int flags);
int cshim_ppoll(struct pollfd *fds, nfds_t n, int64_t timeout_ns);
int cshim_accept4(int fd, int flags);
int cshim_fcntl_int(int fd, int cmd, int arg);
int cshim_dup3(int oldfd, int newfd, int flags);
// The process's `environ` (NULL when it was started with none, which Swift's
// import of the variable cannot express).
void *cshim_environ(void);

// MARK: landlock (no glibc wrapper exists; Landlock.swift holds the logic)
int cshim_landlock_create_ruleset(const void *attr, size_t size, uint32_t flags);
int cshim_landlock_add_path_rule(int ruleset, int fd, uint64_t access);
int cshim_landlock_restrict_self(int ruleset, uint32_t flags);

// MARK: process supervision with pidfds
int cshim_pidfd_open(pid_t pid);
// Reaps the process `pidfd` refers to if it has ended: returns 1 and its
// status as waitpid(2) would report it; 0 while it runs; -1 with errno.
int cshim_pidfd_reap(int pidfd, int *status);
// The pid of a child that has ended, without reaping it; 0 when none.
pid_t cshim_peek_ended_child(void);
// Reaps child `pid` if it has ended (1), else 0; -1 with errno.
int cshim_reap_pid(pid_t pid, int *status);
// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs exactly the file
// opened as `fd`, whatever its path names now.
int cshim_execveat_fd(int fd, char *const argv[], char *const envp[]);
extern const unsigned int CSHIM_CLOSE_RANGE_CLOEXEC;

// MARK: credentials and keyrings
int cshim_setresuid(uid_t uid);
int cshim_setresgid(gid_t gid);
int cshim_keyctl_join_session_keyring(void);
extern const unsigned int CSHIM_SECUREBITS_LOCKED_DOWN;

// MARK: resource limits (the Linux-only ones are hidden from Swift)
// Sets both the soft and the hard limit of `resource` to `value`.
int cshim_setrlimit(int resource, uint64_t value);
extern const int CSHIM_RLIMIT_NOFILE, CSHIM_RLIMIT_NPROC, CSHIM_RLIMIT_CORE, CSHIM_RLIMIT_MEMLOCK,
    CSHIM_RLIMIT_MSGQUEUE, CSHIM_RLIMIT_NICE, CSHIM_RLIMIT_RTPRIO, CSHIM_RLIMIT_RTTIME, CSHIM_RLIMIT_SIGPENDING,
    CSHIM_RLIMIT_LOCKS, CSHIM_RLIMIT_FSIZE, CSHIM_RLIMIT_AS, CSHIM_RLIMIT_DATA, CSHIM_RLIMIT_STACK, CSHIM_RLIMIT_CPU;

// MARK: constants hidden from Swift's Glibc module (_GNU_SOURCE only)
extern const int CSHIM_CLONE_NEWNS;
extern const int CSHIM_CLONE_NEWPID;
extern const int CSHIM_CLONE_NEWNET;
extern const int CSHIM_CLONE_NEWIPC;
extern const int CSHIM_CLONE_NEWUTS;
extern const int CSHIM_CLONE_NEWUSER;
extern const int CSHIM_CLONE_NEWCGROUP;
extern const int CSHIM_F_ADD_SEALS;
extern const int CSHIM_F_GET_SEALS;
extern const int CSHIM_F_SEAL_SEAL;
extern const int CSHIM_F_SEAL_SHRINK;
extern const int CSHIM_F_SEAL_GROW;
extern const int CSHIM_F_SEAL_WRITE;
extern const unsigned int CSHIM_MFD_CLOEXEC;
extern const unsigned int CSHIM_MFD_ALLOW_SEALING;
extern const int CSHIM_SOCK_NONBLOCK;
extern const int CSHIM_SOCK_CLOEXEC;
extern const int CSHIM_O_CLOEXEC;
extern const int CSHIM_O_DIRECTORY;
extern const int CSHIM_O_NOFOLLOW;
extern const int CSHIM_O_PATH;
extern const int CSHIM_AT_REMOVEDIR;



// MARK: signals
#include <signal.h>
// A signalfd for `signals` (which the caller has blocked), non-blocking and
// close-on-exec: the supervisor reads SIGINT/SIGTERM in its poll loop
// instead of running code in a signal handler.
int cshim_signalfd(const sigset_t *signals);
// The signal number in a struct signalfd_siginfo read from it.
uint32_t cshim_signalfd_signo(const void *info);
extern const int CSHIM_SIGNALFD_INFO_SIZE;

// MARK: files
int cshim_fallocate(int fd, int64_t offset, int64_t length);
#endif
