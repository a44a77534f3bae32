#!/usr/bin/env python3
"""Parses a metrics body from stdin with the Python prometheus_client parsers.

Usage: parse-exposition.py text|openmetrics < body
Prints the number of samples; exits non-zero with the parser's error."""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

fmt = sys.argv[1]
body = sys.stdin.read()
families = list((parse_openmetrics if fmt == "openmetrics" else parse_text)(body))
print(sum(len(f.samples) for f in families))
