#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as if a user ran it in one.

Usage: in-pty.py [--wait S] [--send TEXT] [--timeout S] -- COMMAND ARGS...

Reads what the command writes for --wait seconds, types --send (if given),
then reads until the command exits or --timeout seconds pass (then kills
it). Prints one JSON object: {"status": exit status or -signal, "killed":
bool, "output": what it wrote, as text with undecodable bytes replaced}."""

import argparse
import json
import os
import pty
import select
import signal
import time

p = argparse.ArgumentParser()
p.add_argument("--wait", type=float, default=2.0)
p.add_argument("--send", default=None)
p.add_argument("--timeout", type=float, default=5.0)
p.add_argument("command", nargs=argparse.REMAINDER)
a = p.parse_args()
command = a.command[1:] if a.command[:1] == ["--"] else a.command

pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

out = b""


def read_for(seconds):
    """Reads until `seconds` pass or the terminal closes; False when closed."""
    global out
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the command exited and the pty closed
                return False
            if not chunk:
                return False
            out += chunk
    return True


open_ = read_for(a.wait)
if open_ and a.send is not None:
    os.write(fd, a.send.encode())
end = time.monotonic() + a.timeout
read_for(a.timeout)
# The terminal closes as the command exits, a moment before it is reaped.
killed = False
done, status = os.waitpid(pid, os.WNOHANG)
while done == 0 and time.monotonic() < end:
    time.sleep(0.01)
    done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, signal.SIGKILL)
    killed = True
    _, status = os.waitpid(pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "killed": killed,
                  "output": out.decode("utf-8", "replace")}))
