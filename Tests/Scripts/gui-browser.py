#!/usr/bin/env python3
"""Drives the gui tile's page in headless Chromium (Selenium 4, Debian's
/usr/bin/chromium and /usr/bin/chromedriver) and checks what it shows.

  check --url URL --metrics METRICS_URL [--screenshot PNG]
      waits for 3 live updates, then compares the page with Prometheus
      /metrics: the tile count (tile_status series), every tile's status
      (tile_status) and staleness (tile_heartbeat_timestamp_nanos, with a
      margin), and one link's fragment rate (link_frag_consumed_total over two
      scrapes) against the rate the page shows for that edge; checks the
      browser console for script errors and CSP violations; the screenshot
      must not be blank.
  wait-stale --url URL --tile NAME --timeout S [--recover-timeout S] [--screenshot PNG]
      exit 0 once the page shows NAME stale (its row and its graph node, or
      its kind's group node) and the banner names it; prints the seconds it
      took ("seconds stale 2.345"); with --recover-timeout, then waits in the
      same page for the recovery ("seconds recovered ...").
  wait-recovered --url URL --tile NAME --timeout S
      exit 0 once NAME is not stale, no banner shows and updates arrive
      (loads the page again while the server does not answer).
  wait-unreachable --url URL --timeout S [--recover-timeout S] [--screenshot PNG]
      exit 0 once the page says "topology stopped or unreachable" (the stream
      failed), printing "live" once the page has its first update (the
      moment to stop the topology); with --recover-timeout, then waits for
      the banner to go.
  keyboard --url URL
      Tab reaches the skip link, the graph nodes, the table and its sort
      buttons; focus is visible; Enter and Space on a graph node select its
      tile's row (aria-selected, class selected, scrolled into view); Escape
      clears; Enter on a sort button sorts; the skip link moves focus to the
      table.
  size --url URL --tiles N [--screenshot PNG]
      at N tiles: every tile has a row, kinds with many tiles are drawn as one
      node, graph nodes do not overlap and their labels fit inside them, edge
      labels overlap neither each other nor a node, every node lies in the
      SVG, the graph fits its container or scrolls in it,
      the page does not overflow sideways, the table scrolls with a sticky
      header; the screenshot must not be blank.

  hold --url URL [--pages N] [--seconds S]
      opens N tabs of the page, prints "live N" once each has an update,
      keeps them open S seconds, and checks each got updates meanwhile.

Options before the subcommand: --dark (prefer the dark colour scheme),
--chromium PATH, --chromedriver PATH.

Prints one line per check ("ok    ..." or "FAIL  ..."), then a last line
"SUBCOMMAND: ok" or "SUBCOMMAND: FAIL (N failed)"; exit 0 when all pass, 1
otherwise, 2 on a usage error.
"""
import argparse
import json
import os
import re
import signal
import struct
import sys
import time
import urllib.request
import zlib

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
STATUS_NAMES = {0: "booting", 1: "running", 2: "shutdown"}
UNREACHABLE = "topology stopped or unreachable"


class Report:
    def __init__(self):
        self.failed = 0

    def ok(self, msg):
        print(f"ok    {msg}", flush=True)

    def fail(self, msg):
        self.failed += 1
        print(f"FAIL  {msg}", flush=True)

    def check(self, cond, msg_ok, msg_fail=None):
        if cond:
            self.ok(msg_ok)
        else:
            self.fail(msg_fail or msg_ok)
        return cond


# ---------- the browser ----------

def make_driver(args):
    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--force-color-profile=srgb",
              "--disable-extensions", "--no-first-run", "--disable-background-networking"):
        opts.add_argument(a)
    if args.dark:
        opts.add_argument("--force-dark-mode")
        opts.add_argument("--blink-settings=preferredColorScheme=0")
    else:
        opts.add_argument("--blink-settings=preferredColorScheme=1")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(args.chromedriver), options=opts)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def open_page(driver, url, deadline):
    """Loads url, retrying until deadline while the server does not answer."""
    while True:
        try:
            driver.get(url)
            if driver.execute_script("return !!document.getElementById('banner')"):
                return True
        except WebDriverException:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def js(driver, script, *args):
    return driver.execute_script(script, *args)


PAGE_STATE = r"""
const q = (s) => document.querySelector(s);
const rows = [...document.querySelectorAll('#tiles tbody tr[data-tile]')].map((tr) => {
  const td = tr.querySelector('td[data-status]');
  return {name: tr.dataset.tile, kind: tr.dataset.kind, kind_id: tr.dataset.kindId,
          status: td ? td.dataset.status : null, stale: tr.dataset.stale === 'true',
          selected: tr.getAttribute('aria-selected') === 'true'};
});
const edges = [...document.querySelectorAll('#graph [data-link]')].map((e) => ({
  link: e.dataset.link, producer: e.dataset.producer, consumer: e.dataset.consumer,
  producer_kind: e.dataset.producerKind, consumer_kind: e.dataset.consumerKind,
  producer_tile: e.dataset.producerTile || '', consumer_tile: e.dataset.consumerTile || '',
  aggregate: e.dataset.aggregate === 'true', rate: parseFloat(e.dataset.rate), text: e.textContent}));
const nodes = [...document.querySelectorAll('#graph .node')].map((n) => ({
  tile: n.dataset.tile || null, kind: n.dataset.kind || null, aggregate: n.dataset.aggregate === 'true',
  status: n.dataset.status, stale: n.dataset.stale === 'true'}));
const b = q('#banner');
const tc = q('#tile-count');
return JSON.stringify({
  updates: parseInt(document.body.dataset.updates || '0', 10),
  seq: document.body.dataset.seq || (q('#seq') ? q('#seq').textContent : ''),
  count: tc ? tc.textContent.trim() : null,
  stale_after_ms: parseFloat(document.body.dataset.staleAfterMs || '2000'),
  connection: document.body.dataset.connection,
  banner: b && !b.hidden ? b.textContent : null,
  rows, edges, nodes});
"""


def page_state(driver):
    return json.loads(js(driver, PAGE_STATE))


def wait_updates(driver, n, timeout):
    WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: int(js(d, "return parseInt(document.body.dataset.updates || '0', 10)") or 0) >= n)


def console_problems(driver):
    """Script errors and CSP violations in the browser console (network errors are not ours)."""
    try:
        entries = driver.get_log("browser")
    except WebDriverException:
        return []
    bad = []
    for e in entries:
        msg = e.get("message", "")
        if "Content Security Policy" in msg or "Refused to" in msg:
            bad.append(msg)
        elif e.get("level") == "SEVERE" and e.get("source") == "javascript":
            bad.append(msg)
        elif e.get("level") == "SEVERE" and "Uncaught" in msg:
            bad.append(msg)
    return bad


# ---------- screenshots ----------

def png_colours(path, limit=64):
    """Distinct colours (up to limit) in a PNG, decoded with zlib alone: 8-bit RGB or RGBA."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", chunk)
        elif ctype == b"IDAT":
            idat.append(chunk)
        elif ctype == b"IEND":
            break
    width, height, depth, ctype_, _, _, interlace = hdr
    if depth != 8 or ctype_ not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype_}, interlace {interlace})")
    bpp = 3 if ctype_ == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    colours = set()
    for y in range(height):
        off = y * (stride + 1)
        ft = raw[off]
        line = bytearray(raw[off + 1:off + 1 + stride])
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ft == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 0xFF
        if len(colours) < limit and y % 4 == 0:
            for x in range(0, stride, bpp * 3):
                colours.add(bytes(line[x:x + 3]))
        prev = line
    return width, height, colours


def screenshot(driver, path, rep):
    if not path:
        return
    try:
        driver.save_screenshot(path)
        w, h, colours = png_colours(path)
    except (OSError, ValueError, WebDriverException, zlib.error) as e:
        rep.fail(f"screenshot {path}: {e}")
        return
    rep.check(len(colours) > 3, f"screenshot {path}: {w}x{h}, {len(colours)}{'+' if len(colours) >= 64 else ''} colours",
              f"screenshot {path} looks blank: {w}x{h}, only {len(colours)} distinct colours")


# ---------- /metrics ----------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_metrics(text):
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = {}
        if m.group(2):
            for k, v in LABEL.findall(m.group(2)):
                labels[k] = v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append((m.group(1), labels, value))
    return out


def scrape(url):
    """(samples, monotonic time of the middle of the request)."""
    t0 = time.monotonic()
    req = urllib.request.Request(url, headers={"Accept": "text/plain;version=0.0.4", "User-Agent": "gui-browser.py"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode("utf-8", "replace")
    t1 = time.monotonic()
    return parse_metrics(text), (t0 + t1) / 2


def series(samples, name, **want):
    return [(labels, v) for n, labels, v in samples if n == name and all(labels.get(k) == w for k, w in want.items())]


# ---------- check ----------

def compare_tiles(state, samples, now):
    """Differences between the page's tiles and /metrics: [str]."""
    rows = {(r["kind"], r["kind_id"]): r for r in state["rows"]}
    statuses = {(l.get("kind"), l.get("kind_id")): v for l, v in series(samples, "tile_status")}
    beats = {(l.get("kind"), l.get("kind_id")): v for l, v in series(samples, "tile_heartbeat_timestamp_nanos")}
    diffs = []
    for key, v in sorted(statuses.items()):
        name = f"{key[0]}:{key[1]}"
        row = rows.get(key)
        if row is None:
            diffs.append(f"{name}: in /metrics (tile_status {v:g}) but not in the page's table")
            continue
        want = STATUS_NAMES.get(int(v), "unknown")
        if row["status"] != want:
            diffs.append(f"{row['name']}: the page shows {row['status']}, /metrics says {want} (tile_status {v:g})")
        hb = beats.get(key)
        if hb:
            age_ms = now * 1000 - hb / 1e6
            bound = state["stale_after_ms"]
            if age_ms > bound + 1000 and not row["stale"]:
                diffs.append(f"{row['name']}: heartbeat {age_ms / 1000:.1f} s old in /metrics, the page does not show it stale")
            if age_ms < bound - 1000 and row["stale"]:
                diffs.append(f"{row['name']}: the page shows it stale, its heartbeat in /metrics is {age_ms:.0f} ms old")
    for key, row in rows.items():
        if key not in statuses:
            diffs.append(f"{row['name']}: in the page's table, no tile_status for it in /metrics")
    return diffs


def link_selector(edge, rows_by_name):
    """The labels of link_frag_consumed_total behind a page edge."""
    link, _, link_id = edge["link"].partition(":")
    want = {"kind": edge["consumer_kind"], "link_kind": link}
    if edge["consumer_tile"] and edge["consumer_tile"] in rows_by_name:
        want["kind_id"] = rows_by_name[edge["consumer_tile"]]["kind_id"]
    if link_id:
        want["link_kind_id"] = link_id
    elif edge["producer_tile"] and edge["producer_tile"] in rows_by_name:
        want["link_kind_id"] = rows_by_name[edge["producer_tile"]]["kind_id"]
    return want


EDGE_RATE = r"""
const [link, producer, consumer] = arguments;
for (const e of document.querySelectorAll('#graph [data-link]')) {
  if (e.dataset.link === link && e.dataset.producer === producer && e.dataset.consumer === consumer)
    return [parseFloat(e.dataset.rate), parseInt(document.body.dataset.seq || '-1', 10)];
}
return null;
"""


def cmd_check(args, driver, rep):
    if not open_page(driver, args.url, time.monotonic() + args.timeout):
        rep.fail(f"{args.url} did not load within {args.timeout} s")
        return
    try:
        wait_updates(driver, 3, args.timeout)
    except TimeoutException:
        st = page_state(driver)
        rep.fail(f"fewer than 3 live updates within {args.timeout} s (got {st['updates']}; banner: {st['banner']!r})")
        return
    rep.ok("3 live updates arrived")

    # tiles: count, status, staleness (read twice when they differ: a tile may change between reads)
    for attempt in range(3):
        state = page_state(driver)
        samples, _ = scrape(args.metrics)
        diffs = compare_tiles(state, samples, time.time())
        keys = {(l.get("kind"), l.get("kind_id")) for l, _ in series(samples, "tile_status")}
        count_ok = state["count"] == str(len(keys)) == str(len(state["rows"]))
        if not diffs and count_ok:
            break
        time.sleep(1.5)
    rep.check(count_ok, f"tile count: page {state['count']}, table rows {len(state['rows'])}, /metrics {len(keys)} (tile_status)",
              f"tile count differs: page shows {state['count']}, its table has {len(state['rows'])} rows, "
              f"/metrics has {len(keys)} tiles (tile_status series)")
    if diffs:
        for d in diffs[:20]:
            rep.fail(f"tile status: {d}")
        if len(diffs) > 20:
            rep.fail(f"tile status: {len(diffs) - 20} more differences")
    else:
        rep.ok(f"every tile's status and staleness matches /metrics ({len(state['rows'])} tiles)")

    # one link's rate
    rows_by_name = {r["name"]: r for r in state["rows"]}
    edges = [e for e in state["edges"] if not e["aggregate"]] or state["edges"]
    if not edges:
        rep.fail("the page shows no link (no element with data-link in the graph)")
    else:
        if args.link:
            chosen = [e for e in edges if e["link"] == args.link or e["link"].partition(":")[0] == args.link]
            edges = chosen or edges
        edge = max(edges, key=lambda e: e["rate"])
        want = link_selector(edge, rows_by_name)
        name = f"{edge['link']} {edge['producer']} -> {edge['consumer']}"
        s0, t0 = scrape(args.metrics)
        page = []
        end = time.monotonic() + args.rate_window
        while time.monotonic() < end:
            r = js(driver, EDGE_RATE, edge["link"], edge["producer"], edge["consumer"])
            if r and (not page or r[1] != page[-1][1]):
                page.append((r[0], r[1]))
            time.sleep(0.1)
        s1, t1 = scrape(args.metrics)
        c0 = series(s0, "link_frag_consumed_total", **want)
        c1 = series(s1, "link_frag_consumed_total", **want)
        sel = ",".join(f'{k}="{v}"' for k, v in want.items())
        if not c0 or not c1:
            rep.fail(f"link rate: no link_frag_consumed_total{{{sel}}} in /metrics for the page's edge {name}")
        elif not page:
            rep.fail(f"link rate: the page's edge {name} disappeared while it was read")
        else:
            metric = (sum(v for _, v in c1) - sum(v for _, v in c0)) / (t1 - t0)
            shown = sum(p[0] for p in page) / len(page)
            tol = max(args.tolerance * abs(metric), args.rate_floor)
            rep.check(abs(shown - metric) <= tol,
                      f"link rate {name}: page {shown:.1f}/s (mean of {len(page)} updates), "
                      f"/metrics {metric:.1f}/s (link_frag_consumed_total{{{sel}}} over {t1 - t0:.2f} s), within {tol:.1f}",
                      f"link rate {name} differs: the page shows {shown:.1f}/s (mean of {len(page)} updates), "
                      f"/metrics gives {metric:.1f}/s (link_frag_consumed_total{{{sel}}} over {t1 - t0:.2f} s); "
                      f"tolerance {tol:.1f}")

    probs = console_problems(driver)
    rep.check(not probs, "browser console: no script error or CSP violation",
              "browser console: " + " | ".join(probs[:5]))
    screenshot(driver, args.screenshot, rep)


# ---------- wait-stale / wait-recovered / wait-unreachable ----------

TILE_SHOWN = r"""
const name = arguments[0];
const banner = document.getElementById('banner');
if (!banner) return null;
let row = null;
for (const tr of document.querySelectorAll('#tiles tbody tr[data-tile]')) if (tr.dataset.tile === name) row = tr;
let node = null;
for (const n of document.querySelectorAll('#graph .node[data-tile]')) if (n.dataset.tile === name) node = n;
if (!node && row) for (const n of document.querySelectorAll('#graph .node[data-aggregate="true"]')) if (n.dataset.kind === row.dataset.kind) node = n;
return JSON.stringify({
  row: !!row, rowStale: row ? row.dataset.stale === 'true' : null,
  node: !!node, nodeStale: node ? node.dataset.stale === 'true' : null,
  banner: banner.hidden ? null : banner.textContent,
  connection: document.body.dataset.connection,
  updates: parseInt(document.body.dataset.updates || '0', 10)});
"""


def poll(driver, timeout, probe, done, url=None):
    """Polls probe() until done(value); returns (value, seconds) or (last value, None) at the timeout.
    With url, a page that is gone (the browser's error page: the server was down when it loaded) is
    loaded again."""
    start = time.monotonic()
    last = None
    while True:
        try:
            raw = probe()
        except WebDriverException:
            raw = None
        if raw is None and url:
            try:
                driver.get(url)
            except WebDriverException:
                pass
        else:
            last = raw
            if raw is not None and done(raw):
                return raw, time.monotonic() - start
        if time.monotonic() - start > timeout:
            return last, None
        time.sleep(0.1)



def cmd_wait_tile(args, driver, rep, want_stale):
    if not open_page(driver, args.url, time.monotonic() + args.timeout):
        rep.fail(f"{args.url} did not load within {args.timeout} s")
        return
    name = args.tile

    def probe():
        r = js(driver, TILE_SHOWN, name)
        return json.loads(r) if r else None

    def stale(s):
        return (s["row"] and s["rowStale"] and s["node"] and s["nodeStale"]
                and s["banner"] is not None and name in s["banner"])

    def recovered(s):
        return (s["row"] and s["rowStale"] is False and s["node"] and s["nodeStale"] is False
                and s["banner"] is None and s["connection"] == "live" and s["updates"] > 0)

    phases = [("stale", stale, args.timeout)] if want_stale else [("recovered", recovered, args.timeout)]
    if want_stale and args.recover_timeout:
        phases.append(("recovered", recovered, args.recover_timeout))
    stop_pid = getattr(args, "stop_pid", None)
    if stop_pid:
        # The page is live first; then the tile stops (and later resumes)
        # here, so the seconds printed run from the signal to the page.
        try:
            wait_updates(driver, 1, args.timeout)
        except TimeoutException:
            rep.fail(f"no live update within {args.timeout} s")
            return
    try:
        for what, done, timeout in phases:
            if stop_pid:
                os.kill(stop_pid, signal.SIGSTOP if what == "stale" else signal.SIGCONT)
            s, secs = poll(driver, timeout, probe, done, args.url)
            if not report_phase(rep, name, what, timeout, s, secs):
                return
            if what == phases[0][0]:
                screenshot(driver, args.screenshot, rep)
    finally:
        if stop_pid:
            os.kill(stop_pid, signal.SIGCONT)


def report_phase(rep, name, what, timeout, s, secs):
    if secs is None:
        rep.fail(f"{name} not shown {what} within {timeout} s: last seen {json.dumps(s)}")
        return False
    detail = f"banner {s['banner']!r}" if what == "stale" else "no banner"
    rep.ok(f"{name} shown {what} after {secs:.2f} s ({detail})")
    print(f"seconds {what} {secs:.3f}", flush=True)
    return True




def cmd_wait_unreachable(args, driver, rep):
    if not open_page(driver, args.url, time.monotonic() + args.timeout):
        rep.fail(f"{args.url} did not load within {args.timeout} s")
        return
    try:
        wait_updates(driver, 1, args.timeout)
    except TimeoutException:
        rep.fail(f"no live update within {args.timeout} s")
        return
    print("live", flush=True)  # the caller may stop the topology now

    def probe():
        r = js(driver, TILE_SHOWN, "")
        return json.loads(r) if r else None

    phases = [("unreachable", lambda s: s["connection"] == "lost" and s["banner"] is not None
               and UNREACHABLE in s["banner"], args.timeout)]
    if args.recover_timeout:
        phases.append(("reachable again", lambda s: s["connection"] == "live" and (s["banner"] is None
                       or UNREACHABLE not in s["banner"]), args.recover_timeout))
    for what, done, timeout in phases:
        s, secs = poll(driver, timeout, probe, done)
        if secs is None:
            rep.fail(f"page not shown {what} within {timeout} s: last seen {json.dumps(s)}")
            return
        rep.ok(f"page shown {what} after {secs:.2f} s (banner {s['banner']!r})")
        print(f"seconds {what.split()[0]} {secs:.3f}", flush=True)
        if what == phases[0][0]:
            screenshot(driver, args.screenshot, rep)


# ---------- keyboard ----------

ACTIVE = r"""
const a = document.activeElement;
if (!a || a === document.body) return JSON.stringify({tag: 'body'});
const cs = getComputedStyle(a);
const ring = a.querySelector && a.querySelector(':scope > .ring');
let otherRing = null;
if (ring) for (const n of document.querySelectorAll('#graph .node')) if (n !== a) { otherRing = getComputedStyle(n.querySelector('.ring')).opacity; break; }
const r = a.getBoundingClientRect();
return JSON.stringify({
  tag: a.tagName.toLowerCase(), id: a.id || '', cls: a.getAttribute('class') || '',
  tile: a.getAttribute('data-tile'), kind: a.getAttribute('data-kind'), aggregate: a.getAttribute('data-aggregate') === 'true',
  sortKey: a.getAttribute('data-key'),
  inGraph: !!a.closest('#graph'), inTable: !!a.closest('#tiles-region'),
  isNode: a.classList.contains('node'), focusVisible: a.matches(':focus-visible'),
  outline: cs.outlineStyle + ' ' + cs.outlineWidth,
  ring: ring ? getComputedStyle(ring).opacity : null, otherRing,
  onScreen: r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
  label: a.getAttribute('aria-label') || (a.textContent || '').trim().slice(0, 40)});
"""

SELECTED = r"""
const rows = [...document.querySelectorAll('#tiles tbody tr')].filter((tr) => tr.getAttribute('aria-selected') === 'true');
if (rows.length !== 1) return JSON.stringify({count: rows.length});
const tr = rows[0];
const wrap = document.getElementById('tiles-region');
const a = tr.getBoundingClientRect(), w = wrap.getBoundingClientRect();
const head = wrap.querySelector('thead').getBoundingClientRect();
return JSON.stringify({count: 1, tile: tr.dataset.tile, kind: tr.dataset.kind, cls: tr.classList.contains('selected'),
  inView: a.top >= head.bottom - 2 && a.bottom <= w.bottom + 2 && a.top >= 0 && a.bottom <= innerHeight + 2,
  pressed: [...document.querySelectorAll('#graph .node[aria-pressed="true"]')].length});
"""


def press(driver, key):
    ActionChains(driver).send_keys(key).perform()


def active(driver):
    return json.loads(js(driver, ACTIVE))


def describe(a):
    if a["tag"] == "body":
        return "body"
    if a["isNode"]:
        return "graph node " + (a["tile"] or f"{a['kind']} group")
    if a["sortKey"]:
        return f"sort button {a['sortKey']}"
    return f"{a['tag']}#{a['id']}" if a["id"] else f"{a['tag']}.{a['cls']}"


def select_check(driver, rep, node, how):
    def sel(d):
        s = json.loads(js(d, SELECTED))
        return s if s["count"] == 1 and s["inView"] else False

    try:
        s = WebDriverWait(driver, 5, poll_frequency=0.1).until(sel)
    except TimeoutException:
        s = json.loads(js(driver, SELECTED))
        rep.fail(f"{how} on {describe(node)} did not select one row in view: {json.dumps(s)}")
        return False
    match = s["tile"] == node["tile"] if node["tile"] else s["kind"] == node["kind"]
    return rep.check(match and s["cls"] and s["pressed"] == 1,
                     f"{how} on {describe(node)} selects row {s['tile']} (aria-selected, class selected, in view; node aria-pressed)",
                     f"{how} on {describe(node)} selected {json.dumps(s)}")


def args_rows(driver):
    return int(js(driver, "return document.querySelectorAll('#tiles tbody tr').length"))


def cmd_keyboard(args, driver, rep):
    if not open_page(driver, args.url, time.monotonic() + args.timeout):
        rep.fail(f"{args.url} did not load within {args.timeout} s")
        return
    try:
        wait_updates(driver, 1, args.timeout)
    except TimeoutException:
        rep.fail(f"no live update within {args.timeout} s")
        return

    # Tab from the top of the page through everything focusable
    seq = []
    first_node_at = None
    for i in range(args.max_tabs):
        press(driver, Keys.TAB)
        a = active(driver)
        if seq and a == seq[0] and i > 2:
            break
        seq.append(a)
        if a["isNode"] and first_node_at is None:
            first_node_at = i
        if a["sortKey"] == "bpev":  # the last sort button: the rest is the table's rows, not focusable
            break
    names = [describe(a) for a in seq]
    rep.check(seq and "skip" in seq[0]["cls"] and seq[0]["onScreen"],
              "the first Tab reaches the skip link, shown when focused",
              f"the first Tab reached {names[0] if names else 'nothing'}, not a visible skip link")
    nodes = [a for a in seq if a["isNode"]]
    rep.check(bool(nodes), f"Tab reaches the graph nodes ({len(nodes)} of them)",
              f"Tab never reached a graph node; order: {', '.join(names[:20])}")
    rep.check(any(a["id"] == "tiles-region" for a in seq) and any(a["sortKey"] for a in seq),
              "Tab reaches the table (its scroll region and its sort buttons)",
              f"Tab did not reach the table; order: {', '.join(names[:30])}")
    bad = [describe(a) for a in seq if a["tag"] != "body" and not a["onScreen"] and "skip" not in a["cls"]]
    rep.check(not bad, "every element Tab reached was scrolled on screen",
              f"Tab focused elements left off screen: {', '.join(bad[:10])}")
    vis = [a for a in seq if a["isNode"] and not (a["focusVisible"] and a["ring"] not in (None, "0")
                                                   and a["otherRing"] in (None, "0"))]
    rep.check(nodes and not vis, "a focused graph node shows its focus ring (opacity 1; others 0)",
              f"focus is not visible on: {', '.join(describe(a) for a in vis[:5])}")
    other = [a for a in seq if not a["isNode"] and a["tag"] != "body" and a["outline"].startswith("none")]
    rep.check(not other, "every other focused element has an outline",
              f"no focus outline on: {', '.join(describe(a) for a in other[:5])}")

    if not nodes:
        return
    # back to the first node, then Enter
    driver.refresh()
    wait_updates(driver, 1, args.timeout)
    for _ in range(first_node_at + 1):
        press(driver, Keys.TAB)
    node = active(driver)
    if not node["isNode"]:
        rep.fail(f"after {first_node_at + 1} Tabs from a fresh page the focus is on {describe(node)}, not a node")
        return
    press(driver, Keys.ENTER)
    select_check(driver, rep, node, "Enter")
    a = active(driver)
    rep.check(a["isNode"], "the focus stays on the node after Enter", f"Enter moved the focus to {describe(a)}")
    press(driver, Keys.ESCAPE)
    try:
        WebDriverWait(driver, 3, poll_frequency=0.1).until(lambda d: json.loads(js(d, SELECTED))["count"] == 0)
        rep.ok("Escape clears the selection")
    except TimeoutException:
        rep.fail(f"Escape left the selection: {js(driver, SELECTED)}")
    if len(nodes) > 1:
        press(driver, Keys.TAB)
        node2 = active(driver)
        if node2["isNode"]:
            press(driver, Keys.SPACE)
            select_check(driver, rep, node2, "Space")
            press(driver, Keys.ESCAPE)

    # a sort button, by keyboard
    btn = driver.find_element(By.CSS_SELECTOR, 'button.sort[data-key="busy"]')
    js(driver, "arguments[0].focus()", btn)
    press(driver, Keys.ENTER)
    res = json.loads(js(driver, r"""
const th = document.querySelector('button.sort[data-key="busy"]').closest('th');
const col = [...th.parentNode.children].indexOf(th);
// the page fills in the numbers of the rows in view only: read those
const w = document.getElementById('tiles-region').getBoundingClientRect();
const vals = [...document.querySelectorAll('#tiles tbody tr')].filter((tr) => {
  const r = tr.getBoundingClientRect(); return r.top >= w.top && r.bottom <= w.bottom; })
  .map((tr) => parseFloat(tr.children[col].textContent));
return JSON.stringify({sort: th.getAttribute('aria-sort'), vals});"""))
    vals = res["vals"]
    ordered = (len(vals) >= min(5, args_rows(driver)) and None not in vals
               and all(vals[i] >= vals[i + 1] for i in range(len(vals) - 1)))
    rep.check(res["sort"] == "descending" and ordered,
              f"Enter on the Busy header sorts the table by busy, descending ({len(vals)} rows in view checked)",
              f"Enter on the Busy header: aria-sort {res['sort']}, busy column {vals[:12]}")

    # the skip link moves the focus to the table
    driver.refresh()
    wait_updates(driver, 1, args.timeout)
    press(driver, Keys.TAB)
    press(driver, Keys.ENTER)
    try:
        WebDriverWait(driver, 3, poll_frequency=0.1).until(lambda d: active(d)["id"] == "tiles-region")
        rep.ok("Enter on the skip link moves the focus to the table")
    except TimeoutException:
        rep.fail(f"the skip link left the focus on {describe(active(driver))}")

    probs = console_problems(driver)
    rep.check(not probs, "browser console: no script error or CSP violation", "browser console: " + " | ".join(probs[:5]))


# ---------- size ----------

LAYOUT = r"""
const inter = (a, b) => Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) *
                        Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
const nodes = [...document.querySelectorAll('#graph .node')];
const rects = nodes.map((n) => n.querySelector('.bg').getBoundingClientRect());
const name = (n) => n.dataset.tile || (n.dataset.kind + ' group');
const overlaps = [];
for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++)
  if (inter(rects[i], rects[j]) > 0.5) overlaps.push(name(nodes[i]) + ' / ' + name(nodes[j]));
const overflowing = [];
nodes.forEach((n, i) => {
  for (const t of n.querySelectorAll('text')) {
    const r = t.getBoundingClientRect();
    if (r.left < rects[i].left - 1 || r.right > rects[i].right + 1 || r.top < rects[i].top - 1 || r.bottom > rects[i].bottom + 1)
      overflowing.push(name(n) + ': "' + t.textContent + '"');
  }
});
const labels = [...document.querySelectorAll('#graph [data-link]')];
const lr = labels.map((l) => l.getBoundingClientRect());
const labelOverlaps = [];
for (let i = 0; i < lr.length; i++) for (let j = i + 1; j < lr.length; j++)
  if (inter(lr[i], lr[j]) > 1) labelOverlaps.push(labels[i].textContent + ' / ' + labels[j].textContent);
const labelOnNode = [];
for (let i = 0; i < lr.length; i++) for (let j = 0; j < rects.length; j++)
  if (inter(lr[i], rects[j]) > 1) labelOnNode.push(labels[i].textContent + ' on ' + name(nodes[j]));
const svg = document.getElementById('graph'), wrap = document.getElementById('graph-wrap');
const sr = svg.getBoundingClientRect();
const outside = nodes.filter((n, i) => rects[i].left < sr.left - 1 || rects[i].right > sr.right + 1 ||
                                       rects[i].top < sr.top - 1 || rects[i].bottom > sr.bottom + 1).map(name);
const wcs = getComputedStyle(wrap);
const graph = {svgW: sr.width, svgH: sr.height, wrapW: wrap.clientWidth, wrapH: wrap.clientHeight,
  overflowX: wcs.overflowX, overflowY: wcs.overflowY};
const region = document.getElementById('tiles-region');
const rcs = getComputedStyle(region);
region.scrollTop = Math.floor(region.scrollHeight / 2);
const th = region.querySelector('thead th');
const table = {rows: region.querySelectorAll('tbody tr[data-tile]').length, scrollH: region.scrollHeight,
  clientH: region.clientHeight, overflowY: rcs.overflowY, scrollTop: region.scrollTop,
  headTop: th.getBoundingClientRect().top, regionTop: region.getBoundingClientRect().top,
  position: getComputedStyle(th).position};
const kinds = {};
for (const tr of region.querySelectorAll('tbody tr[data-tile]')) kinds[tr.dataset.kind] = (kinds[tr.dataset.kind] || 0) + 1;
const groups = nodes.filter((n) => n.dataset.aggregate === 'true').map((n) => n.dataset.kind);
return JSON.stringify({nodes: nodes.length, overlaps, overflowing, labels: labels.length, labelOverlaps, labelOnNode, outside, graph, table,
  kinds, groups, count: document.getElementById('tile-count').textContent.trim(),
  docW: document.documentElement.scrollWidth, winW: innerWidth});
"""


def cmd_size(args, driver, rep):
    if not open_page(driver, args.url, time.monotonic() + args.timeout):
        rep.fail(f"{args.url} did not load within {args.timeout} s")
        return
    try:
        wait_updates(driver, 2, args.timeout)
    except TimeoutException:
        rep.fail(f"fewer than 2 live updates within {args.timeout} s")
        return
    L = json.loads(js(driver, LAYOUT))
    n = args.tiles
    rep.check(L["count"] == str(n) and L["table"]["rows"] == n, f"{n} tiles: the header says {L['count']}, the table has {n} rows",
              f"expected {n} tiles: the header says {L['count']}, the table has {L['table']['rows']} rows")
    many = sorted(k for k, c in L["kinds"].items() if c > args.group_above)
    missing = [k for k in many if k not in L["groups"]]
    rep.check(not missing, f"{L['nodes']} graph nodes; kinds drawn as one node: {', '.join(L['groups']) or 'none'}",
              f"kinds with more than {args.group_above} tiles not drawn as one node: {', '.join(missing)}")
    rep.check(not L["overlaps"], f"no two of the {L['nodes']} graph nodes overlap",
              f"graph nodes overlap: {'; '.join(L['overlaps'][:10])} ({len(L['overlaps'])} pairs)")
    rep.check(not L["overflowing"], "every node's text fits inside the node",
              f"node text spills out of its node: {'; '.join(L['overflowing'][:10])}")
    rep.check(not L["labelOverlaps"], f"no two of the {L['labels']} edge labels overlap",
              f"edge labels overlap: {'; '.join(L['labelOverlaps'][:10])} ({len(L['labelOverlaps'])} pairs)")
    rep.check(not L["labelOnNode"], "no edge label covers a node",
              f"edge labels cover nodes: {'; '.join(L['labelOnNode'][:10])} ({len(L['labelOnNode'])})")
    rep.check(not L["outside"], "every node lies inside the graph's SVG",
              f"nodes outside the SVG: {', '.join(L['outside'][:10])}")
    g = L["graph"]
    fits_w = g["svgW"] <= g["wrapW"] + 1 or g["overflowX"] in ("auto", "scroll")
    fits_h = g["svgH"] <= g["wrapH"] + 1 or g["overflowY"] in ("auto", "scroll")
    rep.check(fits_w and fits_h,
              f"the graph ({g['svgW']:.0f}x{g['svgH']:.0f}) fits its container ({g['wrapW']}x{g['wrapH']}) or scrolls in it "
              f"(overflow {g['overflowX']}/{g['overflowY']})",
              f"the graph ({g['svgW']:.0f}x{g['svgH']:.0f}) overflows its container ({g['wrapW']}x{g['wrapH']}, "
              f"overflow {g['overflowX']}/{g['overflowY']})")
    rep.check(L["docW"] <= L["winW"] + 1, f"the page does not overflow sideways ({L['docW']} <= {L['winW']})",
              f"the page is wider than the window: {L['docW']} > {L['winW']}")
    t = L["table"]
    if t["scrollH"] > t["clientH"] + 1:
        rep.check(t["overflowY"] in ("auto", "scroll") and t["scrollTop"] > 0,
                  f"the table scrolls in its area ({t['scrollH']} px in {t['clientH']} px)",
                  f"the table does not scroll in its area: {json.dumps(t)}")
        rep.check(t["position"] == "sticky" and abs(t["headTop"] - t["regionTop"]) <= 2,
                  "the table header stays visible while it scrolls (sticky)",
                  f"the table header scrolled away: {json.dumps(t)}")
    else:
        rep.ok(f"the table fits without scrolling ({t['scrollH']} px)")
    js(driver, "document.getElementById('tiles-region').scrollTop = 0")
    probs = console_problems(driver)
    rep.check(not probs, "browser console: no script error or CSP violation", "browser console: " + " | ".join(probs[:5]))
    screenshot(driver, args.screenshot, rep)


def cmd_hold(args, driver, rep):
    """Keeps N pages open and live for a while: the load the gui tile's
    CPU is measured under (bench/gui-cpu.sh)."""
    handles = []
    for i in range(args.pages):
        if i:
            driver.switch_to.new_window("tab")
        if not open_page(driver, args.url, time.monotonic() + args.timeout):
            rep.fail(f"page {i + 1}: {args.url} did not load within {args.timeout} s")
            return
        wait_updates(driver, 1, args.timeout)
        handles.append(driver.current_window_handle)
    start = []
    for h in handles:
        driver.switch_to.window(h)
        start.append(page_state(driver)["updates"])
    print(f"live {len(handles)}", flush=True)
    time.sleep(args.seconds)
    for i, h in enumerate(handles):
        driver.switch_to.window(h)
        got = page_state(driver)["updates"] - start[i]
        rep.check(got > 0, f"page {i + 1}: {got} updates in {args.seconds:.0f} s",
                  f"page {i + 1}: no update in {args.seconds:.0f} s")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chromium", default=CHROMIUM)
    p.add_argument("--chromedriver", default=CHROMEDRIVER)
    p.add_argument("--dark", action="store_true", help="prefer the dark colour scheme")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, timeout=30.0):
        sp.add_argument("--url", required=True)
        sp.add_argument("--timeout", type=float, default=timeout)

    c = sub.add_parser("check", help="compare the page with /metrics")
    common(c)
    c.add_argument("--metrics", required=True)
    c.add_argument("--screenshot")
    c.add_argument("--link", help="check this link (link_kind) rather than the busiest edge")
    c.add_argument("--rate-window", type=float, default=3.0, help="seconds between the two scrapes")
    c.add_argument("--tolerance", type=float, default=0.25)
    c.add_argument("--rate-floor", type=float, default=5.0, help="absolute tolerance, frags/s, for low rates")
    for name in ("wait-stale", "wait-recovered"):
        w = sub.add_parser(name)
        common(w)
        w.add_argument("--tile", required=True)
        w.add_argument("--screenshot", help="taken once the page shows what was waited for")
        if name == "wait-stale":
            w.add_argument("--recover-timeout", type=float, default=0.0)
            w.add_argument("--stop-pid", type=int, help="once the page is live, SIGSTOP this pid (the seconds "
                           "printed run from the signal), and SIGCONT it for the recovery phase and at exit")
    u = sub.add_parser("wait-unreachable")
    common(u)
    u.add_argument("--recover-timeout", type=float, default=0.0)
    u.add_argument("--screenshot", help="taken once the page shows the topology unreachable")
    k = sub.add_parser("keyboard")
    common(k)
    k.add_argument("--max-tabs", type=int, default=60)
    s = sub.add_parser("size")
    common(s)
    s.add_argument("--tiles", type=int, required=True)
    h = sub.add_parser("hold", help="keep N live pages open for a while (prints 'live N' once they are)")
    common(h)
    h.add_argument("--pages", type=int, default=3)
    h.add_argument("--seconds", type=float, default=30.0)
    s.add_argument("--screenshot")
    s.add_argument("--group-above", type=int, default=12)
    args = p.parse_args()

    rep = Report()
    driver = None
    try:
        try:
            driver = make_driver(args)
        except WebDriverException as e:
            rep.fail(f"could not start Chromium through {args.chromedriver}: {str(e).splitlines()[0]}")
            return 1
        if args.cmd == "check":
            cmd_check(args, driver, rep)
        elif args.cmd == "wait-stale":
            cmd_wait_tile(args, driver, rep, True)
        elif args.cmd == "wait-recovered":
            cmd_wait_tile(args, driver, rep, False)
        elif args.cmd == "wait-unreachable":
            cmd_wait_unreachable(args, driver, rep)
        elif args.cmd == "keyboard":
            cmd_keyboard(args, driver, rep)
        elif args.cmd == "size":
            cmd_size(args, driver, rep)
        elif args.cmd == "hold":
            cmd_hold(args, driver, rep)
    except Exception as e:  # noqa: BLE001 -- one clear line rather than a traceback
        rep.fail(f"{args.cmd}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    finally:
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
    print(f"{args.cmd}: {'FAIL' if rep.failed else 'ok'} ({rep.failed} failed)", flush=True)
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
