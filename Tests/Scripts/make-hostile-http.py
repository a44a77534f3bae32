#!/usr/bin/env python3
"""Writes Tests/Corpus/http-hostile/: malformed and hostile HTTP requests,
and Tests/Corpus/gui-hostile/: those aimed at the gui tile's own parsing
(WebSocket upgrades, other origins, methods that would change something).

Every one must get a 4xx or have its connection closed by the metric tile
(http-hostile) and by the gui tile (both directories);
the integration tests send each to a booted topology. Those with a
`.expect` file beside them (NNN-name.expect) must get exactly its bytes
back, then the end it implies: EOF (never a reset) when the last response
says `Connection: close`, else an open, quiet connection. In a `.expect`
file `{date}` stands for an IMF-fixdate and `{digits}` for a decimal
number (a HEAD /metrics Content-Length); every other byte is literal.
Deterministic: run it again and the same files come out. Names say what
each one is."""
import os
import random
import shutil

OUT = os.path.join(os.path.dirname(__file__), "..", "Corpus", "http-hostile")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
rng = random.Random(20261124)
n = 0


def put(name, data, expect=None):
    global n
    if isinstance(data, str):
        data = data.encode("latin-1")
    n += 1
    with open(os.path.join(OUT, f"{n:03d}-{name}.bin"), "wb") as f:
        f.write(data)
    if expect is not None:
        with open(os.path.join(OUT, f"{n:03d}-{name}.expect"), "wb") as f:
            f.write(expect.encode("latin-1"))


# The metric tile's answers, byte for byte (MetricTile/HTTPResponses.swift).
TEXT = "text/plain; charset=utf-8"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
BODY_400 = "400 bad request: only GET or HEAD of /metrics or /healthz is served\n"
BODY_404 = "404 not found: metrics are at /metrics, health at /healthz\n"
BODY_431 = "431 request head larger than 8192 bytes, or too many header lines\n"


def response(status, body, close=False, head=False, content_type=TEXT, gzip=False):
    """One response as the tile writes it; `body` None: a HEAD /metrics one."""
    length = "{digits}" if body is None else str(len(body))
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            + ("Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" if gzip else "")
            + f"Content-Length: {length}\r\nDate: {{date}}\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n" + ("" if head or body is None else body))


def bad_request(head=False):
    return response("400 Bad Request", BODY_400, close=True, head=head)


def metrics_head(content_type=PROMETHEUS, gzip=False):
    return response("200 OK", None, content_type=content_type, gzip=gzip)


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

# Framing, with the exact bytes expected back.
# A bare LF ends a line (RFC 9112 §2.2); a bare CR is a 400.
put("bare-lf-line-ends", "HEAD /metrics HTTP/1.1\nHost: x\n\n", metrics_head())
put("bare-lf-in-header", "HEAD /metrics HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", metrics_head())
put("bare-lf-get-404-close", "GET /nope HTTP/1.1\nHost: x\nConnection: close\n\n",
    response("404 Not Found", BODY_404, close=True))
put("bare-cr-ends-line", "GET /metrics HTTP/1.1\rHost: x\r\n\r\n", bad_request())
# No response to HEAD has a body, whatever its status (RFC 9110 §9.3.2): else
# the client reads it as the next response.
put("head-404-then-get-404", "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    response("404 Not Found", BODY_404, head=True) + response("404 Not Found", BODY_404, close=True))
put("head-400-other-version", "HEAD /metrics HTTP/1.7\r\nHost: x\r\n\r\n", bad_request(head=True))
put("head-400-with-body", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", bad_request(head=True))
put("head-431-head-too-large", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + "p" * 9000 + "\r\n\r\n",
    response("431 Request Header Fields Too Large", BODY_431, close=True, head=True))
put("head-431-too-many-headers", "HEAD /metrics HTTP/1.1\r\nHost: x\r\n" + "X-A: b\r\n" * 70 + "\r\n",
    response("431 Request Header Fields Too Large", BODY_431, close=True, head=True))
# A head over the limit, and more bytes behind it: the 431, then EOF (the
# rest drained), never a reset that could destroy the 431 (RFC 9112 §9.6).
put("get-431-then-20-kib-more", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + "q" * 28000,
    response("431 Request Header Fields Too Large", BODY_431, close=True))
# Absolute-form targets, which a server MUST accept (RFC 9112 §3.2.2).
put("absolute-form-head-metrics", "HEAD http://127.0.0.1:7999/metrics HTTP/1.1\r\nHost: 127.0.0.1:7999\r\n\r\n", metrics_head())
put("absolute-form-https-query", "HEAD HTTPS://[::1]/metrics?x=1 HTTP/1.1\r\nHost: [::1]\r\n\r\n", metrics_head())
put("absolute-form-no-path-404", "GET http://127.0.0.1:7999 HTTP/1.1\r\nHost: x\r\n\r\n", response("404 Not Found", BODY_404))
put("absolute-form-userinfo", "GET http://u:p@127.0.0.1/metrics HTTP/1.1\r\nHost: x\r\n\r\n", bad_request())
put("absolute-form-bad-port", "GET http://127.0.0.1:7a/metrics HTTP/1.1\r\nHost: x\r\n\r\n", bad_request())
# A Host that is not uri-host[:port] is a 400 (RFC 9112 §3.2).
for name, host in [("comma-list", "a.example, b.example"), ("comma-no-space", "a,b"), ("userinfo", "user@127.0.0.1"),
                   ("path", "127.0.0.1/metrics"), ("space", "127.0.0.1 7999"), ("port-letters", "127.0.0.1:http"),
                   ("port-too-big", "127.0.0.1:65536"), ("port-6-digits", "127.0.0.1:000080"), ("no-host", ":7999"),
                   ("open-bracket", "[::1"), ("bad-pct", "a%zz")]:
    put(f"host-{name}", f"GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n", bad_request())
put("host-ipv6-literal-ok", "HEAD /metrics HTTP/1.1\r\nHost: [::1]:7999\r\n\r\n", metrics_head())
put("host-empty-ok", "HEAD /metrics HTTP/1.1\r\nHost:\r\n\r\n", metrics_head())
# q-values: q=0 means not acceptable (RFC 9110 §12.4.2).
put("accept-openmetrics-q0", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;q=0\r\n\r\n", metrics_head())
put("accept-text-preferred", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;q=0.3, text/plain;q=0.9\r\n\r\n",
    metrics_head())
put("accept-prometheus-3", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;"
    "q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2\r\nAccept-Encoding: gzip\r\n\r\n", metrics_head(OPENMETRICS, gzip=True))
put("accept-encoding-gzip-q0", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0, *;q=0.5\r\n\r\n", metrics_head())
put("accept-encoding-star", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: *\r\n\r\n", metrics_head(gzip=True))

# Other request targets.
for target in ["*", "127.0.0.1:7999", "metrics", "", "?metrics", "#metrics", "%2Fmetrics", "ftp://127.0.0.1/metrics",
               "http:/metrics", "http//127.0.0.1/metrics"]:
    put(f"target-{target.replace('/', '_').replace(':', '_').replace('?', 'q').replace('#', 'h').replace('%', 'pct').replace('*', 'star').replace('.', '_') or 'empty'}",
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

# --- the gui tile -----------------------------------------------------------
# Its answers, byte for byte (GuiTile/GuiResponses.swift): every response
# carries the same security headers; the errors are text.
OUT = os.path.join(os.path.dirname(__file__), "..", "Corpus", "gui-hostile")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
n = 0
SECURITY = ("Cache-Control: no-store\r\n"
            "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n"
            "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nCross-Origin-Resource-Policy: same-origin\r\n")
GUI_400_WS = "400 bad request: no WebSocket here; live updates are Server-Sent Events at /api/v1/stream\n"
GUI_403 = "403 forbidden: this API answers only its own page (same origin)\n"
GUI_405 = "405 method not allowed: the gui is read-only (GET or HEAD)\n"


def gui_response(status, body, close=False, extra="", head=False):
    return (f"HTTP/1.1 {status}\r\nContent-Type: {TEXT}\r\n{extra}{SECURITY}Content-Length: {len(body)}\r\n"
            f"Date: {{date}}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n" + ("" if head else body))


HOST = "Host: 127.0.0.1:7998\r\n"
WS = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

# WebSocket upgrades (RFC 6455 §4.1): a 400 and a close, never a 101.
put("ws-handshake-stream", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}{WS}\r\n", gui_response("400 Bad Request", GUI_400_WS, close=True))
put("ws-handshake-root", f"GET / HTTP/1.1\r\n{HOST}{WS}Origin: http://127.0.0.1:7998\r\n\r\n",
    gui_response("400 Bad Request", GUI_400_WS, close=True))
put("ws-head", f"HEAD /api/v1/stream HTTP/1.1\r\n{HOST}{WS}\r\n", gui_response("400 Bad Request", GUI_400_WS, close=True, head=True))
put("ws-then-frame", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}{WS}\r\n" + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")
put("ws-mixed-case", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}UPGRADE: WebSocket\r\nconnection: upgrade\r\n\r\n")
put("ws-in-list", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Upgrade: h2c, websocket\r\nConnection: Upgrade\r\n\r\n")
put("ws-version-8", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Upgrade: websocket\r\nSec-WebSocket-Version: 8\r\n\r\n")
put("ws-http10", "GET /api/v1/stream HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
put("ws-with-body", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}{WS}Content-Length: 4\r\n\r\nping")
put("ws-post", f"POST /api/v1/stream HTTP/1.1\r\n{HOST}{WS}\r\n")
put("ws-key-9000", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Upgrade: websocket\r\nSec-WebSocket-Key: " + "k" * 9000 + "\r\n\r\n")

# Other origins (RFC 6454): 403, and no CORS header; the connection stays.
put("origin-other-host-snapshot", f"GET /api/v1/snapshot HTTP/1.1\r\n{HOST}Origin: http://evil.example\r\n\r\n",
    gui_response("403 Forbidden", GUI_403))
for name, origin in [("other-port", "http://127.0.0.1:7999"), ("null", "null"), ("file", "file://"),
                     ("with-path", "http://127.0.0.1:7998/x"), ("userinfo", "http://u@127.0.0.1:7998"),
                     ("suffix", "http://127.0.0.1:7998.evil.example"), ("prefix", "http://evil.127.0.0.1:7998"),
                     ("ws-scheme", "ws://127.0.0.1:7998"), ("no-scheme", "127.0.0.1:7998"), ("empty", ""),
                     ("list", "http://127.0.0.1:7998 http://evil.example"), ("port-too-big", "http://127.0.0.1:65536"),
                     ("open-bracket", "http://[::1"), ("pct", "http://127.0.0.1%3a7998"), ("trailing-dot", "http://127.0.0.1.:7998"),
                     ("unicode", "http://\xe2\x84\xaa.example"), ("long", "http://" + "a" * 4000 + ".example")]:
    put(f"origin-{name}-stream", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Origin: {origin}\r\nAccept: text/event-stream\r\n\r\n")
put("origin-twice", f"GET /api/v1/snapshot HTTP/1.1\r\n{HOST}Origin: http://127.0.0.1:7998\r\nOrigin: http://evil.example\r\n\r\n")
put("origin-twice-same", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Origin: http://127.0.0.1:7998\r\nOrigin: http://127.0.0.1:7998\r\n\r\n")
put("origin-host-spoofed", "GET /api/v1/snapshot HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://127.0.0.1:7998\r\n\r\n")
put("origin-no-host-http10", "GET /api/v1/stream HTTP/1.0\r\nOrigin: http://127.0.0.1:7998\r\n\r\n")
put("fetch-site-cross", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\n\r\n")
put("fetch-site-same-site", f"GET /api/v1/snapshot HTTP/1.1\r\n{HOST}Sec-Fetch-Site: same-site\r\n\r\n")
put("pipelined-cross-origin", (f"GET /api/v1/snapshot HTTP/1.1\r\n{HOST}Origin: http://evil.example\r\n\r\n"
                               f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Origin: http://evil.example\r\nConnection: close\r\n\r\n"),
    gui_response("403 Forbidden", GUI_403) + gui_response("403 Forbidden", GUI_403, close=True))

# Nothing changes anything: every method but GET and HEAD is a 405 and a close.
put("cors-preflight", f"OPTIONS /api/v1/snapshot HTTP/1.1\r\n{HOST}Origin: http://evil.example\r\n"
    "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-evil\r\n\r\n",
    gui_response("405 Method Not Allowed", GUI_405, close=True, extra="Allow: GET, HEAD\r\n"))
for method in ["POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE", "PROPPATCH"]:
    put(f"method-{method.lower()}-stream", f"{method} /api/v1/stream HTTP/1.1\r\n{HOST}Content-Length: 2\r\n\r\n{{}}")
put("post-snapshot-json", f"POST /api/v1/snapshot HTTP/1.1\r\n{HOST}Content-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    '{"halt": "all"}\r\n')
put("post-chunked-stream", f"POST /api/v1/stream HTTP/1.1\r\n{HOST}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")

# Entity tags and encodings no one sends, around requests that are refused.
put("if-none-match-flood", f"GET /app.js HTTP/1.1\r\n{HOST}If-None-Match: " + ", ".join(f'W/"{i}"' for i in range(1500)) + "\r\n\r\n")
put("if-none-match-unterminated-cross-origin",
    f"GET /app.js HTTP/1.1\r\n{HOST}Origin: http://evil.example\r\nIf-None-Match: \"abc\r\n\r\n")
put("accept-encoding-flood-cross-origin",
    f"GET / HTTP/1.1\r\n{HOST}Origin: null\r\nAccept-Encoding: " + ",".join(["gzip;q=0.5"] * 600) + "\r\n\r\n")
put("last-event-id-huge", f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Last-Event-ID: " + "9" * 9000 + "\r\n\r\n")
put("stream-then-garbage-cross-origin",
    f"GET /api/v1/stream HTTP/1.1\r\n{HOST}Origin: http://evil.example\r\n\r\n" + "\x16\x03\x01" + "x" * 100)

# DNS rebinding (a page whose own name now resolves to the tile): a Host that
# is not an IP address, localhost or a name of gui_allowed_hosts (none here)
# is a 403 on every path, the page included, though Origin matches Host;
# no Host at all is a 400 and a close.
GUI_403_HOST = "403 forbidden: the gui answers to IP addresses, localhost and the names in gui_allowed_hosts only\n"
put("host-rebinding-page", "GET / HTTP/1.1\r\nHost: attacker.example:7998\r\n\r\n", gui_response("403 Forbidden", GUI_403_HOST))
put("host-rebinding-snapshot-same-origin",
    "GET /api/v1/snapshot HTTP/1.1\r\nHost: attacker.example:7998\r\nOrigin: http://attacker.example:7998\r\n"
    "Sec-Fetch-Site: same-origin\r\n\r\n", gui_response("403 Forbidden", GUI_403_HOST))
put("host-rebinding-head", "HEAD /app.js HTTP/1.1\r\nHost: attacker.example\r\n\r\n",
    gui_response("403 Forbidden", GUI_403_HOST, head=True))
for name, host in [("address-prefix", "127.0.0.1.attacker.example"), ("localhost-prefix", "localhost.attacker.example"),
                   ("address-suffix", "attacker.example.127.0.0.1"), ("five-numbers", "127.0.0.1.1"), ("octet-256", "127.0.0.256"),
                   ("trailing-dot", "localhost."), ("hex-address", "0x7f.0.0.1"), ("empty", "")]:
    put(f"host-{name}-stream", f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n")
put("host-missing-http10", "GET / HTTP/1.0\r\n\r\n", gui_response("400 Bad Request", "400 bad request: no Host header\n", close=True))

print(f"{n} requests in {os.path.normpath(OUT)}")
