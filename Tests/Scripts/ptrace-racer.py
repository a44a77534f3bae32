#!/usr/bin/env python3
"""A local attacker racing to ptrace tiles while they boot.

Started as root with the uids to attack; forks one attacker per uid, each
of which drops to that uid (no groups, no capabilities: exactly what any
process of that user is) and then, until SIGTERM, watches /proc for
`tilectl run1` processes and tries PTRACE_ATTACH on every one of them as
fast as it can, from the moment it appears until it is gone. A tile is only
attachable while it runs as that uid and is dumpable, so this finds any
such window in the boot. On SIGTERM each attacker writes one JSON line to
stdout: {"uid": U, "attempts": N, "attached": [pids], "tiles_seen": M}.
Everything it needs is imported before it drops root (/root may be closed
to the uid it becomes).

usage: ptrace-racer.py UID [UID ...]
"""
import ctypes
import json
import os
import signal
import sys

PTRACE_ATTACH, PTRACE_DETACH = 16, 17
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def tiles():
    """Pids of `tilectl run1` processes (cmdline is readable by anyone)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if b"\0run1\0" in f.read():
                    out.append(int(name))
        except OSError:
            pass
    return out


def attack(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    attempts, attached, seen = 0, set(), set()
    while not stop:
        pids = tiles()
        seen.update(pids)
        # Hammer the current candidates for a while before rescanning.
        for _ in range(200):
            for pid in pids:
                attempts += 1
                if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
                    attached.add(pid)
                    os.waitpid(pid, 0x40000000)  # __WALL
                    libc.ptrace(PTRACE_DETACH, pid, None, None)
            if stop:
                break
    line = json.dumps({"uid": uid, "attempts": attempts, "attached": sorted(attached), "tiles_seen": len(seen)}) + "\n"
    os.write(1, line.encode())


def main():
    # Whatever the launcher blocked (a test runner may block SIGTERM), the
    # attacker and its children answer SIGTERM.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    uids = [int(u) for u in sys.argv[1:]]
    children = []
    for uid in uids:
        pid = os.fork()
        if pid == 0:
            try:
                libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: never outlive the launcher
                attack(uid)
            finally:
                os._exit(0)
        children.append(pid)

    def forward(*_):
        for c in children:
            os.kill(c, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    for c in children:
        while True:
            try:
                os.waitpid(c, 0)
                break
            except InterruptedError:
                continue


if __name__ == "__main__":
    main()
