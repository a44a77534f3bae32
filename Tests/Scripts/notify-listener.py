#!/usr/bin/env python3
"""systemd's side of sd_notify(3) for the tests: binds a datagram socket at
PATH (or @NAME, in the abstract namespace) and prints each datagram it
receives as one JSON line: {"t": seconds since start, "msg": "..."}, until
SECONDS pass or it is killed."""
import json
import os
import socket
import sys
import time

address, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if address.startswith("@"):
    s.bind("\0" + address[1:])
else:
    if os.path.exists(address):
        os.unlink(address)
    s.bind(address)
print(json.dumps({"t": 0, "msg": "LISTENING"}), flush=True)
start = time.monotonic()
while True:
    left = seconds - (time.monotonic() - start)
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data = s.recv(4096)
    except socket.timeout:
        break
    print(json.dumps({"t": round(time.monotonic() - start, 3), "msg": data.decode()}), flush=True)
