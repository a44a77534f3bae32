#!/usr/bin/env python3
"""Generates TOML documents and what Python's tomllib makes of them, for
Tests/TOMLTests/DifferentialTests.swift, which parses the same bytes with
Sources/TOML and compares.

Usage: toml-differential.py [--seed S] [--count N] [--only I]

Prints one JSON object per line: {"doc": <base64 of the bytes>, "expect":
<canonical value> | "invalid"}. The output depends only on the seed and the
count (document I is the same for every count > I); --only I prints just
document I, to reproduce one case.

The canonical form (DifferentialTests.swift builds the same from a
TOMLDocument): a table is a JSON object, an array a list, a scalar
{"t": type, "v": text}:
  string          v = the string
  integer         v = decimal text
  float           v = the IEEE-754 bit pattern as 16 lowercase hex digits; any NaN is "nan"
  bool            v = "true" / "false"
  datetime        v = YYYY-MM-DDTHH:MM:SS.uuuuuu+HH:MM (Z is +00:00)
  datetime-local  v = YYYY-MM-DDTHH:MM:SS.uuuuuu
  date-local      v = YYYY-MM-DD
  time-local      v = HH:MM:SS.uuuuuu
Fractions of a second are truncated to microseconds (all tomllib keeps).

Where tomllib departs from TOML 1.0, the expectation is normalized to what
the spec says (see `expect`):
  * integers outside the signed 64-bit range: tomllib returns a Python int;
    TOML 1.0 ("Integer") says an error must be thrown, so "invalid".
  * year 0000: RFC 3339 (and TOML's ABNF, date-fullyear = 4DIGIT) allow it,
    but Python's datetime starts at year 1 and tomllib rejects it; the
    date is checked as year 2000 (same leap-year rule) and reported as 0000.
Not generated: a byte-order mark (our parser accepts one as an extension;
TOML 1.0 does not mention it and tomllib rejects it) and leap seconds
(:60, allowed by TOML's ABNF, rejected by both parsers).
"""

import argparse
import base64
import datetime
import json
import math
import random
import struct
import sys
import tomllib
import tomllib._parser as _tomllib_parser

# --- tomllib normalization -------------------------------------------------


class Year0:
    """A date or date-time in year 0000, which Python's datetime cannot hold:
    `value` is the same in year 2000 (both are leap years)."""

    def __init__(self, value):
        self.value = value


class _Year2000Match:
    def __init__(self, groups):
        self._groups = groups

    def groups(self):
        return self._groups


_original_match_to_datetime = _tomllib_parser.match_to_datetime


def _match_to_datetime(match):
    groups = match.groups()
    if groups[0] == "0000":
        # Raises ValueError for a day that 0000 (a leap year) does not have.
        return Year0(_original_match_to_datetime(_Year2000Match(("2000",) + groups[1:])))
    return _original_match_to_datetime(match)


# tomllib._parser calls match_to_datetime through its module globals.
_tomllib_parser.match_to_datetime = _match_to_datetime


class OutOfRange(Exception):
    pass


def canon_time(t):
    return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"


def canon_datetime(v, year=None):
    y = v.year if year is None else year
    date = f"{y:04d}-{v.month:02d}-{v.day:02d}"
    if not isinstance(v, datetime.datetime):
        return {"t": "date-local", "v": date}
    text = date + "T" + canon_time(v)
    offset = v.utcoffset()
    if offset is None:
        return {"t": "datetime-local", "v": text}
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return {"t": "datetime", "v": f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"}


def canon(v):
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [canon(x) for x in v]
    if isinstance(v, bool):
        return {"t": "bool", "v": "true" if v else "false"}
    if isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise OutOfRange
        return {"t": "integer", "v": str(v)}
    if isinstance(v, float):
        return {"t": "float", "v": "nan" if math.isnan(v) else struct.pack(">d", v).hex()}
    if isinstance(v, str):
        return {"t": "string", "v": v}
    if isinstance(v, Year0):
        return canon_datetime(v.value, year=0)
    if isinstance(v, datetime.date):  # also datetime.datetime
        return canon_datetime(v)
    if isinstance(v, datetime.time):
        return {"t": "time-local", "v": canon_time(v)}
    raise TypeError(f"unexpected {type(v)} from tomllib")


def expect(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid"
    try:
        return canon(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return "invalid"
    except OutOfRange:
        return "invalid"


# --- the generator ---------------------------------------------------------

BARE_NAMES = [
    "a", "b", "c", "x", "y", "key", "name", "value", "port", "Key2", "ABC", "a-b", "a_b",
    "_", "-", "-_-", "__init__", "1", "2", "42", "0", "007", "-1", "true", "false", "inf",
    "nan", "1979-05-27", "0x10", "1e5", "T", "Z",
]
QUOTED_NAMES = [
    "", " ", "a b", "a.b", ".", "..", "é", "e\u0301", "\u00c5", "\u212b", "ключ", "日本", "🔑",
    '"', "'", "\\", "#", "=", "[x]", "{}", "\t", "\n", "\r\n", "\x00", "\x7f", "\x1b", "\u0085",
    "\u2028", "\ufeff", "a'b", 'a"b', "'''", '"""', "x\\ny", "\U0010ffff",
]
TEXT_CHARS = (
    list("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789 .,;:!?-_+*/=()[]{}<>#@$%^&|~`")
    + ["'", '"', "\\", "\t", "é", "ß", "€", "日", "🙂", "\u0301", "\u00a0", "\u2028", "\u0085", "\ufeff"]
)
CONTROL_CHARS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\r", "\n"]
SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
BARE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def is_control(c):
    return (ord(c) < 0x20 and c != "\t") or c == "\x7f"


class Node:
    """What the generator knows of a table, to write mostly valid documents.

    kind: root, implicit (named only by a longer header), header, dotted
    (made by dotted keys; `section` is where), aot (array of tables:
    `elements`), value (anything else, inline tables and arrays included)."""

    def __init__(self, kind, section=None):
        self.kind = kind
        self.section = section
        self.children = {}
        self.elements = []


class Generator:
    def __init__(self, rng):
        self.r = rng
        self.newline_mode = rng.choice(["lf", "lf", "lf", "crlf", "mixed"])
        self.section = 0
        self.root = Node("root")

    # whitespace, newlines, comments

    def nl(self):
        if self.newline_mode == "lf":
            return "\n"
        if self.newline_mode == "crlf":
            return "\r\n"
        return self.r.choice(["\n", "\r\n"])

    def ws(self):
        return self.r.choice(["", "", "", " ", " ", "  ", "\t", " \t "])

    def text(self, lo, hi, chars=TEXT_CHARS):
        return "".join(self.r.choice(chars) for _ in range(self.r.randint(lo, hi)))

    def comment(self):
        body = self.text(0, 12)
        if self.r.random() < 0.1:
            body += self.r.choice(["#", "# ", "'''", '"""', "=", "[a]", "\\"])
        return "#" + body

    def trailer(self):
        """Spaces and maybe a comment after a statement."""
        return self.ws() + (self.comment() if self.r.random() < 0.2 else "")

    # keys

    def fresh_name(self, taken):
        for _ in range(20):
            if self.r.random() < 0.75:
                name = self.r.choice(BARE_NAMES)
            else:
                name = self.r.choice(QUOTED_NAMES)
            if self.r.random() < 0.3:
                name += str(self.r.randint(0, 99))
            if name not in taken:
                return name
        return "k%d" % self.r.randint(0, 10**9)

    def key_part(self, name):
        bare_ok = name != "" and all(c in BARE_CHARS for c in name)
        literal_ok = "'" not in name and not any(is_control(c) for c in name)
        roll = self.r.random()
        if bare_ok and roll < 0.7:
            return name
        if literal_ok and roll < 0.85:
            return "'" + name + "'"
        return '"' + self.escape_basic(name) + '"'

    def dotted(self, parts):
        return "".join(
            (self.ws() + "." + self.ws() if i else "") + self.key_part(p) for i, p in enumerate(parts)
        )

    # strings

    def hex_escape(self, c):
        hexdigits = "%04X" % ord(c) if ord(c) <= 0xFFFF and self.r.random() < 0.7 else None
        if hexdigits is not None:
            text = "\\u" + hexdigits
        else:
            text = "\\U%08X" % ord(c)
        return text if self.r.random() < 0.5 else text[:2] + text[2:].lower()

    def escape_basic(self, s, multiline=False):
        return "".join(self.escape_chunks(s, multiline))

    def escape_chunks(self, s, multiline=False):
        """The text of a basic string, one chunk (character or escape) per
        character of `s`."""
        out = []
        raw_quotes = 0
        for c in s:
            if c == '"':
                if multiline and raw_quotes < 2 and self.r.random() < 0.6:
                    out.append(c)
                    raw_quotes += 1
                    continue
                out.append('\\"' if self.r.random() < 0.8 else self.hex_escape(c))
            elif c == "\\":
                out.append("\\\\")
            elif c == "\n" and multiline:
                out.append(self.nl())
            elif is_control(c) or c == "\r":
                out.append(SHORT_ESCAPES[c] if c in SHORT_ESCAPES and self.r.random() < 0.7 else self.hex_escape(c))
            elif c == "\t":
                out.append("\t" if self.r.random() < 0.6 else self.r.choice(["\\t", "\\u0009"]))
            elif self.r.random() < 0.05:
                out.append(self.hex_escape(c))
            else:
                out.append(c)
            raw_quotes = 0
        return out

    def string_content(self, multiline):
        chars = TEXT_CHARS + (["\n", "\n", '"', "'"] if multiline else [])
        s = self.text(0, 14, chars)
        if self.r.random() < 0.15:
            s += self.r.choice(CONTROL_CHARS)
        return s

    def basic_string(self):
        return '"' + self.escape_basic(self.string_content(False)) + '"'

    def literal_string(self):
        s = "".join(c for c in self.string_content(False) if c != "'" and not is_control(c))
        return "'" + s + "'"

    def ml_basic_string(self):
        chunks = self.escape_chunks(self.string_content(True), multiline=True)
        # Line-ending backslashes: the newline and the blanks after it go.
        for _ in range(self.r.choice([0, 0, 1, 2])):
            glue = "\\" + self.r.choice(["", " ", "\t "]) + self.nl() + self.r.choice(["", "  ", "\t", self.nl() + " "])
            chunks.insert(self.r.randint(0, len(chunks)), glue)
        s = "".join(chunks)
        # Quotes right before the closing ones (up to two are content).
        if self.r.random() < 0.25 and not s.endswith("\\"):
            s = s.rstrip('"') + self.r.choice(['"', '""'])
        opening = self.nl() if self.r.random() < 0.5 else ""
        return '"""' + opening + s + '"""'

    def ml_literal_string(self):
        s = "".join(c for c in self.string_content(True) if not is_control(c) or c == "\n")
        while "'''" in s:
            s = s.replace("'''", "''")
        s = s.replace("\n", self.nl())
        if self.r.random() < 0.25:
            s = s.rstrip("'") + self.r.choice(["'", "''"])
        opening = self.nl() if self.r.random() < 0.5 else ""
        return "'''" + opening + s + "'''"

    def string(self):
        return self.r.choice([self.basic_string, self.basic_string, self.literal_string,
                              self.ml_basic_string, self.ml_literal_string])()

    # numbers

    def underscored(self, digits):
        if len(digits) < 2 or self.r.random() < 0.6:
            return digits
        out = digits[0]
        for d in digits[1:]:
            if self.r.random() < 0.3:
                out += "_"
            out += d
        return out

    def integer(self):
        r = self.r
        roll = r.random()
        if roll < 0.03:
            # 64-bit extremes, and just past them (tomllib takes those).
            return r.choice([
                "9223372036854775807", "-9223372036854775808", "+9_223_372_036_854_775_807",
                "9223372036854775808", "-9223372036854775809", "18446744073709551616",
                "0x7fffffffffffffff", "0x7FFF_FFFF_FFFF_FFFF", "0x8000000000000000", "0xffffffffffffffff",
                "0o777777777777777777777", "0o1000000000000000000000", "0b" + "1" * 63, "0b1" + "0" * 63,
                "0x00000000000000000000000001",
            ])
        if roll < 0.4:
            sign = r.choice(["", "", "+", "-"])
            if r.random() < 0.15:
                return sign + "0"
            digits = str(r.randint(1, 9)) + "".join(r.choice("0123456789") for _ in range(r.randint(0, 17)))
            return sign + self.underscored(digits)
        if roll < 0.6:
            return r.choice([
                lambda: "0x" + self.underscored("".join(r.choice("0123456789abcdefABCDEF") for _ in range(r.randint(1, 16)))),
                lambda: "0o" + self.underscored("".join(r.choice("01234567") for _ in range(r.randint(1, 21)))),
                lambda: "0b" + self.underscored("".join(r.choice("01") for _ in range(r.randint(1, 63)))),
            ])()
        return r.choice(["0", "1", "-1", "+1", "42", "1_000", "-17", "0x0", "0o0", "0b0", "0xDEAD_beef"])

    def float(self):
        r = self.r
        roll = r.random()
        if roll < 0.12:
            return r.choice(["inf", "+inf", "-inf", "nan", "+nan", "-nan"])
        if roll < 0.22:
            return r.choice(["0.0", "-0.0", "+0.0", "0e0", "-0e0", "0E-0", "+0.0e+00", "-0.0_0",
                             "1e308", "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "-1e400",
                             "4.9e-324", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
                             "1e-400", "2.2250738585072011e-308", "2.2250738585072014e-308",
                             "9007199254740993.0", "9_007_199_254_740_993e0", "0.1", "0.30000000000000004",
                             "123456789012345678901234567890.0", "1e007", "1E+07", "6.626e-34", "224_617.445_991_228"])
        if roll < 0.45:
            # Any finite double, written the way Python writes it.
            while True:
                (d,) = struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))
                if math.isfinite(d):
                    break
            text = repr(d)
            return ("+" + text) if r.random() < 0.1 and not text.startswith("-") else text
        sign = r.choice(["", "", "+", "-"])
        whole = "0" if r.random() < 0.3 else str(r.randint(1, 9)) + "".join(r.choice("0123456789") for _ in range(r.randint(0, 20)))
        text = sign + self.underscored(whole)
        has_frac = r.random() < 0.75
        if has_frac:
            text += "." + self.underscored("".join(r.choice("0123456789") for _ in range(r.randint(1, 25))))
        if not has_frac or r.random() < 0.4:
            exp = "".join(r.choice("0123456789") for _ in range(r.randint(1, 4)))
            text += r.choice("eE") + r.choice(["", "", "+", "-"]) + self.underscored(exp)
        return text

    # dates and times

    def date(self):
        r = self.r
        year = 0 if r.random() < 0.02 else r.choice([r.randint(1, 9999), r.randint(1900, 2100), 1979, 2000, 1900, 2024])
        month = r.randint(1, 12)
        if r.random() < 0.04:
            day = r.choice([29, 30, 31])  # may not exist in that month or year
        else:
            day = r.randint(1, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
        if r.random() < 0.01:
            month, day = r.choice([(0, 1), (13, 1), (1, 0), (1, 32), (2, 30)])
        return f"{year:04d}-{month:02d}-{day:02d}"

    def time(self):
        r = self.r
        h, m, s = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
        if r.random() < 0.01:
            h, m, s = r.choice([(24, 0, 0), (0, 60, 0), (23, 59, 59), (0, 0, 0)])
        text = f"{h:02d}:{m:02d}:{s:02d}"
        if r.random() < 0.4:
            text += "." + "".join(r.choice("0123456789") for _ in range(r.choice([1, 2, 3, 6, 7, 9, 12])))
        return text

    def offset(self):
        r = self.r
        if r.random() < 0.4:
            return r.choice(["Z", "Z", "z"])
        return r.choice("+-") + f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}"

    def date_time(self):
        r = self.r
        kind = r.choice(["offset", "local", "date", "time"])
        if kind == "date":
            return self.date()
        if kind == "time":
            return self.time()
        text = self.date() + r.choice(["T", "T", "t", " "]) + self.time()
        return text + self.offset() if kind == "offset" else text

    # arrays and inline tables

    def array_blank(self):
        roll = self.r.random()
        if roll < 0.5:
            return self.ws()
        if roll < 0.75:
            return self.ws() + self.nl() + self.ws()
        return self.ws() + self.comment() + self.nl() + self.ws()

    def array(self, depth):
        items = [self.value(depth + 1) for _ in range(self.r.choice([0, 1, 1, 2, 3, 4, 5]))]
        if items and self.r.random() < 0.3:
            # Same-typed arrays of inline tables, as configs write them.
            items = [self.inline_table(depth + 1) for _ in items]
        out = "[" + self.array_blank()
        for k, item in enumerate(items):
            out += item + self.array_blank()
            if k < len(items) - 1 or self.r.random() < 0.3:
                out += "," + self.array_blank()
        return out + "]"

    def inline_table(self, depth):
        table = Node("inline")
        pairs = []
        for _ in range(self.r.choice([0, 1, 1, 2, 3, 4])):
            pairs.append(self.key_value(table, depth + 1, inline=True))
        if not pairs:
            return "{" + self.ws() + "}"
        return "{" + self.ws() + ("," + self.ws()).join(p + self.ws() for p in pairs) + "}"

    def value(self, depth=0):
        kinds = [self.string] * 5 + [self.integer] * 3 + [self.float] * 3 + [self.boolean] + [self.date_time] * 3
        if depth < 4:
            kinds += [lambda: self.array(depth)] * 2 + [lambda: self.inline_table(depth)] * 2
        return self.r.choice(kinds)()

    def boolean(self):
        return self.r.choice(["true", "false"])

    # key/value pairs, with a model of which tables dotted keys may extend

    def key_value(self, table, depth, inline=False):
        """`key = value` into `table`; dotted keys make or extend tables
        that dotted keys made in this section (or in this inline table)."""
        parts = []
        t = table
        for _ in range(self.r.choice([0, 0, 0, 0, 1, 1, 2])):
            open_ = [n for n, c in t.children.items()
                     if (c.kind == "dotted" and (inline or c.section == self.section)) or (c.kind == "implicit" and not inline)]
            if open_ and self.r.random() < 0.5:
                name = self.r.choice(open_)
                child = t.children[name]
                if child.kind == "implicit":
                    child.kind, child.section = "dotted", self.section
            else:
                name = self.fresh_name(t.children)
                child = t.children[name] = Node("dotted", self.section)
            parts.append(name)
            t = child
        name = self.fresh_name(t.children)
        t.children[name] = Node("value")
        parts.append(name)
        return self.dotted(parts) + self.ws() + "=" + self.ws() + self.value(depth)

    # headers

    def walk_for_header(self, t, path):
        """Go down existing tables a header may pass through."""
        while self.r.random() < 0.6:
            options = [(n, c) for n, c in t.children.items() if c.kind in ("implicit", "header", "dotted", "aot")]
            if not options:
                break
            name, child = self.r.choice(options)
            path.append(name)
            t = child.elements[-1] if child.kind == "aot" else child
        return t

    def header(self):
        """A [table] or [[array]] header: returns its line and its table."""
        r = self.r
        self.section += 1
        path = []
        roll = r.random()
        implicit = []
        self.find(self.root, [], lambda n: n.kind == "implicit", implicit)
        aots = []
        self.find(self.root, [], lambda n: n.kind == "aot", aots)
        if roll < 0.15 and implicit:
            # A super-table defined after its sub-tables.
            path, node = r.choice(implicit)
            node.kind = "header"
            return self.header_line(path, False), node
        if roll < 0.35 and aots:
            path, node = r.choice(aots)
            element = Node("header")
            node.elements.append(element)
            return self.header_line(path, True), element
        t = self.walk_for_header(self.root, path)
        for _ in range(r.choice([0, 0, 1, 1, 2])):
            name = self.fresh_name(t.children)
            t = t.children[name] = Node("implicit")
            path.append(name)
        name = self.fresh_name(t.children)
        path.append(name)
        if r.random() < 0.25:
            node = t.children[name] = Node("aot")
            element = Node("header")
            node.elements.append(element)
            return self.header_line(path, True), element
        node = t.children[name] = Node("header")
        return self.header_line(path, False), node

    def find(self, t, path, pred, out):
        for name, child in t.children.items():
            if pred(child):
                out.append((path + [name], child))
            if child.kind == "aot":
                self.find(child.elements[-1], path + [name], pred, out)
            elif child.kind != "value":
                self.find(child, path + [name], pred, out)

    def header_line(self, path, array):
        open_, close = ("[[", "]]") if array else ("[", "]")
        return self.ws() + open_ + self.ws() + self.dotted(path) + self.ws() + close + self.trailer()

    # documents

    def body(self, lines, table):
        for _ in range(self.r.choice([0, 1, 2, 2, 3, 4, 5])):
            roll = self.r.random()
            if roll < 0.12:
                lines.append(self.ws() + self.comment())
            elif roll < 0.2:
                lines.append(self.ws())
            lines.append(self.ws() + self.key_value(table, 1) + self.trailer())

    def document(self):
        lines = []
        self.body(lines, self.root)
        for _ in range(self.r.choice([0, 1, 2, 3, 4, 5, 6])):
            line, table = self.header()
            if self.r.random() < 0.2:
                lines.append("")
            lines.append(line)
            self.body(lines, table)
        text = "".join(line + self.nl() for line in lines)
        if self.r.random() < 0.2:
            # No newline at the end of the file.
            text = text.removesuffix("\n").removesuffix("\r")
        return text


# --- mutations -------------------------------------------------------------

SIGNIFICANT = list("[]{}=.,\"'#\\\n\r_+-:0e") + [" ", "\t", "T", "Z", "x", "'''", '"""', "\r\n"]


def mutate(r, text):
    lines = text.splitlines(keepends=True)
    kind = r.choice([
        "delete-line", "duplicate-line", "duplicate-line", "swap-lines", "insert", "insert", "insert",
        "delete", "delete", "delete", "replace", "replace", "redefine-key", "redefine-table",
        "dotted-into-table", "flip-header", "control", "truncate",
    ])
    if kind == "delete-line" and lines:
        del lines[r.randrange(len(lines))]
        return "".join(lines)
    if kind == "duplicate-line" and lines:
        line = lines[r.randrange(len(lines))]
        if not line.endswith("\n"):
            line += "\n"
        lines.insert(r.randint(0, len(lines)), line)
        return "".join(lines)
    if kind == "swap-lines" and len(lines) >= 2:
        a, b = r.sample(range(len(lines)), 2)
        lines[a], lines[b] = lines[b], lines[a]
        if not lines[-2 if len(lines) > 1 else -1].endswith("\n"):
            lines[-2] += "\n"
        return "".join(lines)
    if kind == "insert":
        at = r.randint(0, len(text))
        return text[:at] + r.choice(SIGNIFICANT) + text[at:]
    if kind in ("delete", "replace"):
        spots = [k for k, c in enumerate(text) if c in "[]{}=.,\"'#\\\n\r_+-:0e \tTZ"]
        if spots:
            at = r.choice(spots)
            return text[:at] + (r.choice(SIGNIFICANT) if kind == "replace" else "") + text[at + 1:]
    if kind == "redefine-key":
        pairs = [k for k, line in enumerate(lines) if "=" in line and not line.lstrip().startswith(("[", "#"))]
        if pairs:
            k = r.choice(pairs)
            line = lines[k] if lines[k].endswith("\n") else lines[k] + "\n"
            lines.insert(k + r.choice([1, 1, 2]), line)
            return "".join(lines)
    if kind == "redefine-table":
        headers = [line for line in lines if line.lstrip().startswith("[")]
        if headers:
            line = r.choice(headers)
            line = line if line.endswith("\n") else line + "\n"
            lines.insert(r.randint(0, len(lines)), line)
            return "".join(lines)
    if kind == "dotted-into-table":
        headers = [(k, line) for k, line in enumerate(lines) if line.lstrip().startswith("[")]
        if headers:
            _, line = r.choice(headers)
            path = line.strip().lstrip("[").split("]")[0].strip()
            parts = path.split(".")
            prefix = ".".join(parts[: r.randint(1, len(parts))])
            new = prefix + "." + r.choice(["x", "new", "'q'", "y.z"]) + " = " + r.choice(["1", "{}", "[]", '"s"']) + "\n"
            targets = [0] + [k + 1 for k, _ in headers]
            lines.insert(r.choice(targets), new)
            return "".join(lines)
    if kind == "flip-header":
        headers = [k for k, line in enumerate(lines) if line.lstrip().startswith("[")]
        if headers:
            k = r.choice(headers)
            line = lines[k]
            if "[[" in line:
                line = line.replace("[[", "[", 1).replace("]]", "]", 1)
            else:
                line = line.replace("[", "[[", 1).replace("]", "]]", 1)
            lines.insert(r.randint(k, len(lines)), line if line.endswith("\n") else line + "\n")
            return "".join(lines)
    if kind == "control":
        at = r.randint(0, len(text))
        return text[:at] + r.choice(CONTROL_CHARS + ["\r", "\u0085", "\u2028", "\u00a0"]) + text[at:]
    if kind == "truncate" and text:
        return text[: r.randrange(len(text))]
    at = r.randint(0, len(text))
    return text[:at] + r.choice(SIGNIFICANT) + text[at:]


BAD_UTF8 = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xe0\x80\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xf8\x88\x80\x80\x80"]


def make_document(seed, index):
    r = random.Random(f"{seed}:{index}")
    text = Generator(r).document()
    roll = r.random()
    if roll < 0.55:
        for _ in range(r.choice([1, 1, 1, 2])):
            text = mutate(r, text)
    data = text.encode("utf-8")
    if r.random() < 0.01:
        at = r.randint(0, len(data))
        data = data[:at] + r.choice(BAD_UTF8) + data[at:]
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--only", type=int, default=None, help="print only document ONLY (its text on stderr)")
    args = parser.parse_args()
    indices = [args.only] if args.only is not None else range(args.count)
    out = sys.stdout
    for index in indices:
        data = make_document(args.seed, index)
        if args.only is not None:
            print(repr(data), file=sys.stderr)
        record = {"doc": base64.b64encode(data).decode("ascii"), "expect": expect(data)}
        out.write(json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
