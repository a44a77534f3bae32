#!/usr/bin/env python3
"""Validates the JSON document on stdin against SCHEMA (JSON Schema 2020-12,
with Python's jsonschema, which also checks the schema itself). Exit 0 and
prints `valid`, or exit 1 with the first error and where it is."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
document = json.load(sys.stdin)
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
if errors:
    e = errors[0]
    print(f"invalid at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
    sys.exit(1)
print("valid")
