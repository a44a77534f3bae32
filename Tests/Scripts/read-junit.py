#!/usr/bin/env python3
"""Reads a JUnit XML report with junitparser (as CI systems' JUnit readers
do) and prints what it found as JSON: each suite's counts and each case's
name, whether it passed, and its failure or error type and message."""
import json
import sys

from junitparser import JUnitXml

xml = JUnitXml.fromfile(sys.argv[1])
out = {"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": []}
for suite in xml:
    cases = []
    for case in suite:
        results = [{"kind": type(r).__name__, "type": r.type, "message": r.message} for r in case.result]
        cases.append({"name": case.name, "classname": case.classname, "passed": case.is_passed, "results": results,
                      "system_out": case.system_out})
    out["suites"].append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                          "errors": suite.errors, "cases": cases})
print(json.dumps(out))
