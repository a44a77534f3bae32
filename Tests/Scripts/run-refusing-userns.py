#!/usr/bin/env python3
"""Runs a command as user nobody on a host that refuses it user namespaces.

Used by the integration tests. A child enters a user namespace of its own;
the parent (still root outside) writes its uid/gid maps (root and nobody);
the child sets that namespace's max_user_namespaces to 0, drops to nobody
and execs the command (by the descriptor root opened), which then cannot create a user namespace. Nothing
outside the namespace changes. Exits with the command's status."""
import ctypes
import os
import sys

CLONE_NEWUSER = 0x10000000
NOBODY = 65534

# Opened while still root: the command may live in a directory nobody
# cannot search (a fresh clone in a 0700 mktemp directory).
command = os.open(sys.argv[1], os.O_RDONLY | os.O_CLOEXEC)

ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        os._exit(120)
    os.write(ready_w, b"u")
    os.read(go_r, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0")
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    os.execve(command, sys.argv[1:], os.environ)

os.read(ready_r, 1)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{name}", "w") as f:
        f.write(f"0 0 1\n{NOBODY} {NOBODY} 1\n")
os.write(go_w, b"g")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
