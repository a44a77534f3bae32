#!/usr/bin/env bash
# The whole validator topology (configs/validator.toml), read from the
# metric tile like any scraper would. Release build, as root.
#   1. saturated: the source publishes as fast as the verifiers take
#      transactions; verified transactions per second over a window;
#   2. loaded at a fixed rate below that: origin-to-sink latency (sink
#      histogram; a percentile is the upper bound of its bucket).
# Each mode, alternating over the rounds (A B A B):
#   sleep  the file as shipped: tiles sleep when idle, nothing pinned;
#   spin   [layout] idle = "spin", affinity = "auto": every tile but the
#          metric tile (which sleeps and floats) spins on a core of its own,
#          or shares one when tiles outnumber cores.
#   bench/validator-throughput.sh [seconds] [rate for the latency phase] [rounds] [modes]
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-10}
rate=${2:-5000}
rounds=${3:-1}
modes=${4:-sleep spin}
bin=.build/release/tilectl
[ -x "$bin" ] || swift build -c release --product tilectl >/dev/null
dir=$(mktemp -d /tmp/tilectl-bench-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  "$bin" configure fini --config "$dir/topology.toml" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

boot() {  # boot <source rate> <mode>
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  sed -e 's/^name = .*/name = "bench-validator"/' -e "s/^prometheus_listen_port = .*/prometheus_listen_port = $port/" \
      -e "s|^hugetlbfs_mount = .*|hugetlbfs_mount = \"$dir/hugetlbfs\"|" -e "s/^rate = 10000 /rate = $1 /" \
      configs/validator.toml > "$dir/topology.toml"
  if [ "$2" = spin ]; then
    sed -i -e 's/^idle = "sleep".*/idle = "spin"\naffinity = "auto"/' -e '/^\[tiles.metric\]/a idle = "sleep"' "$dir/topology.toml"
  fi
  "$bin" run --config "$dir/topology.toml" 2>"$dir/stderr" &
  pid=$!
  until grep -q "is up:" "$dir/stderr"; do kill -0 $pid 2>/dev/null || { cat "$dir/stderr"; exit 1; }; sleep 0.1; done
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }
scrape() { curl -s "http://127.0.0.1:$port/metrics"; }
sum() { scrape | awk -v m="$1" -v l="$2" 'index($0, m "{") == 1 && index($0, l) { s += $NF } END { printf "%d", s }'; }
# percentile <p> from the sink latency histogram, in µs (bucket upper bound)
percentile() {
  scrape | awk -v p="$1" '/^sink_latency_seconds_bucket/ { split($0, a, "le=\""); split(a[2], b, "\""); le = b[1]; c[le] += $NF; order[n++] = le }
    /^sink_latency_seconds_count/ { total += $NF }
    END { for (i = 0; i < n; i++) { le = order[i]; if (c[le] >= p * total) { if (le == "+Inf") print "over 1 s"; else printf "%g", le * 1e6; exit } } }'
}

# measure <mode>: prints "tx/s unique/s p50 p99"
measure() {
  boot 0 "$1"
  sleep 2
  v0=$(sum verify_transactions_total 'result="verified"'); s0=$(sum sink_transactions_total ''); t0=$(date +%s%N)
  sleep "$window"
  v1=$(sum verify_transactions_total 'result="verified"'); s1=$(sum sink_transactions_total ''); t1=$(date +%s%N)
  stop
  secs=$(echo "($t1 - $t0) / 1000000000" | bc -l)
  boot "$rate" "$1"
  sleep "$window"
  p50=$(percentile 0.5); p99=$(percentile 0.99)
  stop
  printf '%.0f %.0f %s %s\n' "$(echo "($v1 - $v0) / $secs" | bc -l)" "$(echo "($s1 - $s0) / $secs" | bc -l)" "$p50" "$p99"
}

printf '%-10s %s\n' "machine" "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
printf '%-10s %s\n' "topology" "configs/validator.toml: source -> 4 verify -> dedup -> sink (8 tiles)"
printf '%-6s %-6s %16s %16s %18s %18s\n' round mode "verified tx/s" "unique tx/s" "p50 at $rate/s" "p99 at $rate/s"
for r in $(seq 1 "$rounds"); do
  for m in $modes; do
    read -r tx uniq p50 p99 < <(measure "$m")
    printf '%-6s %-6s %16s %16s %18s %18s\n' "$r" "$m" "$tx" "$uniq" "≤ $p50 µs" "≤ $p99 µs"
  done
done
echo "(saturated: ${window} s window after 2 s of warm-up; latency: ${window} s at a fixed rate, bucket upper bounds)"
