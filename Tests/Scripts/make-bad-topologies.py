#!/usr/bin/env python3
"""Writes Tests/Corpus/bad-topologies/: invalid topology files.

Every one must make `tilectl run` and `tilectl check` exit 2 with one line
naming the file, a line and a column, and leave nothing behind; the
integration tests check each. Deterministic."""
import os
import random
import shutil

OUT = os.path.join(os.path.dirname(__file__), "..", "Corpus", "bad-topologies")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
rng = random.Random(7)
n = 0
METRIC = '[tiles.metric]\nprometheus_listen_port = 7999\n'
PIPE = ('[links.a]\n[links.b]\n[tiles.source]\noutputs = ["a"]\npool_size = 8192\n'
        '[tiles.dedup]\ninputs = ["a"]\noutputs = ["b"]\n[tiles.sink]\ninputs = ["b"]\n')


def put(name, data):
    global n
    n += 1
    with open(os.path.join(OUT, f"{n:02d}-{name}.toml"), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# Syntax.
put("unclosed-table", 'name = "x"\n[tiles.metric\n')
put("unclosed-string", 'name = "x\n' + METRIC)
put("unclosed-array", METRIC + '[links.a]\n[tiles.source]\noutputs = ["a"\n')
put("missing-value", 'name =\n' + METRIC)
put("bare-word-value", 'name = hello\n' + METRIC)
put("duplicate-key", 'name = "a"\nname = "b"\n' + METRIC)
put("duplicate-table", METRIC + METRIC)
put("key-without-equals", 'name "x"\n' + METRIC)
put("bad-escape", 'name = "\\q"\n' + METRIC)
put("table-and-dotted-clash", 'tiles = 1\n' + METRIC)
put("inline-table-reopened", 'log = { path = "" }\n[log]\nlevel_stderr = "info"\n' + METRIC)
# Types.
put("name-integer", 'name = 42\n' + METRIC)
put("user-array", 'user = ["nobody"]\n' + METRIC)
put("port-string", '[tiles.metric]\nprometheus_listen_port = "7999"\n')
put("port-float", '[tiles.metric]\nprometheus_listen_port = 7999.0\n')
put("count-boolean", METRIC + '[tiles.synth]\ncount = true\n')
put("reliable-string", METRIC + '[links.a]\nreliable = "yes"\n')
put("log-is-string", 'log = "stderr"\n' + METRIC)
put("tiles-is-array", 'tiles = []\n')
put("outputs-string", METRIC + '[links.a]\n[tiles.source]\noutputs = "a"\n')
put("inputs-of-integers", METRIC + '[tiles.sink]\ninputs = [1, 2]\n')
put("date-for-name", 'name = 2026-11-24\n' + METRIC)
# Ranges.
put("port-zero", '[tiles.metric]\nprometheus_listen_port = 0\n')
put("port-70000", '[tiles.metric]\nprometheus_listen_port = 70000\n')
put("negative-count", METRIC + '[tiles.synth]\ncount = -3\n')
put("count-zero", METRIC + '[tiles.synth]\ncount = 0\n')
put("two-metric-tiles", '[tiles.metric]\ncount = 2\n')
put("depth-not-power-of-two", METRIC + '[links.a]\ndepth = 1000\n')
put("depth-too-large", METRIC + '[links.a]\ndepth = 4194304\n')
put("mtu-zero", METRIC + '[links.a]\nmtu = 0\n')
put("fraction-above-range", METRIC + PIPE.replace('pool_size = 8192', 'pool_size = 8192\nduplicate_fraction = 1.5'))
put("timeout-too-small", '[tiles.metric]\nrequest_timeout_ms = 1\n')
put("housekeeping-zero", '[layout]\nhousekeeping_interval_us = 0\n' + METRIC)
# Choices and names.
put("bad-page-size", '[shmem]\npage_size = "large"\n' + METRIC)
put("bad-log-level", '[log]\nlevel_stderr = "verbose"\n' + METRIC)
put("bad-idle", '[layout]\nidle = "nap"\n' + METRIC)
put("name-with-space", 'name = "my topology"\n' + METRIC)
put("name-too-long", 'name = "' + "n" * 40 + '"\n' + METRIC)
put("name-with-slash", 'name = "../etc"\n' + METRIC)
put("link-name-uppercase", METRIC + '[links.Feed]\n')
put("unknown-user", 'user = "no-such-user-here"\n' + METRIC)
put("root-user", 'user = "root"\n' + METRIC)
put("relative-log-path", '[log]\npath = "tilectl.log"\n' + METRIC)
put("relative-hugetlbfs", '[shmem]\nhugetlbfs_mount = "mnt"\n' + METRIC)
put("address-hostname", '[tiles.metric]\nprometheus_listen_address = "localhost"\n')
# Unknown keys and kinds.
put("unknown-top-key", 'nmae = "x"\n' + METRIC)
put("unknown-tile-option", METRIC + '[tiles.synth]\nrat = 10\n')
put("unknown-link-key", METRIC + '[links.a]\nsize = 3\n')
put("unknown-kind", METRIC + '[tiles.verifier]\n')
# References and topology rules.
put("no-metric-tile", '[tiles.synth]\ncount = 1\n')
put("empty-file", '')
put("link-unknown-in-inputs", METRIC + '[tiles.sink]\ninputs = ["nope"]\n')
put("link-without-producer", METRIC + '[links.a]\n[tiles.sink]\ninputs = ["a"]\n')
put("link-never-consumed", METRIC + '[links.a]\n[tiles.source]\noutputs = ["a"]\n')
put("link-two-producers", METRIC + '[links.a]\n[links.b]\n[tiles.source]\noutputs = ["a"]\n'
    '[tiles.verify]\ninputs = ["b"]\noutputs = ["a"]\n')
put("link-listed-twice", METRIC + '[links.a]\n[tiles.source]\noutputs = ["a"]\n[tiles.sink]\ninputs = ["a", "a"]\n')
put("missing-output", METRIC + '[tiles.source]\nrate = 1\n')
put("mtu-too-small-for-source", METRIC + PIPE.replace('[links.a]\n', '[links.a]\nmtu = 100\n'))
put("dedup-cache-too-small", METRIC + PIPE.replace('outputs = ["b"]\n', 'outputs = ["b"]\ncache_size = 16\n'))
# Limits and huge values.
put("too-many-tiles", METRIC + '[tiles.synth]\ncount = 512\n')
put("integer-overflow", '[tiles.metric]\nprometheus_listen_port = 99999999999999999999999\n')
put("huge-string", 'name = "' + "x" * 200000 + '"\n' + METRIC)
put("deep-nesting", 'x = ' + "[" * 2000 + "]" * 2000 + '\n' + METRIC)
put("over-one-mebibyte", "# " + "x" * (1 << 20) + "\n" + METRIC)
# Binary garbage.
put("binary-random", bytes(rng.randrange(256) for _ in range(2000)))
put("binary-nul", b'name = "x"\n\x00\x00\x00\n' + METRIC.encode())
put("binary-invalid-utf8", b'name = "caf\xe9"\n' + METRIC.encode())
put("binary-elf-header", b"\x7fELF\x02\x01\x01" + bytes(rng.randrange(256) for _ in range(500)))
put("binary-utf16", METRIC.encode("utf-16"))

print(f"{n} topology files in {os.path.normpath(OUT)}")
