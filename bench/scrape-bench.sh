#!/usr/bin/env bash
# Scrape latency and throughput of the metric tile, beside
#   (a) nginx serving a byte-identical static copy of the same body: the floor;
#   (b) swift-prometheus rendering the same families behind Hummingbird
#       (bench/SwiftPeer, its own package; skipped if not built:
#        swift build -c release --package-path bench/SwiftPeer).
# For topologies of 8, 64 and 256 tiles (the metric tile and synth tiles).
# wrk keeps one connection alive, pinned to CPU 1; the topology and both
# peers run on CPU 0, all up at once, measured in turn, three rounds; each
# figure is the median of the three.
# Release build, as root; installs wrk and nginx from Debian if missing.
#   bench/scrape-bench.sh [seconds per run] [tile counts...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}; shift || true
counts=("$@"); [ ${#counts[@]} -eq 0 ] && counts=(8 64 256)
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx >/dev/null; }
done
bin=.build/release/tilectl
[ -x "$bin" ] || swift build -c release --product tilectl >/dev/null
peer=bench/SwiftPeer/.build/release/swift-peer
dir=$(mktemp -d /tmp/tilectl-scrape-XXXXXX)
chmod 755 "$dir"   # nginx's worker runs as www-data and must read the body
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  [ -f "$dir/nginx.pid" ] && { kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true; rm -f "$dir/nginx.pid"; sleep 0.3; }
  return 0
}
trap 'stop_all; rm -rf "$dir"' EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One wrk run: p50 and p99 latency in µs, requests/s.
measure() {
  local out
  out=$(taskset -c 1 wrk -t1 -c1 -d"${secs}s" --latency "$1")
  if echo "$out" | grep -q "Non-2xx"; then echo "wrk got errors from $1:" >&2; echo "$out" >&2; exit 1; fi
  us() { awk '{ v = $1; u = $1; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v); m = (u == "ms") ? 1000 : (u == "s") ? 1000000 : 1; printf "%.0f", v * m }'; }
  echo "$(echo "$out" | awk '$1 == "50%" { print $2 }' | us) $(echo "$out" | awk '$1 == "99%" { print $2 }' | us) $(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')"
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
echo "wrk -t1 -c1 -d${secs}s on CPU 1; servers on CPU 0; median of 3 interleaved rounds"
echo
printf '| %5s | %7s | %7s | %-22s | %-22s | %-22s | %8s | %8s |\n' "tiles" "samples" "body" "tilectl p50 / p99 / scrapes/s" "nginx p50 / p99 / scrapes/s" "swift peer p50 / p99 / scrapes/s" "÷ nginx" "peer ÷"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------:" "--------:" "--------:" "-------------------------------:" "-------------------------------:" "-------------------------------:" "---------:" "---------:"
for n in "${counts[@]}"; do
  port=$(freeport)
  cat > "$dir/topology.toml" <<TOML
name = "bench-scrape"
[shmem]
page_size = "normal"
[layout]
idle = "sleep"
housekeeping_interval_us = 100000
[tiles.metric]
prometheus_listen_port = $port
healthz_max_heartbeat_age_ms = 1000
[tiles.synth]
count = $((n - 1))
rate = 1
work_bytes = 64
TOML
  taskset -c 0 "$bin" run --config "$dir/topology.toml" 2>"$dir/stderr" &
  pids+=("$!")
  until grep -q "is up:" "$dir/stderr"; do kill -0 "${pids[0]}" 2>/dev/null || { cat "$dir/stderr"; exit 1; }; sleep 0.2; done
  sleep 1
  curl -s "http://127.0.0.1:$port/metrics" > "$dir/body.txt"
  chmod 644 "$dir/body.txt"
  samples=$(grep -vc '^#' "$dir/body.txt")
  bytes=$(stat -c %s "$dir/body.txt")

  nport=$(freeport)
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport;
    location = /metrics { default_type "text/plain; version=0.0.4; charset=utf-8"; alias $dir/body.txt; }
  }
}
NGINX
  taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir"
  sleep 0.3
  cmp -s "$dir/body.txt" <(curl -s "http://127.0.0.1:$nport/metrics") || { echo "nginx does not serve the body" >&2; exit 1; }
  pport=
  if [ -x "$peer" ]; then
    pport=$(freeport)
    taskset -c 0 "$peer" --body "$dir/body.txt" --port "$pport" 2>"$dir/peer.log" &
    pids+=("$!")
    until curl -sf -o /dev/null "http://127.0.0.1:$pport/metrics"; do sleep 0.2; done
  fi

  t50=(); t99=(); trps=(); n50=(); n99=(); nrps=(); s50=(); s99=(); srps=()
  for round in 1 2 3; do
    read -r a b c < <(measure "http://127.0.0.1:$port/metrics"); t50+=("$a"); t99+=("$b"); trps+=("$c")
    read -r a b c < <(measure "http://127.0.0.1:$nport/metrics"); n50+=("$a"); n99+=("$b"); nrps+=("$c")
    if [ -n "$pport" ]; then
      read -r a b c < <(measure "http://127.0.0.1:$pport/metrics"); s50+=("$a"); s99+=("$b"); srps+=("$c")
    fi
  done
  T50=$(median "${t50[@]}"); N50=$(median "${n50[@]}")
  tcol="$T50 / $(median "${t99[@]}") µs / $(median "${trps[@]}")"
  ncol="$N50 / $(median "${n99[@]}") µs / $(median "${nrps[@]}")"
  if [ -n "$pport" ]; then
    S50=$(median "${s50[@]}")
    scol="$S50 / $(median "${s99[@]}") µs / $(median "${srps[@]}")"
    sratio=$(echo "scale=2; $S50 / $T50" | bc)
  else
    scol="not built"; sratio="-"
  fi
  printf '| %5s | %7s | %5s KB | %-31s | %-31s | %-31s | %7sx | %7sx |\n' "$n" "$samples" "$((bytes / 1000))" "$tcol" "$ncol" "$scol" \
    "$(echo "scale=2; $T50 / $N50" | bc)" "$sratio"
  stop_all
done
echo
echo "÷ nginx: tilectl's p50 over nginx's (goal: at most 1.5); peer ÷: the Swift peer's p50 over tilectl's."
