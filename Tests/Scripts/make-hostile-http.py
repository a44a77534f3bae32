#!/usr/bin/env python3
"""Writes Tests/Corpus/http-hostile/: malformed and hostile HTTP requests.

Every one must get a 4xx or have its connection closed by the metric tile;
the integration tests send each to a booted topology. Deterministic: run it
again and the same files come out. Names say what each one is."""
import os
import random
import shutil

OUT = os.path.join(os.path.dirname(__file__), "..", "Corpus", "http-hostile")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
rng = random.Random(20261124)
n = 0


def put(name, data):
    global n
    if isinstance(data, str):
        data = data.encode("latin-1")
    n += 1
    with open(os.path.join(OUT, f"{n:03d}-{name}.bin"), "wb") as f:
        f.write(data)


GOOD = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"

# Truncated: a valid request cut short, at 40 places (the client then stops sending).
for cut in sorted(rng.sample(range(1, len(GOOD) - 1), 40)):
    put(f"truncated-at-{cut}", GOOD[:cut])

# Binary garbage of assorted sizes, and binary after a valid-looking start.
for i, size in enumerate([1, 2, 7, 64, 512, 4096, 8191, 8192, 8193, 20000]):
    put(f"binary-{size}-bytes", bytes(rng.randrange(256) for _ in range(size)))
for i in range(5):
    put(f"binary-after-request-line-{i}", b"GET /metrics HTTP/1.1\r\n" + bytes(rng.randrange(256) for _ in range(200)) + b"\r\n\r\n")
put("nul-bytes", b"\x00" * 100)
put("tls-client-hello", bytes.fromhex("160301020001000200030300") + bytes(rng.randrange(256) for _ in range(500)))
put("ssh-banner", "SSH-2.0-OpenSSH_9.2\r\n")

# Oversized lines and heads.
put("request-line-9000", "GET /" + "a" * 9000 + " HTTP/1.1\r\nHost: x\r\n\r\n")
put("header-value-9000", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + "b" * 9000 + "\r\n\r\n")
put("head-exactly-8193", ("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + "c" * 8200)[:8189] + "\r\n\r\n")
put("method-300-bytes", "G" * 300 + " /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
put("endless-head", "GET /metrics HTTP/1.1\r\n" + "X-A: b\r\n" * 2000)
for size in [100, 1000, 5000]:
    put(f"path-{size}-bytes", "GET /" + "p" * size + " HTTP/1.1\r\nHost: x\r\n\r\n")

# Header floods.
for count in [65, 100, 500, 1000]:
    put(f"header-flood-{count}", "GET /metrics HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-{i}: v\r\n" for i in range(count)) + "\r\n")
put("header-flood-empty-names", "GET /metrics HTTP/1.1\r\nHost: x\r\n" + ": v\r\n" * 10 + "\r\n")
put("cookie-flood", "GET /metrics HTTP/1.1\r\nHost: x\r\n" + "".join(f"Cookie: c{i}=v\r\n" for i in range(80)) + "\r\n")

# Bodies and conflicting lengths.
lengths = [
    ("cl-5-with-body", "Content-Length: 5\r\n", "hello"),
    ("cl-conflicting-0-5", "Content-Length: 0\r\nContent-Length: 5\r\n", "hello"),
    ("cl-conflicting-5-6", "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
    ("cl-list", "Content-Length: 5, 5\r\n", "hello"),
    ("cl-negative", "Content-Length: -1\r\n", ""),
    ("cl-hex", "Content-Length: 0x10\r\n", ""),
    ("cl-plus", "Content-Length: +5\r\n", "hello"),
    ("cl-space-inside", "Content-Length: 1 0\r\n", ""),
    ("cl-huge", "Content-Length: 99999999999999999999999999\r\n", ""),
    ("cl-empty", "Content-Length: \r\n", ""),
    ("cl-letters", "Content-Length: five\r\n", ""),
    ("cl-and-te", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
    ("te-chunked", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ("te-identity", "Transfer-Encoding: identity\r\n", ""),
    ("te-gzip-chunked", "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"),
    ("te-twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "0\r\n\r\n"),
    ("te-uppercase", "TRANSFER-ENCODING: CHUNKED\r\n", "0\r\n\r\n"),
    ("expect-100-continue", "Content-Length: 10\r\nExpect: 100-continue\r\n", ""),
]
for name, headers, body in lengths:
    put(name, f"GET /metrics HTTP/1.1\r\nHost: x\r\n{headers}\r\n{body}")
    put(name + "-post", f"POST /metrics HTTP/1.1\r\nHost: x\r\n{headers}\r\n{body}")

# Request smuggling shapes.
smuggling = {
    "cl-te": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "te-cl": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
    "te-space-before-colon": "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "te-tab-before-colon": "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n",
    "te-obs-fold": "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    "cl-obs-fold": "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\nhello",
    "header-obs-fold": "GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "bare-lf-line-ends": "GET /metrics HTTP/1.1\nHost: x\n\n",
    "bare-lf-in-header": "GET /metrics HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n",
    "bare-cr-in-header": "GET /metrics HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n",
    "nul-in-header": "GET /metrics HTTP/1.1\r\nHost: x\x00evil\r\n\r\n",
    "nul-in-path": "GET /metrics\x00.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    "header-no-colon": "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",
    "header-name-with-space": "GET /metrics HTTP/1.1\r\nHost: x\r\nX Evil: a\r\n\r\n",
    "header-name-with-slash": "GET /metrics HTTP/1.1\r\nHost: x\r\nX/Evil: a\r\n\r\n",
    "two-hosts": "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "no-host-http11": "GET /metrics HTTP/1.1\r\n\r\n",
    "tab-separated-request-line": "GET\t/metrics\tHTTP/1.1\r\nHost: x\r\n\r\n",
    "double-space-request-line": "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "trailing-space-request-line": "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",
    "leading-crlf": "\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "leading-space": " GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "lowercase-method": "get /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "lowercase-version": "GET /metrics http/1.1\r\nHost: x\r\n\r\n",
    "version-1.2": "GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n",
    "version-2.0": "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
    "version-0.9": "GET /metrics\r\n\r\n",
    "version-missing": "GET /metrics \r\nHost: x\r\n\r\n",
    "version-10.1": "GET /metrics HTTP/10.1\r\nHost: x\r\n\r\n",
    "http2-preface": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "http2-preface-with-frames": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00",
    "h2c-upgrade-post": "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nContent-Length: 1\r\n\r\nx",
    "websocket-upgrade-body": "GET /metrics HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc",
    "pipelined-valid-then-garbage": GOOD + "\x16\x03\x01garbage\r\n\r\n",
    "pipelined-bad-first": "GARBAGE\r\n\r\n" + GOOD,
    "pipelined-valid-then-request-with-body": "GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
}
for name, text in smuggling.items():
    put(name, text)

# Absolute URIs and other request targets.
for target in ["http://127.0.0.1/metrics", "https://127.0.0.1/metrics", "http://evil.example/metrics",
               "*", "127.0.0.1:7999", "metrics", "", "?metrics", "#metrics", "%2Fmetrics"]:
    put(f"target-{target.replace('/', '_').replace(':', '_').replace('?', 'q').replace('#', 'h').replace('%', 'pct').replace('*', 'star') or 'empty'}",
        f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n")
put("connect-method", "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n")
put("options-star", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")

# Path traversal and odd paths: served as not found (404), never as files.
for path in ["/../../etc/passwd", "/metrics/../../../etc/shadow", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
             "//etc/passwd", "/metrics/", "/metrics/..", "/./metrics/../..", "/proc/self/environ", "/dev/shm/",
             "/metrics%00", "/metrics;.txt", "/METRICS", "/metrics.txt", "/.git/config", "/\\..\\..\\windows",
             "/%c0%ae%c0%ae/etc/passwd", "/healthz/../../etc/passwd", "/metricsx", "/" + "../" * 200]:
    safe = "".join(ch if ch.isalnum() else "_" for ch in path)[:60]
    put(f"path-{safe}", f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")

# Methods other than GET and HEAD.
for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "PROPFIND", "BREW", "M" * 40, "GET,HEAD", "G(T"]:
    put(f"method-{''.join(ch if ch.isalnum() else '_' for ch in method)[:20]}", f"{method} /metrics HTTP/1.1\r\nHost: x\r\n\r\n")

# Control characters and high bytes (in a header value, bytes 0x80-0xFF are
# obs-text, which HTTP allows: those are not here).
for i, ch in enumerate(["\x01", "\x07", "\x1b", "\x7f", "\x80", "\xff", "\x0b", "\x0c"]):
    put(f"control-{i}-in-path", f"GET /met{ch}rics HTTP/1.1\r\nHost: x\r\n\r\n")
for i, ch in enumerate(["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x0b", "\x0c", "\x08"]):
    put(f"control-{i}-in-header", f"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: a{ch}b\r\n\r\n")

# Slow and sideways.
put("only-crlf", "\r\n\r\n\r\n")
put("only-spaces", " " * 100)
put("request-line-only-crlf-crlf-missing", "GET /metrics HTTP/1.1\r\n")
put("empty", "")

print(f"{n} requests in {os.path.normpath(OUT)}")
