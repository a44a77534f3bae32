#!/usr/bin/env python3
"""Overloads the metric tile while a scraper keeps scraping it.

  overload.py flood     --port P [--connections 1000] [--seconds 10]
  overload.py slowloris --port P [--connections 400]  [--seconds 10]

flood: keeps N connections open that send nothing, reopening any the server
closes. slowloris: keeps N connections trickling a request head, one byte
every 100 ms, reopening any the server closes. Meanwhile a scraper opens a
fresh connection every 20 ms and GETs /metrics (Connection: close), with a
2 s deadline. Prints one JSON object with what the scraper saw."""
import argparse
import json
import resource
import selectors
import socket
import time

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["flood", "slowloris"])
p.add_argument("--port", type=int, required=True)
p.add_argument("--connections", type=int, default=1000)
p.add_argument("--seconds", type=float, default=10.0)
args = p.parse_args()

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

ADDR = ("127.0.0.1", args.port)
SLOW_HEAD = b"GET /metrics HTTP/1.1\r\nHost: victim\r\nUser-Agent: slowloris\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\n"
sel = selectors.DefaultSelector()
attackers = {}  # socket -> bytes sent so far
stats = {"attacker_connects": 0, "attacker_closed_by_server": 0}


def open_attacker():
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect_ex(ADDR)
    except OSError:
        s.close()
        return
    attackers[s] = 0
    sel.register(s, selectors.EVENT_READ)
    stats["attacker_connects"] += 1


def drop(s):
    sel.unregister(s)
    attackers.pop(s, None)
    s.close()


def scrape():
    t0 = time.monotonic()
    try:
        with socket.create_connection(ADDR, timeout=2.0) as c:
            c.settimeout(2.0)
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: scraper\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = c.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
                if time.monotonic() - t0 > 2.0:
                    return False, time.monotonic() - t0
        head, _, body = data.partition(b"\r\n\r\n")
        ok = head.startswith(b"HTTP/1.1 200 ")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                ok = ok and int(line.split(b":")[1]) == len(body)
        return ok, time.monotonic() - t0
    except OSError:
        return False, time.monotonic() - t0


for _ in range(args.connections):
    open_attacker()

latencies, ok_count, scrapes = [], 0, 0
end = time.monotonic() + args.seconds
next_scrape = time.monotonic()
next_trickle = time.monotonic()
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.005):
        s = key.fileobj
        try:
            if not s.recv(65536):
                raise OSError
        except BlockingIOError:
            continue
        except OSError:
            stats["attacker_closed_by_server"] += 1
            drop(s)
    while len(attackers) < args.connections:
        open_attacker()
    now = time.monotonic()
    if args.mode == "slowloris" and now >= next_trickle:
        next_trickle = now + 0.1
        for s, sent in list(attackers.items()):
            if sent < len(SLOW_HEAD):
                try:
                    if s.send(SLOW_HEAD[sent:sent + 1]) == 1:
                        attackers[s] = sent + 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    stats["attacker_closed_by_server"] += 1
                    drop(s)
    if now >= next_scrape:
        next_scrape = now + 0.02
        ok, seconds = scrape()
        scrapes += 1
        ok_count += ok
        latencies.append(seconds)

for s in list(attackers):
    drop(s)
latencies.sort()
pct = lambda q: round(latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000, 2)
print(json.dumps({"mode": args.mode, "connections": args.connections, "scrapes": scrapes, "ok": ok_count,
                  "success": round(ok_count / max(1, scrapes), 4), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                  "max_ms": round(latencies[-1] * 1000, 2), **stats}))
