#!/usr/bin/env python3
"""A stand-in for the gui tile, for developing and testing the page alone.

Usage: gui-mock-server.py PORT [--tiles N] [--interval-ms MS]
           [--stale-after S] [--stale-file PATH]
           [--down-after S --down-for S] [--down-file PATH]
           [--status NAME=STATUS ...] [--assets DIR]

Serves on 127.0.0.1:PORT (0 picks a free port; the first line printed is
"listening on http://127.0.0.1:PORT/"):

  /, /app.css, /app.js   the page, from Sources/GuiTile/Assets (or --assets),
                         with the gui tile's Content-Security-Policy
  /api/v1/snapshot       one snapshot (urn:tilectl:schema:gui-snapshot:1)
  /api/v1/stream         Server-Sent Events: "retry: 2000", then one
                         "event: snapshot" every interval
  /metrics               Prometheus text, consistent with the snapshots: the
                         same tiles, statuses, heartbeats, and counters whose
                         rates are the snapshots' rates (tile_status,
                         tile_heartbeat_timestamp_nanos,
                         link_frag_consumed_total, ...)

The topology is synthetic and validator-like: source -> verify -> dedup ->
sink plus metric (8 tiles: 1 source, 4 verify); above 8 tiles, 2 sources, up
to 64 verifiers, 2 sinks and synth tiles for the rest. Every link instance
has its fragment rate wandering +-10% around its base; one edge loses
fragments (an overrun) at 2/s.

Faults, to test the page's banner:
  --stale-after S   tile verify:1 stops heartbeating and working so that it
                    is stale from S seconds after start, and recovers S
                    seconds later
  --stale-file P    verify:1 is stale while file P exists
  --down-after S --down-for D
                    from S seconds on, for D seconds, every connection is
                    dropped without an answer (the topology stopped; streams
                    open then are cut)
  --down-file P     the same while file P exists
  --status NAME=ST  pin a tile's status (booting, running, shutdown, unknown)
  --skew-metrics F  /metrics's link_frag_consumed_total times F: the page's
                    rates then disagree with /metrics (to see `check` fail)
"""
import argparse
import json
import math
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA = "urn:tilectl:schema:gui-snapshot:1"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
STATUS_VALUE = {"booting": 0, "running": 1, "shutdown": 2, "unknown": 3}
PERIOD = 20.0  # seconds of one rate wave
FRAG_BYTES = 296


class Edge:
    def __init__(self, link, link_id, producer, consumer, base, filtered=0.0, lost_rate=0.0):
        self.link, self.link_id = link, link_id
        self.producer, self.consumer = producer, consumer
        self.base, self.filtered_base, self.lost_rate = base, filtered, lost_rate
        self.phase = (hash((link, link_id, consumer.name)) % 1000) / 1000 * 2 * math.pi

    def integral(self, t):
        """Fragments consumed from 0 to t (seconds since start), ignoring faults."""
        w = 2 * math.pi / PERIOD
        return self.base * (t - 0.1 / w * (math.cos(w * t + self.phase) - math.cos(self.phase)))


class Tile:
    def __init__(self, kind, kind_id, index, busy, bp=0.0):
        self.kind, self.kind_id, self.index = kind, kind_id, index
        self.name = f"{kind}:{kind_id}"
        self.pid = 4000 + index
        self.busy_base, self.bp_base = busy, bp
        self.status = "running"


class Model:
    def __init__(self, n, interval_ms, stale_after_ms=2000):
        self.start = time.time()
        self.interval_ms = interval_ms
        self.stale_after_ms = stale_after_ms
        self.tiles, self.edges = [], []
        self.skew = 1.0  # --skew-metrics: /metrics's consumed counters times this (a wrong page, for tests of the tests)
        self.frozen = []  # [last heartbeat, work stops, end or None], seconds since start, of the faulty tile
        self.lock = threading.Lock()
        self._build(n)
        self.faulty = next(t for t in self.tiles if t.name == "verify:1" or t is self.tiles[-1])

    def _build(self, n):
        if n < 5:
            raise SystemExit("gui-mock-server: --tiles must be at least 5")
        if n <= 8:
            counts = [("source", 1), ("verify", n - 4), ("dedup", 1), ("sink", 1), ("metric", 1)]
        else:
            verify = min(64, n - 6)
            counts = [("source", 2), ("verify", verify), ("dedup", 1), ("sink", 2)]
            if n - 6 - verify > 0:
                counts.append(("synth", n - 6 - verify))
            counts.append(("metric", 1))
        busy = {"source": (0.97, 0.85), "verify": (0.88, 0.0), "dedup": (0.25, 0.0), "sink": (0.08, 0.0),
                "synth": (0.5, 0.0), "metric": (0.02, 0.0)}
        by_kind = {}
        for kind, c in counts:
            for i in range(c):
                t = Tile(kind, i, len(self.tiles), *busy[kind])
                self.tiles.append(t)
                by_kind.setdefault(kind, []).append(t)
        total = 10000.0
        sources, verifiers = by_kind["source"], by_kind["verify"]
        per_source = total / len(sources)
        for s in sources:
            for v in verifiers:
                share = per_source / len(verifiers)
                self.edges.append(Edge("source_verify", s.kind_id, s, v, share, per_source - share))
        per_verify = total * 0.93 / len(verifiers)
        for v in verifiers:
            lost = 2.0 if v is verifiers[-1] else 0.0
            self.edges.append(Edge("verify_dedup", v.kind_id, v, by_kind["dedup"][0], per_verify, 0.0, lost))
        for s in by_kind["sink"]:
            self.edges.append(Edge("dedup_sink", 0, by_kind["dedup"][0], s, total * 0.88))

    # ---- time and faults ----
    def now(self):
        return time.time() - self.start

    def set_frozen(self, on, t):
        """The faulty tile stops (its heartbeat dated stale_after_ms back, so it is
        stale at once; its counters stop from now on) or starts again."""
        with self.lock:
            if on and (not self.frozen or self.frozen[-1][2] is not None):
                self.frozen.append([max(0.0, t - self.stale_after_ms / 1000.0), t, None])
            elif not on and self.frozen and self.frozen[-1][2] is None:
                self.frozen[-1][2] = t

    def frozen_at(self, t):
        """The faulty tile's last heartbeat (seconds since start) while it is frozen at t, else None."""
        with self.lock:
            for hb, _, end in self.frozen:
                if hb <= t and (end is None or t < end):
                    return hb
        return None

    def counted(self, f, t, touches_faulty):
        """f integrated over [0, t] less the intervals the faulty tile did no work, when they apply."""
        v = f(t)
        if touches_faulty:
            with self.lock:
                for _, a, b in self.frozen:
                    if a < t:
                        v -= f(min(t, b if b is not None else t)) - f(a)
        return v

    # ---- per tile ----
    def busy(self, tile, t):
        if self.frozen_at(t) is not None and tile is self.faulty:
            return 0.0, 0.0
        w = 2 * math.pi / 7.0
        b = tile.busy_base + 0.08 * math.sin(w * t + tile.index)
        b = min(1.0, max(0.0, b))
        bp = min(b, tile.bp_base + 0.05 * math.sin(w * t + tile.index) if tile.bp_base else 0.0)
        return b, max(0.0, bp)

    def heartbeat(self, tile, t):
        """Seconds since start of the tile's last heartbeat."""
        fz = self.frozen_at(t) if tile is self.faulty else None
        if fz is not None:
            return fz
        return max(0.0, t - ((tile.index * 7 + int(t * 1000)) % 20) / 1000.0)

    def bp_events(self, tile, t):
        return int(tile.bp_base * 60 * t)

    def status(self, tile):
        return tile.status

    def edge_counts(self, e, t):
        touches = e.producer is self.faulty or e.consumer is self.faulty
        consumed = self.counted(e.integral, t, touches)
        filtered = self.counted(lambda x: e.filtered_base * x, t, touches)
        lost = self.counted(lambda x: e.lost_rate * x, t, touches)
        return consumed, filtered, lost

    # ---- the snapshot ----
    def snapshot(self, seq):
        t = self.now()
        dt = self.interval_ms / 1000.0
        tiles = []
        healthy = True
        for tile in self.tiles:
            b, bp = self.busy(tile, t)
            age_ms = max(0.0, (t - self.heartbeat(tile, t)) * 1000.0)
            stale = age_ms > self.stale_after_ms
            status = self.status(tile)
            healthy = healthy and status == "running" and not stale
            hk = 0.001 if tile.kind != "metric" else 0.004
            tiles.append({
                "name": tile.name, "kind": tile.kind, "kind_id": tile.kind_id, "pid": tile.pid,
                "status": status, "heartbeat_age_ms": round(age_ms, 1), "stale": stale,
                "busy": round(b, 4),
                "regime_shares": {"caught_up": round(1 - b, 4), "processing": round(b - bp, 4),
                                  "backpressured": round(bp, 4)},
                "housekeeping_share": hk,
                "in_backpressure": bp > 0.5, "backpressure_events": self.bp_events(tile, t),
            })
        links = []
        for e in self.edges:
            c1, f1, l1 = self.edge_counts(e, t)
            c0, f0, l0 = self.edge_counts(e, max(0.0, t - dt))
            links.append({
                "link": e.link, "producer": e.producer.name, "consumer": e.consumer.name,
                "frags_per_second": round((c1 - c0) / dt, 3),
                "bytes_per_second": round((c1 - c0) / dt * FRAG_BYTES, 3),
                "filtered_per_second": round((f1 - f0) / dt, 3),
                "lost_per_second": round((int(l1) - int(l0)) / dt, 3),
                "lost": int(l1),
            })
        return {
            "schema": SCHEMA, "topology": "validator" if len(self.tiles) <= 8 else f"mock-{len(self.tiles)}",
            "seq": seq, "interval_ms": self.interval_ms, "stale_after_ms": self.stale_after_ms,
            "sampled_at": round(time.time(), 3), "healthy": healthy, "tiles": tiles, "links": links,
        }

    # ---- Prometheus text ----
    def metrics(self):
        t = self.now()
        out = []

        def family(name, typ, help_, samples):
            out.append(f"# HELP {name} {help_}\n# TYPE {name} {typ}\n")
            for labels, value in samples:
                lab = ",".join(f'{k}="{v}"' for k, v in labels)
                out.append(f"{name}{{{lab}}} {value}\n")

        tl = [(tile, [("kind", tile.kind), ("kind_id", tile.kind_id)]) for tile in self.tiles]
        out.append('# HELP tilectl_build_info The tilectl build serving these metrics: its version and git commit '
                   '(value 1).\n# TYPE tilectl_build_info gauge\ntilectl_build_info{version="0.1.0",commit="mock"} 1\n')
        family("tile_pid", "gauge", "The process ID of the tile.", [(l, x.pid) for x, l in tl])
        family("tile_status", "gauge", "The current status of the tile. 0 is booting, 1 is running, 2 is shut down.",
               [(l, STATUS_VALUE[self.status(x)]) for x, l in tl])
        family("tile_heartbeat_timestamp_nanos", "gauge",
               "The last UNIX timestamp in nanoseconds that the tile heartbeated.",
               [(l, int((self.start + self.heartbeat(x, t)) * 1e9)) for x, l in tl])
        family("tile_in_backpressure", "gauge", "Whether the tile is currently backpressured (1) or not (0).",
               [(l, int(self.busy(x, t)[1] > 0.5)) for x, l in tl])
        family("tile_backpressure_total", "counter",
               "Times the tile had to wait for one or more consumers to catch up before publishing.",
               [(l, self.bp_events(x, t)) for x, l in tl])
        regimes = []
        for x, l in tl:
            ns = t * 1e9
            shares = {"caught_up": 1 - x.busy_base, "processing": x.busy_base - x.bp_base, "backpressured": x.bp_base}
            for r, sh in shares.items():
                regimes.append((l + [("tile_regime", r + "_housekeeping")], int(ns * sh * 0.001)))
                regimes.append((l + [("tile_regime", r)], int(ns * sh * 0.999)))
        family("tile_regime_duration_nanos_total", "counter",
               "Mutually exclusive and exhaustive time the tile spent in each regime.", regimes)
        el = []
        for e in self.edges:
            labels = [("kind", e.consumer.kind), ("kind_id", e.consumer.kind_id),
                      ("link_kind", e.link), ("link_kind_id", e.link_id)]
            el.append((labels, self.edge_counts(e, t)))
        skew = self.skew
        family("link_frag_consumed_total", "counter", "Fragments the consumer read and processed.",
               [(l, int(c[0] * skew)) for l, c in el])
        family("link_frag_consumed_bytes_total", "counter", "Payload bytes the consumer read and processed.",
               [(l, int(c[0]) * FRAG_BYTES) for l, c in el])
        family("link_frag_filtered_total", "counter",
               "Fragments the consumer skipped without reading them (not its share of the work).",
               [(l, int(c[1])) for l, c in el])
        family("link_frag_polling_overrun_total", "counter",
               "Fragments lost because the producer lapped the consumer between polls.",
               [(l, int(c[2])) for l, c in el])
        family("link_frag_reading_overrun_total", "counter",
               "Fragments lost because they were overwritten while the consumer read them.",
               [(l, 0) for l, c in el])
        family("link_slow_total", "counter", "Times the producer found this consumer holding it back (out of credits).",
               [(l, 0) for l, c in el])
        return "".join(out)


class State:
    def __init__(self, model, args):
        self.model, self.args = model, args
        self.seq = 0
        self.latest = ""
        self.cond = threading.Condition()
        self.down = False
        self.stop = False

    def tick(self):
        m, a = self.model, self.args
        t = m.now()
        if a.stale_file:
            m.set_frozen(os.path.exists(a.stale_file), t)
        down = False
        if a.down_after is not None and a.down_after <= t < a.down_after + a.down_for:
            down = True
        if a.down_file and os.path.exists(a.down_file):
            down = True
        with self.cond:
            self.down = down
            self.seq += 1
            self.latest = json.dumps(m.snapshot(self.seq), separators=(",", ":"))
            self.cond.notify_all()

    def run(self):
        step = self.model.interval_ms / 1000.0
        nxt = time.monotonic()
        while not self.stop:
            self.tick()
            nxt += step
            time.sleep(max(0.0, nxt - time.monotonic()))


def make_handler(state, assets):
    files = {"/": ("index.html", "text/html; charset=utf-8"),
             "/index.html": ("index.html", "text/html; charset=utf-8"),
             "/app.css": ("app.css", "text/css; charset=utf-8"),
             "/app.js": ("app.js", "text/javascript; charset=utf-8")}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "gui-mock"

        def log_message(self, fmt, *args):
            if state.args.verbose:
                sys.stderr.write("gui-mock: " + (fmt % args) + "\n")

        def send(self, code, ctype, body, extra=()):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            if state.down:
                self.close_connection = True  # no answer at all: a refused/cut connection to the client
                return
            path = self.path.split("?", 1)[0]
            if path in files:
                name, ctype = files[path]
                try:
                    with open(os.path.join(assets, name), "rb") as f:
                        data = f.read()
                except OSError as e:
                    self.send(500, "text/plain", str(e).encode())
                    return
                self.send(200, ctype, data, [("Content-Security-Policy", CSP), ("Referrer-Policy", "no-referrer"),
                                             ("X-Frame-Options", "DENY")])
            elif path == "/api/v1/snapshot":
                with state.cond:
                    body = state.latest.encode()
                self.send(200, "application/json", body)
            elif path == "/api/v1/stream":
                self.stream()
            elif path == "/metrics":
                self.send(200, "text/plain; version=0.0.4; charset=utf-8", state.model.metrics().encode())
            elif path == "/healthz":
                self.send(200, "text/plain", b"ok\n")
            else:
                self.send(404, "text/plain", b"not found\n")

        def stream(self):
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(b"retry: 2000\n\n")
                self.wfile.flush()
                seen = 0
                while not state.stop:
                    with state.cond:
                        state.cond.wait_for(lambda: state.seq != seen or state.stop, timeout=5)
                        if state.down:
                            return
                        seen, body = state.seq, state.latest
                    self.wfile.write(b"event: snapshot\ndata: " + body.encode() + b"\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                return

    return Handler


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="A mock of the gui tile's HTTP side.")
    p.add_argument("port", type=int)
    p.add_argument("--tiles", type=int, default=8)
    p.add_argument("--interval-ms", type=int, default=250)
    p.add_argument("--stale-after-ms", type=int, default=2000, help="the staleness bound the snapshots report")
    p.add_argument("--stale-after", type=float, default=None, metavar="S")
    p.add_argument("--stale-file", default=None)
    p.add_argument("--down-after", type=float, default=None, metavar="S")
    p.add_argument("--down-for", type=float, default=5.0, metavar="S")
    p.add_argument("--down-file", default=None)
    p.add_argument("--status", action="append", default=[], metavar="NAME=STATUS")
    p.add_argument("--skew-metrics", type=float, default=1.0, metavar="F",
                   help="multiply link_frag_consumed_total in /metrics by F (the page then shows a wrong rate)")
    p.add_argument("--assets", default=os.path.join(here, "..", "..", "Sources", "GuiTile", "Assets"))
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()

    model = Model(args.tiles, args.interval_ms, args.stale_after_ms)
    model.skew = args.skew_metrics
    if args.stale_after is not None:
        # planned: it stops heartbeating (and working) stale_after_ms before it is to be seen stale
        s = args.stale_after
        model.frozen.append([max(0.0, s - args.stale_after_ms / 1000.0)] * 2 + [2 * s])
    for spec in args.status:
        name, _, status = spec.partition("=")
        if status not in STATUS_VALUE:
            p.error(f"--status {spec}: the status is one of {', '.join(STATUS_VALUE)}")
        for tile in model.tiles:
            if tile.name == name:
                tile.status = status
                break
        else:
            p.error(f"--status {spec}: no tile {name}")
    state = State(model, args)
    state.tick()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state, os.path.abspath(args.assets)))
    server.daemon_threads = True
    threading.Thread(target=state.run, daemon=True).start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.stop = True
        with state.cond:
            state.cond.notify_all()
        server.server_close()


if __name__ == "__main__":
    main()
