#!/usr/bin/env bash
# What the stem costs per fragment: a topology of a spinning producer tile
# and a spinning consumer tile (tilectl-bench-stem's spin_source -> spin_sink,
# `idle = "spin"`, pinned to CPUs 0 and 1, the metric tile sleeping) beside the bare link
# (tilectl-bench-link: the same LinkProducer and LinkReader in two processes,
# no stem), alternating, ROUNDS rounds. The topology's rate is read from its
# own /metrics (link_frag_consumed_total, over SECONDS after a second of
# warm-up); the overhead is 1/stem rate - 1/link rate, in ns per fragment.
#
# BEFORE=<another tilectl-bench-stem> adds a column for that build, run in
# the same rounds (A B A B). At the end: the best round of each, and the
# median of the rounds' differences.
#
#   bench/stem-vs-link.sh [ROUNDS] [SIZE] [SECONDS]    default: 3 64 3
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
size=${2:-64}
seconds=${3:-3}
swift build -c release --product tilectl-bench-stem >/dev/null
swift build -c release --product tilectl-bench-link >/dev/null
stem_bin=.build/release/tilectl-bench-stem
link_bin=.build/release/tilectl-bench-link
work=$(mktemp -d /tmp/tilectl-stem-bench.XXXXXX)
pid=
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mtu=$(( size < 64 ? 64 : size ))
cat > "$work/topology.toml" <<TOML
name = "bench-stem-$$"
[shmem]
page_size = "normal"
[layout]
idle = "spin"
affinity = "auto"   # the source on CPU 0, the sink on CPU 1, as the bare link's processes
[links.spin]
depth = 4096
mtu = $mtu
reliable = true
[tiles.spin_source]
outputs = ["spin"]
size = $size
[tiles.spin_sink]
inputs = ["spin"]
[tiles.metric]
idle = "sleep"
prometheus_listen_port = $port
TOML

consumed() {
  curl -sf "http://127.0.0.1:$port/metrics" | awk '/^link_frag_consumed_total\{/ && /spin_sink/ { print $NF; exit }'
}

stem_rate() {  # stem_rate [binary]
  "${1:-$stem_bin}" run --config "$work/topology.toml" 2>"$work/stderr" &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
    sleep 0.05
  done
  sleep 1
  local a t0 b t1
  a=$(consumed); t0=$(date +%s%N)
  sleep "$seconds"
  b=$(consumed); t1=$(date +%s%N)
  kill -TERM "$pid"; wait "$pid" || true; pid=
  awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%d", (b - a) / ((t1 - t0) / 1e9) }'
}

echo "the stem's cost per fragment: spin_source -> spin_sink through the stem, and the bare link, $size B payloads"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo
if [[ -z "${BEFORE:-}" ]]; then
  printf "%5s | %14s %14s | %10s %10s | %12s\n" round "link frags/s" "stem frags/s" "link ns" "stem ns" "stem adds"
else
  printf "%5s | %14s %14s %14s | %10s %10s %10s | %12s %12s\n" round "link frags/s" "stem frags/s" "before" \
    "link ns" "stem ns" "before" "stem adds" "before adds"
fi
rates=$work/rates
for r in $(seq 1 "$rounds"); do
  IFS=$'\t' read -r _ link _ _ _ _ < <("$link_bin" --tsv --runs 1 --sizes "$size")
  stem=$(stem_rate)
  echo "$link $stem" >> "$rates"
  if [[ -z "${BEFORE:-}" ]]; then
    awk -v r="$r" -v l="$link" -v s="$stem" 'BEGIN {
      printf "%5d | %14d %14d | %7.1f ns %7.1f ns | %9.1f ns\n", r, l, s, 1e9 / l, 1e9 / s, 1e9 / s - 1e9 / l
    }'
  else
    before=$(stem_rate "$BEFORE")
    awk -v r="$r" -v l="$link" -v s="$stem" -v b="$before" 'BEGIN {
      printf "%5d | %14d %14d %14d | %7.1f ns %7.1f ns %7.1f ns | %9.1f ns %9.1f ns\n", r, l, s, b,
        1e9 / l, 1e9 / s, 1e9 / b, 1e9 / s - 1e9 / l, 1e9 / b - 1e9 / l
    }'
  fi
done
# The VM moves between speed modes from one run to the next, so one round's
# link and stem may not have run in the same mode. Two summaries that do
# not depend on that: each at its best (both in the machine's fastest mode),
# and the median of the rounds' differences.
median=$(awk '{ printf "%.3f\n", 1e9 / $2 - 1e9 / $1 }' "$rates" | sort -g |
  awk '{ d[NR] = $1 } END { print NR % 2 ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2 }')
awk -v m="$median" '{ l = 1e9 / $1; s = 1e9 / $2; if (NR == 1 || l < bl) bl = l; if (NR == 1 || s < bs) bs = s }
  END {
    printf "\nbest of %d: link %.1f ns, stem %.1f ns: the stem adds %.1f ns per fragment\n", NR, bl, bs, bs - bl
    printf "median of the rounds: the stem adds %.1f ns per fragment\n", m
  }' "$rates"
