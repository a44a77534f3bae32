#!/usr/bin/env bash
# Builds the libFuzzer harnesses (AddressSanitizer + libFuzzer coverage) and
# runs each for SECONDS (default 60), then prints a table of what they did.
#
#   fuzz/run.sh [SECONDS]          e.g. from the repository root: fuzz/run.sh 60
#
# Exit status: 0 when no harness crashed or timed out; 1 when one did (the
# input is saved under fuzz/crashes/, copied into the harness's seed corpus
# as regression-<sha1>, and the command to reproduce it is printed); 2 on a
# usage or build error.
#
# Environment: FUZZ_C_COVERAGE=0 skips instrumenting the C code (the shims,
# BoringSSL); FUZZ_JOBS is passed to `swift build -j`.
set -euo pipefail

usage() { echo "usage: $0 [SECONDS]   (a positive integer, default 60)" >&2; exit 2; }
[[ $# -le 1 ]] || usage
seconds="${1:-60}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
if [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
command -v swift >/dev/null || { echo "run.sh: swift is not on PATH" >&2; exit 2; }

# harness name : seed corpus directory (fuzz/corpus/<dir>) : dictionary (fuzz/dict/<name>, or - for none)
harnesses=("FuzzHTTP:http:http.dict" "FuzzGuiRequest:gui:gui.dict" "FuzzTOML:toml:topology.dict" "FuzzTopology:topology:topology.dict"
           "FuzzDeflate:deflate:-")
scratch="$here/.build-fuzz"
crashes="$here/crashes"
mkdir -p "$crashes"
[[ -f "$crashes/.gitignore" ]] || printf '*\n!.gitignore\n' > "$crashes/.gitignore"

started=$SECONDS
# Build log, working corpora and fuzzing logs; removed on exit.
work="$(mktemp -d "${TMPDIR:-/tmp}/tilectl-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- build ---------------------------------------------------------------
# Same dependency versions as the main package when it has resolved them.
if [[ -f "$root/Package.resolved" ]]; then cp "$root/Package.resolved" "$here/Package.resolved"; fi

# Swift: one -sanitize= list (swiftc keeps only the last of several
# -sanitize= options, so `swift build --sanitize=fuzzer --sanitize=address`
# silently loses the fuzzer's coverage of the Swift code). -DFUZZING: each
# harness's main hands over to libFuzzer's driver instead of reproducing.
# -enable-testing: the harnesses reach the parsers through `@testable
# import`, since they are `package` API, not the library's public one.
swift_flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -enable-testing)
# C and C++ (the shims, BoringSSL): coverage and ASan.
c_flags=(-Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address)
jobs=()
if [[ -n "${FUZZ_JOBS:-}" ]]; then jobs=(-j "$FUZZ_JOBS"); fi

build() {
    swift build --package-path "$here" --scratch-path "$scratch" -c release ${jobs[@]+"${jobs[@]}"} "$@"
}

c_coverage=yes
build_log="$work/build.log"
if [[ "${FUZZ_C_COVERAGE:-1}" == 0 ]]; then
    c_coverage="no (FUZZ_C_COVERAGE=0)"
    echo "== building the harnesses (Swift instrumented; C/C++ not: FUZZ_C_COVERAGE=0)"
    build "${swift_flags[@]}" || { echo "run.sh: build failed" >&2; exit 2; }
else
    echo "== building the harnesses (Swift and C/C++ instrumented: libFuzzer coverage + AddressSanitizer)"
    if ! build "${swift_flags[@]}" "${c_flags[@]}" 2>&1 | tee "$build_log"; then
        # A Swift compile error (the project's sources or a harness) is not
        # the instrumentation's fault: no point building again without it.
        if grep -qE '\.swift:[0-9]+:[0-9]+: error:' "$build_log"; then
            echo "run.sh: build failed (Swift compile errors above)" >&2; exit 2
        fi
        echo "run.sh: the build with C/C++ instrumentation failed; retrying with the Swift code instrumented only" >&2
        c_coverage="no (the instrumented C/C++ build failed)"
        build "${swift_flags[@]}" || { echo "run.sh: build failed" >&2; exit 2; }
    fi
fi
bindir="$(build "${swift_flags[@]}" --show-bin-path)"
build_seconds=$((SECONDS - started))
echo "== built in ${build_seconds} s; C/C++ coverage: $c_coverage"

# --- fuzz ----------------------------------------------------------------
# Without this the Swift runtime's backtracer takes over a crashing process
# (and can hang) before libFuzzer writes the input out.
export SWIFT_BACKTRACE=enable=no
if command -v llvm-symbolizer >/dev/null; then
    export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer)}"
fi

# The value after `$1` in libFuzzer status line `$2` ("cov: 319" -> 319).
field() { sed -nE "s/.* $1 ([^ ]+).*/\1/p" <<<"$2"; }

failed=0
failures=()
rows=()
for entry in "${harnesses[@]}"; do
    IFS=: read -r name seeds dict <<<"$entry"
    bin="$bindir/$name"
    [[ -x "$bin" ]] || { echo "run.sh: $bin was not built" >&2; exit 2; }
    # New inputs land in the first directory: a temporary one, never the seeds.
    corpus="$work/corpus-$name"
    mkdir -p "$corpus"
    log="$work/$name.log"
    # FuzzDeflate's bytes are choices, not text: no dictionary.
    dict_arg=()
    if [[ "$dict" != - ]]; then dict_arg=(-dict="$here/dict/$dict"); fi
    echo "== fuzzing $name for ${seconds} s (seeds: fuzz/corpus/$seeds)"
    t0=$SECONDS
    rc=0
    "$bin" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$crashes/$name-" -timeout=10 -rss_limit_mb=2048 \
        ${dict_arg[@]+"${dict_arg[@]}"} \
        "$corpus" "$here/corpus/$seeds" >"$log" 2>&1 || rc=$?
    elapsed=$((SECONDS - t0))

    # The last status line (cov:, ft:, corp:) and the final stats.
    status_line="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)"
    cov="$(field 'cov:' "$status_line")"; ft="$(field 'ft:' "$status_line")"; corp="$(field 'corp:' "$status_line")"
    execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
    rate="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
    rows+=("$name|$elapsed|${execs:--}|${rate:--}|${cov:--}|${ft:--}|${corp:--}")

    if [[ $rc -ne 0 ]]; then
        failed=1
        artifact="$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)"
        kept_log="$crashes/$name-$(date +%Y%m%d-%H%M%S).log"
        cp "$log" "$kept_log"
        echo "!! $name FAILED (exit status $rc); its log: $kept_log" >&2
        # The reason libFuzzer gives (deadly signal, timeout, leak, ...) and the property message.
        grep -E '^==[0-9]+==|FUZZ PROPERTY VIOLATED|^SUMMARY|ERROR: libFuzzer' "$log" | head -n 8 >&2 || true
        if [[ -n "$artifact" && -f "$artifact" ]]; then
            # The input joins the seed corpus at once: every later run (and
            # CI, once it is committed with the fix) replays it first.
            regression="$here/corpus/$seeds/regression-$(sha1sum "$artifact" | cut -c1-12)"
            cp "$artifact" "$regression"
            failures+=("$name: $artifact, added to the seeds as ${regression#"$root/"}"$'\n'"    reproduce: SWIFT_BACKTRACE=enable=no '$bin' '$artifact'")
        else
            failures+=("$name: no input was written (see $kept_log)")
        fi
    fi
done

# --- report --------------------------------------------------------------
echo
printf '%-14s %8s %12s %9s %7s %8s %14s\n' harness seconds executions 'execs/s' cov ft 'corpus'
for row in "${rows[@]}"; do
    IFS='|' read -r n s e r c f k <<<"$row"
    printf '%-14s %8s %12s %9s %7s %8s %14s\n' "$n" "$s" "$e" "$r" "$c" "$f" "$k"
done
echo "(cov: edges covered; ft: libFuzzer features; corpus: inputs/total size at the end)"
echo "C/C++ coverage: $c_coverage; build ${build_seconds} s; total $((SECONDS - started)) s"

if [[ $failed -ne 0 ]]; then
    echo
    echo "FAILED: a harness crashed or timed out:" >&2
    for f in "${failures[@]}"; do echo "  $f" >&2; done
    echo "A plain build reproduces without sanitizers: swift build --package-path '$here' && '$here/.build/debug/<harness>' <file>" >&2
    echo "Fix the defect, then commit the fix with the regression-* input (fuzz/README.md)." >&2
    exit 1
fi
echo "OK: no crash, no timeout"
