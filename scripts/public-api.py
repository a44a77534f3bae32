#!/usr/bin/env python3
"""The public API of the `Tilectl` library product, read from the built
modules' symbol graphs (swift-symbolgraph-extract, beside swiftc).

    scripts/public-api.py [--build-dir .build/debug] --write docs/public-api.txt
    scripts/public-api.py [--build-dir .build/debug] --check docs/public-api.txt

One line per public symbol (kind, then its path and signature), sorted. The
API is semantically versioned (README, "Your own tile kinds"): --check fails
when a symbol appeared or disappeared without the baseline changing with it,
and when a public symbol has no doc comment. Exit 0 when it holds, 1 when
not (the difference printed), 2 for a usage or tool error.
"""
import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile

# What `import TilectlKit` re-exports (Sources/TilectlKit/TilectlKit.swift).
MODULES = ["Shared", "Supervisor"]
# Clang modules the Swift modules import, by their module maps.
C_MODULE_MAPS = ["CSeccomp", "CCap", "CZlib", "CDeflate"]


def fail(message, status=2):
    print(f"public-api: {message}", file=sys.stderr)
    sys.exit(status)


def extractor():
    swiftc = shutil.which("swiftc")
    if swiftc:
        candidate = os.path.join(os.path.dirname(os.path.realpath(swiftc)), "swift-symbolgraph-extract")
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("swift-symbolgraph-extract")
    if not found:
        fail("swift-symbolgraph-extract not found beside swiftc or on PATH (it ships with the Swift toolchain)")
    return found


def symbols(build_dir, root):
    build_dir = os.path.realpath(build_dir)
    modules = os.path.join(build_dir, "Modules")
    if not os.path.isdir(modules):
        fail(f"no built modules in {modules} (run `swift build` first, or pass --build-dir)")
    flags = ["-Xcc", f"-fmodule-map-file={os.path.join(build_dir, 'CShim.build', 'module.modulemap')}"]
    for name in C_MODULE_MAPS:
        flags += ["-Xcc", f"-fmodule-map-file={os.path.join(root, 'Sources', name, 'module.modulemap')}"]
    lines, undocumented = [], []
    with tempfile.TemporaryDirectory() as out:
        for module in MODULES:
            run = subprocess.run(
                [extractor(), "-module-name", module, "-target", "x86_64-unknown-linux-gnu", "-I", modules, *flags,
                 "-minimum-access-level", "public", "-skip-synthesized-members", "-output-dir", out],
                capture_output=True, text=True)
            if run.returncode != 0:
                fail(f"swift-symbolgraph-extract failed on {module}: {run.stderr.strip().splitlines()[-1:]}")
            with open(os.path.join(out, f"{module}.symbols.json")) as f:
                graph = json.load(f)
            for s in graph["symbols"]:
                if s["accessLevel"] != "public":
                    continue
                kind = s["kind"]["identifier"].removeprefix("swift.")
                title = "".join(f["spelling"] for f in s["declarationFragments"]) if "declarationFragments" in s else ""
                path = ".".join(s["pathComponents"])
                line = f"{module}  {kind:<15} {path}  ::  {' '.join(title.split())}"
                lines.append(line)
                if not s.get("docComment"):
                    undocumented.append(line)
    return sorted(set(lines)), sorted(set(undocumented))


def main():
    root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.path.join(root, ".build", "debug"))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", metavar="FILE")
    mode.add_argument("--check", metavar="FILE")
    args = parser.parse_args()

    lines, undocumented = symbols(args.build_dir, root)
    header = [f"# The Tilectl library's public API: {len(lines)} symbols. Written by scripts/public-api.py --write;",
              "# a change here is an API change (README: semantic versioning)."]
    if args.write:
        with open(args.write, "w") as f:
            f.write("\n".join(header + lines) + "\n")
        print(f"{len(lines)} public symbols written to {args.write}; {len(undocumented)} without a doc comment")
        return 0
    try:
        with open(args.check) as f:
            baseline = [l.rstrip("\n") for l in f if not l.startswith("#") and l.strip()]
    except OSError as e:
        fail(f"cannot read {args.check}: {e.strerror} (write it with --write)")
    status = 0
    if baseline != lines:
        diff = list(difflib.unified_diff(baseline, lines, args.check, "built modules", lineterm="", n=0))
        print(f"public-api: the public API differs from {args.check} "
              f"(update it with scripts/public-api.py --write {args.check} if the change is meant):")
        print("\n".join(diff))
        status = 1
    for line in undocumented:
        print(f"public-api: no doc comment: {line}")
        status = 1
    if status == 0:
        print(f"public-api: {len(lines)} public symbols, each documented, as in {args.check}")
    return status


if __name__ == "__main__":
    sys.exit(main())
