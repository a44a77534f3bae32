#!/usr/bin/env bash
# tilectl's link beside a plain C ring doing the same work, in the same run:
# `spsc.c` (one producer process, one consumer process, 32-byte metadata
# lines, payload chunks, a flow-control word every 64 fragments, the payload
# copied out and the sequence number re-checked) and `tilectl-bench-link`,
# alternating C, tilectl, C, tilectl... for ROUNDS rounds at each size.
# Prints per round the throughput (fragments/s, as fast as credits allow,
# depth 4096) and the publish-to-read latency p50 (one fragment every 20 µs)
# of both, and tilectl ÷ C; then per size the median of the ratios.
#
#   bench/link-vs-c.sh [ROUNDS] [SIZES]      default: 3 "64 256 1024 4096"
#   SPSC_C=path/to/spsc.c overrides the reference (default ../shared/bench/spsc.c)
#   BEFORE=path/to/an/older/tilectl-bench-link adds its figures as a third
#   column (its table output is parsed), to compare a change in the same run.
#
# Run as root or not; it builds both in release first. The machine is shared
# and noisy: read the ratios of one round, not figures across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
sizes=${2:-"64 256 1024 4096"}
spsc_c=${SPSC_C:-../shared/bench/spsc.c}
[[ -f "$spsc_c" ]] || { echo "link-vs-c.sh: no C reference at $spsc_c; set SPSC_C=path/to/spsc.c" >&2; exit 2; }
work=$(mktemp -d /tmp/tilectl-link-vs-c.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/spsc" "$spsc_c"
swift build -c release --product tilectl-bench-link >/dev/null
bench=.build/release/tilectl-bench-link

# C throughput: a short run sizes the measured one to about a second.
c_throughput() {
  local size=$1 n rate
  rate=$("$work/spsc" 4096 "$size" 2000000 | sed -E 's/.*: ([0-9.]+) M frags.*/\1/')
  n=$(awk -v r="$rate" 'BEGIN { n = int(r * 1e6); if (n < 2000000) n = 2000000; print n }')
  "$work/spsc" 4096 "$size" "$n" | sed -E 's/.*: ([0-9.]+) M frags.*overrun-free (yes|no).*/\1 \2/'
}
c_latency() {
  "$work/spsc" 4096 "$1" 50000 latency | sed -E 's/.*p50 ([0-9]+) ns.*/\1/'
}

echo "one link, producer and consumer processes busy-polling, depth 4096"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo
before=${BEFORE:-}
printf "%5s %6s | %14s %14s %6s | %10s %10s %6s%s\n" round size "C frags/s" "tilectl" ratio "C p50" "tilectl" ratio \
  "${before:+ | before: frags/s ratio, p50 ratio}"
results="$work/results"
: > "$results"
for r in $(seq 1 "$rounds"); do
  for size in $sizes; do
    read -r c_rate c_ok < <(c_throughput "$size")
    c_p50=$(c_latency "$size")
    IFS=$'\t' read -r _ t_fps t_p50 _ _ t_torn < <("$bench" --tsv --runs 1 --sizes "$size")
    c_fps=$(awk -v r="$c_rate" 'BEGIN { printf "%d", r * 1e6 }')
    b_fps=0 b_p50=0
    if [[ -n "$before" ]]; then
      read -r b_fps b_p50 < <("$before" --runs 1 --sizes "$size" |
        awk '$2 == "B" && $1 ~ /^[0-9]+$/ { p = $5; if ($6 == "µs") p *= 1000; print $3, p; exit }')
    fi
    awk -v r="$r" -v s="$size" -v cf="$c_fps" -v tf="$t_fps" -v cl="$c_p50" -v tl="$t_p50" -v ok="$c_ok" -v torn="$t_torn" \
      -v bf="$b_fps" -v bl="$b_p50" 'BEGIN {
      printf "%5d %6s | %14d %14d %6.2f | %7d ns %7d ns %6.2f", r, s " B", cf, tf, tf / cf, cl, tl, tl / cl
      if (bf > 0) printf " | %14d %6.2f %6.2f", bf, bf / cf, bl / cl
      printf "%s\n", (ok == "yes" && torn == 0) ? "" : "  (C overrun-free: " ok ", tilectl torn: " torn ")"
    }'
    echo "$size $t_fps $c_fps $t_p50 $c_p50" >> "$results"
  done
done
echo
echo "median over $rounds rounds (throughput: tilectl ÷ C, goal >= 0.7; latency p50: tilectl ÷ C, goal <= 1.5)"
for size in $sizes; do
  # median and range of each ratio over the rounds (sorted with sort(1): mawk has no asort)
  t=$(awk -v s="$size" '$1 == s { print $2 / $3 }' "$results" | sort -g | tr '\n' ' ')
  l=$(awk -v s="$size" '$1 == s { print $4 / $5 }' "$results" | sort -g | tr '\n' ' ')
  awk -v s="$size" -v t="$t" -v l="$l" 'BEGIN {
    n = split(t, a, " "); split(l, b, " "); m = int((n + 1) / 2)
    printf "%6s   throughput %.2f (%.2f-%.2f)   latency %.2f (%.2f-%.2f)\n", s " B", a[m], a[1], a[n], b[m], b[1], b[n]
  }'
done
