#!/usr/bin/env bash
# Scrape latency and throughput of the metric tile, for topologies of 8, 64
# and 256 tiles (the metric tile and synth tiles).
#
# Headline table: what Prometheus really sends. Its Accept header (OpenMetrics
# preferred, so the tile answers OpenMetrics) with Accept-Encoding: gzip, beside
#   - the same topology's plain scrape (no Accept, no Accept-Encoding:
#     Prometheus text, identity);
#   - nginx gzip_static serving a `gzip -9` copy of the identical OpenMetrics
#     body (the floor: no compression per request);
#   - nginx compressing that identical body on the fly at level 1 (zlib's
#     fastest: what a general-purpose server pays), asked with the same headers;
#   - the tile's gzip size beside `gzip -1` of the same text;
#   - the metric tile's CPU time per scrape (utime + stime of its process from
#     /proc/<pid>/stat around each wrk run, over the requests wrk completed;
#     includes the tile's idle housekeeping during the run).
# Second table (as before): plain scrapes beside nginx serving a
# byte-identical static copy (sendfile) and swift-prometheus rendering the
# same families behind Hummingbird (bench/SwiftPeer, its own package; skipped
# if not built: swift build -c release --package-path bench/SwiftPeer).
#
# wrk keeps one connection alive, pinned to CPU 1; the topology, nginx and the
# peer run on CPU 0, all up at once, measured in turn, three rounds; each
# figure is the median of the three.
# Release build, as root; installs wrk and nginx from Debian if missing.
#   bench/scrape-bench.sh [seconds per run] [tile counts...]
# Environment:
#   TILECTL_BIN   the tilectl binary (default .build/release/tilectl, built if
#                 missing), e.g. one built with --scratch-path .build-bench
#   BOOT_TIMEOUT  seconds to wait for /healthz to answer 200 (default 600)
set -Eeuo pipefail
shopt -s inherit_errexit
trap 'echo "scrape-bench: failed (line $LINENO, exit $?)" >&2' ERR
cd "$(dirname "$0")/.."
secs=${1:-5}; shift || true
counts=("$@"); [ ${#counts[@]} -eq 0 ] && counts=(8 64 256)
boot_timeout=${BOOT_TIMEOUT:-600}
[ "$(id -u)" -eq 0 ] || { echo "scrape-bench: run as root" >&2; exit 1; }
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx >/dev/null; }
done
for tool in curl gzip bc python3 taskset; do
  command -v "$tool" >/dev/null || { echo "scrape-bench: $tool is missing" >&2; exit 1; }
done
if [ -n "${TILECTL_BIN:-}" ]; then
  bin=$TILECTL_BIN
  [ -x "$bin" ] || { echo "scrape-bench: TILECTL_BIN=$bin is not an executable" >&2; exit 1; }
else
  bin=.build/release/tilectl
  [ -x "$bin" ] || swift build -c release --product tilectl >/dev/null
fi
peer=bench/SwiftPeer/.build/release/swift-peer
name="bench-scrape-$$"   # one run per name at a time: unique per invocation
hz=$(getconf CLK_TCK)
accept='application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2'
prom=(-H "Accept: $accept" -H "Accept-Encoding: gzip")
dir=$(mktemp -d /tmp/tilectl-scrape-XXXXXX)
chmod 755 "$dir"   # nginx's worker runs as www-data and must read the bodies
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  if [ -f "$dir/nginx.pid" ]; then
    kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -f "$dir/nginx.pid" ] || break; sleep 0.1; done
    rm -f "$dir/nginx.pid"
  fi
  return 0
}
trap 'stop_all; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "scrape-bench: $*" >&2; exit 1; }

# utime + stime of a process, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# One wrk run: p50 and p99 latency in µs, requests/s, and (when a pid is
# given, else "-") that process's CPU µs per request.
#   measure url pid|- [wrk options...]
measure() {
  local url=$1 pid=$2 out t0=0 t1=0 reqs cpu=-
  shift 2
  [ "$pid" = - ] || t0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c1 -d"${secs}s" --latency "$@" "$url")
  [ "$pid" = - ] || t1=$(cpu_ticks "$pid")
  if echo "$out" | grep -qE "Non-2xx|Socket errors"; then echo "wrk got errors from $url:" >&2; echo "$out" >&2; return 1; fi
  reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
  [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { echo "wrk completed no request to $url:" >&2; echo "$out" >&2; return 1; }
  [ "$pid" = - ] || cpu=$(echo "scale=1; ($t1 - $t0) * 1000000 / $hz / $reqs" | bc)
  us() { awk '{ v = $1; u = $1; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v); m = (u == "ms") ? 1000 : (u == "s") ? 1000000 : 1; printf "%.0f", v * m }'; }
  echo "$(echo "$out" | awk '$1 == "50%" { print $2 }' | us) $(echo "$out" | awk '$1 == "99%" { print $2 }' | us) $(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }') $cpu"
}
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
kb() { printf '%.1f KB' "$(echo "scale=2; $1 / 1000" | bc)"; }
# The response head of a GET (headers as curl options), lowercased.
head_of() { local url=$1; shift; curl -sf -o /dev/null -D - "$@" "$url" | tr -d '\r' | tr 'A-Z' 'a-z'; }

headline=(); classic=()
for n in "${counts[@]}"; do
  port=$(freeport)
  cat > "$dir/topology.toml" <<TOML
name = "$name"
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
  booted=$(date +%s)
  taskset -c 0 "$bin" run --config "$dir/topology.toml" 2>"$dir/stderr" &
  pids+=("$!")
  # A topology of 256 tiles takes tens of seconds to boot on one CPU.
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/healthz" || true)" = 200 ]; do
    kill -0 "${pids[0]}" 2>/dev/null || { cat "$dir/stderr" >&2; fail "tilectl run exited while booting $n tiles"; }
    [ $(( $(date +%s) - booted )) -lt "$boot_timeout" ] || { tail -20 "$dir/stderr" >&2; fail "$n tiles: /healthz not 200 after $boot_timeout s"; }
    sleep 0.5
  done
  echo "$n tiles: healthy after $(( $(date +%s) - booted )) s" >&2
  sleep 1

  # Plain scrape: Prometheus text, identity.
  curl -sf "http://127.0.0.1:$port/metrics" > "$dir/body.txt"
  samples=$(grep -vc '^#' "$dir/body.txt")
  bytes=$(stat -c %s "$dir/body.txt")
  mpid=$(awk '$1 == "tile_pid{kind=\"metric\",kind_id=\"0\"}" { print $2 }' "$dir/body.txt")
  [[ "$mpid" =~ ^[0-9]+$ ]] && [ -r "/proc/$mpid/stat" ] || fail "no metric tile pid in /metrics (got '$mpid')"
  # Prometheus's scrape: the tile answers OpenMetrics, gzipped. om.txt is
  # exactly the text that gzip body holds.
  h=$(head_of "http://127.0.0.1:$port/metrics" "${prom[@]}")
  grep -q '^content-encoding: gzip' <<< "$h" || fail "the tile did not gzip Prometheus's scrape: $h"
  grep -q '^content-type: application/openmetrics-text' <<< "$h" || fail "the tile did not answer OpenMetrics: $h"
  omtype=$(sed -n 's/^content-type: //p' <<< "$h")
  curl -sf "${prom[@]}" "http://127.0.0.1:$port/metrics" > "$dir/om.gz"
  gzip -dc < "$dir/om.gz" > "$dir/om.txt"
  grep -q '^# EOF$' "$dir/om.txt" || fail "the tile's gzip body is not OpenMetrics"
  gzip -9 -n -c < "$dir/om.txt" > "$dir/om.txt.gz"   # for gzip_static
  chmod 644 "$dir/body.txt" "$dir/om.txt" "$dir/om.txt.gz"
  ombytes=$(stat -c %s "$dir/om.txt")
  tilegz=$(stat -c %s "$dir/om.gz")
  gz1=$(gzip -1 -n -c < "$dir/om.txt" | wc -c)

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
    # byte-identical static copy of the plain scrape
    location = /metrics { default_type "text/plain; version=0.0.4; charset=utf-8"; alias $dir/body.txt; }
    # the OpenMetrics body, precompressed (om.txt.gz, gzip -9)
    location = /static { default_type "$omtype"; gzip_static on; alias $dir/om.txt; }
    # the same body, compressed per request at level 1
    location = /live { default_type "$omtype"; gzip on; gzip_comp_level 1; gzip_types *; alias $dir/om.txt; }
  }
}
NGINX
  taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir"
  sleep 0.3
  cmp -s "$dir/body.txt" <(curl -sf "http://127.0.0.1:$nport/metrics") || fail "nginx does not serve the plain body"
  for loc in static live; do
    grep -q '^content-encoding: gzip' <<< "$(head_of "http://127.0.0.1:$nport/$loc" "${prom[@]}")" || fail "nginx /$loc does not gzip"
    cmp -s "$dir/om.txt" <(curl -sf "${prom[@]}" "http://127.0.0.1:$nport/$loc" | gzip -dc) || fail "nginx /$loc does not serve the OpenMetrics body"
  done
  cmp -s "$dir/om.txt.gz" <(curl -sf "${prom[@]}" "http://127.0.0.1:$nport/static") || fail "nginx /static does not serve om.txt.gz"
  pport=
  if [ -x "$peer" ]; then
    pport=$(freeport)
    taskset -c 0 "$peer" --body "$dir/body.txt" --port "$pport" 2>"$dir/peer.log" &
    pids+=("$!")
    until curl -sf -o /dev/null "http://127.0.0.1:$pport/metrics"; do kill -0 "${pids[-1]}" 2>/dev/null || fail "the Swift peer exited"; sleep 0.2; done
  fi

  t50=(); t99=(); trps=(); tcpu=(); g50=(); gcpu=(); n50=(); n99=(); nrps=(); z50=(); l50=(); s50=(); s99=(); srps=()
  for round in 1 2 3; do
    r=$(measure "http://127.0.0.1:$port/metrics" "$mpid"); read -r a b c d <<< "$r"; t50+=("$a"); t99+=("$b"); trps+=("$c"); tcpu+=("$d")
    r=$(measure "http://127.0.0.1:$port/metrics" "$mpid" "${prom[@]}"); read -r a b c d <<< "$r"; g50+=("$a"); gcpu+=("$d")
    r=$(measure "http://127.0.0.1:$nport/metrics" -); read -r a b c d <<< "$r"; n50+=("$a"); n99+=("$b"); nrps+=("$c")
    r=$(measure "http://127.0.0.1:$nport/static" - "${prom[@]}"); read -r a b c d <<< "$r"; z50+=("$a")
    r=$(measure "http://127.0.0.1:$nport/live" - "${prom[@]}"); read -r a b c d <<< "$r"; l50+=("$a")
    if [ -n "$pport" ]; then
      r=$(measure "http://127.0.0.1:$pport/metrics" -); read -r a b c d <<< "$r"; s50+=("$a"); s99+=("$b"); srps+=("$c")
    fi
  done
  T50=$(median "${t50[@]}"); G50=$(median "${g50[@]}"); N50=$(median "${n50[@]}")
  Z50=$(median "${z50[@]}"); L50=$(median "${l50[@]}")
  headline+=("$(printf '| %s | %s | %s | %s (%s) | %s | %s µs | %s µs | %s | %s µs | %s µs | %s | %s / %s |' \
    "$n" "$(kb "$bytes")" "$(kb "$ombytes")" "$(kb "$tilegz")" "$(ratio "$tilegz" "$gz1")" "$(kb "$gz1")" \
    "$T50" "$G50" "$(ratio "$G50" "$T50")" "$Z50" "$L50" "$(ratio "$G50" "$L50")" \
    "$(median "${tcpu[@]}")" "$(median "${gcpu[@]}")")")
  tcol="$T50 / $(median "${t99[@]}") µs / $(median "${trps[@]}")"
  ncol="$N50 / $(median "${n99[@]}") µs / $(median "${nrps[@]}")"
  if [ -n "$pport" ]; then
    S50=$(median "${s50[@]}")
    scol="$S50 / $(median "${s99[@]}") µs / $(median "${srps[@]}")"
    sratio=$(ratio "$S50" "$T50")
  else
    scol="not built"; sratio="-"
  fi
  classic+=("$(printf '| %s | %s | %s KB | %s | %s | %s | %s | %s |' "$n" "$samples" "$((bytes / 1000))" "$tcol" "$ncol" "$scol" \
    "$(ratio "$T50" "$N50")" "$sratio")")
  stop_all
done

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
echo "wrk -t1 -c1 -d${secs}s on CPU 1; servers on CPU 0; median of 3 interleaved rounds"
echo
echo "Prometheus's scrape (its Accept header, so OpenMetrics, and Accept-Encoding: gzip) beside the plain scrape and nginx:"
echo
echo "| tiles | plain body | OpenMetrics body | tile gzip (÷ gzip -1) | gzip -1 | tile plain p50 | tile gzip p50 | gzip ÷ plain | nginx gzip_static p50 | nginx gzip 1 p50 | tile gzip ÷ nginx gzip 1 | tile CPU µs/scrape plain / gzip |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${headline[@]}"
echo
echo "plain: no Accept, no Accept-Encoding (Prometheus text, identity). gzip -1: of the same OpenMetrics text the tile gzipped."
echo "nginx gzip_static serves that text precompressed with gzip -9; nginx gzip 1 compresses it per request at level 1."
echo "tile CPU: utime + stime of the metric tile's process over the requests wrk completed (${hz} ticks/s)."
echo
echo "| tiles | samples | body | tilectl p50 / p99 / scrapes/s | nginx p50 / p99 / scrapes/s | swift peer p50 / p99 / scrapes/s | ÷ nginx | peer ÷ |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${classic[@]}"
echo
echo "Plain scrapes. ÷ nginx: tilectl's p50 over nginx's static copy (sendfile; goal: at most 1.5); peer ÷: the Swift peer's p50 over tilectl's."
