#!/usr/bin/env python3
"""Scrapes /metrics as Prometheus does, N times, and checks every body.

Usage: scrape-consistency.py --port PORT [--scrapes 1000]

One keep-alive connection, Prometheus 3's request headers (its Accept,
preferring OpenMetrics; Accept-Encoding: gzip). Every response must be a
200 in OpenMetrics, gzipped, dated; every body must inflate (Python's gzip:
CRC-32 and length checked) and parse with prometheus_client's strict
OpenMetrics parser; in every histogram the buckets are cumulative and the
+Inf bucket equals _count; no counter (nor histogram _count) decreases from
one scrape to the next. Prints one JSON line (scrapes, samples, bytes,
seconds, violations); exits 1 on any violation."""
import argparse
import gzip
import http.client
import json
import math
import sys
import time

from prometheus_client.openmetrics.parser import text_string_to_metric_families

ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
          "application/openmetrics-text;version=0.0.1;q=0.5,"
          "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
          "text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
HEADERS = {
    "Accept": ACCEPT,
    "Accept-Encoding": "gzip",
    "User-Agent": "Prometheus/3.0.0",
    "X-Prometheus-Scrape-Timeout-Seconds": "10",
}


def key(sample):
    return (sample.name, tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le")))


def check_body(text, previous, violations, n):
    """Checks one parsed body; returns its monotonic series and sample count."""
    current = {}
    samples = 0
    for family in text_string_to_metric_families(text):
        samples += len(family.samples)
        if family.type == "counter":
            for s in family.samples:
                if s.name.endswith("_total"):
                    current[key(s)] = s.value
        elif family.type == "histogram":
            series = {}
            for s in family.samples:
                series.setdefault(key(s)[1], []).append(s)
            for labels, group in series.items():
                buckets = [(float(s.labels["le"]), s.value) for s in group if s.name.endswith("_bucket")]
                counts = [s.value for s in group if s.name.endswith("_count")]
                if not buckets or len(counts) != 1:
                    violations.append(f"scrape {n}: {family.name}{dict(labels)}: buckets or _count missing")
                    continue
                les = [le for le, _ in buckets]
                if les != sorted(les) or les[-1] != math.inf:
                    violations.append(f"scrape {n}: {family.name}{dict(labels)}: bucket bounds {les}")
                values = [v for _, v in buckets]
                if any(b < a for a, b in zip(values, values[1:])):
                    violations.append(f"scrape {n}: {family.name}{dict(labels)}: buckets not cumulative {values}")
                if values[-1] != counts[0]:
                    violations.append(f"scrape {n}: {family.name}{dict(labels)}: +Inf {values[-1]} != _count {counts[0]}")
                current[(family.name + "_count", labels)] = counts[0]
    for k, v in current.items():
        if k in previous and v < previous[k]:
            violations.append(f"scrape {n}: {k[0]}{dict(k[1])} went from {previous[k]} to {v}")
    return current, samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--scrapes", type=int, default=1000)
    args = ap.parse_args()

    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
    previous = {}
    violations = []
    samples = set()
    wire = body_bytes = 0
    t0 = time.monotonic()
    for n in range(1, args.scrapes + 1):
        conn.request("GET", "/metrics", headers=HEADERS)
        r = conn.getresponse()
        raw = r.read()
        problems = []
        if r.status != 200:
            problems.append(f"status {r.status}")
        if r.getheader("Content-Type") != "application/openmetrics-text; version=1.0.0; charset=utf-8":
            problems.append(f"Content-Type {r.getheader('Content-Type')}")
        if r.getheader("Content-Encoding") != "gzip":
            problems.append(f"Content-Encoding {r.getheader('Content-Encoding')}")
        if r.getheader("Date") is None:
            problems.append("no Date")
        if problems:
            violations.append(f"scrape {n}: " + ", ".join(problems))
            break
        try:
            text = gzip.decompress(raw).decode("utf-8")
            previous, count = check_body(text, previous, violations, n)
        except Exception as e:  # the parser's or gzip's complaint is the violation
            violations.append(f"scrape {n}: {type(e).__name__}: {e}")
            break
        samples.add(count)
        wire += len(raw)
        body_bytes += len(text)
    seconds = time.monotonic() - t0
    print(json.dumps({
        "scrapes": n, "samples": sorted(samples), "gzip_bytes_mean": wire // max(1, n),
        "text_bytes_mean": body_bytes // max(1, n), "seconds": round(seconds, 1),
        "violations": violations[:10], "violation_count": len(violations),
    }))
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
