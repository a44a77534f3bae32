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
#include <sys/signalfd.h>
#include <linux/landlock.h>
#include <linux/securebits.h>

int cshim_unshare(int flags) { return unshare(flags); }
int cshim_setns(int fd, int nstype) { return setns(fd, nstype); }
int cshim_prctl_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }
int cshim_prctl_set_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }
int cshim_prctl_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int cshim_prctl_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
int cshim_prctl_set_securebits(unsigned long bits) { return prctl(PR_SET_SECUREBITS, bits, 0, 0, 0); }
int cshim_prctl_cap_ambient_clear_all(void) {
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}
int cshim_prctl_capbset_drop(int cap) { return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); }
int cshim_prctl_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on, 0, 0, 0); }
// glibc has no pivot_root wrapper.
int cshim_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}
// close_range(2) is in glibc 2.34+, but only under _GNU_SOURCE.
int cshim_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}
pid_t cshim_gettid(void) { return (pid_t)syscall(SYS_gettid); }

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

// Landlock has no libc wrapper. Returns the ABI version, or -1 with errno
// (EOPNOTSUPP when built in but disabled, ENOSYS when absent).
int cshim_landlock_abi_version(void) {
    return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

// An empty ruleset that handles every filesystem access right the running
// kernel knows: with no rule added, every such access is denied.
int cshim_landlock_restrict_all(void) {
    int abi = cshim_landlock_abi_version();
    if (abi < 0) return -1;
    struct landlock_ruleset_attr attr = { 0 };
    attr.handled_access_fs =
        LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
        LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
        LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
        LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
        LANDLOCK_ACCESS_FS_MAKE_SYM;
#ifdef LANDLOCK_ACCESS_FS_REFER
    if (abi >= 2) attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
    if (abi >= 3) attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
    int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
    if (fd < 0) return -1;
    int rc = (int)syscall(SYS_landlock_restrict_self, fd, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

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
const int CSHIM_MAP_HUGETLB = MAP_HUGETLB;

// fallocate(2) is GNU-only in glibc; posix_fallocate would fall back to
// writing zeros, which hugetlbfs refuses.
int cshim_fallocate(int fd, int64_t offset, int64_t length) { return fallocate(fd, 0, offset, length); }

int cshim_signalfd(const sigset_t *signals) { return signalfd(-1, signals, SFD_NONBLOCK | SFD_CLOEXEC); }
uint32_t cshim_signalfd_signo(const void *info) { return ((const struct signalfd_siginfo *)info)->ssi_signo; }
const int CSHIM_SIGNALFD_INFO_SIZE = sizeof(struct signalfd_siginfo);
