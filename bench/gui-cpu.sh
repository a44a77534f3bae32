#!/usr/bin/env bash
# The gui tile's CPU on the validator topology (configs/validator.toml plus
# a [tiles.gui]), with 0 pages open and then with N live pages in headless
# Chromium (Tests/Scripts/gui-browser.py hold), read from /proc/<pid>/stat
# (utime + stime) over the same window, alternating (0, N, 0, N …).
# Also the bytes the tile wrote and the page's size on the wire. As root.
#   bench/gui-cpu.sh [seconds] [pages] [rounds]     (TILECTL=path to a build)
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-30}
pages=${2:-3}
rounds=${3:-2}
bin=${TILECTL:-.build/release/tilectl}
[ -x "$bin" ] || swift build -c release --product tilectl >/dev/null
dir=$(mktemp -d /tmp/tilectl-bench-gui-XXXXXX)
pid=
hold=
cleanup() {
  [ -n "$hold" ] && { kill "$hold" 2>/dev/null || true; wait "$hold" 2>/dev/null || true; }
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  "$bin" configure fini --config "$dir/topology.toml" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
gui=$(free_port)
sed -e 's/^name = .*/name = "bench-gui"/' -e "s/^prometheus_listen_port = .*/prometheus_listen_port = $port/" \
    -e "s|^hugetlbfs_mount = .*|hugetlbfs_mount = \"$dir/hugetlbfs\"|" configs/validator.toml > "$dir/topology.toml"
printf '\n[tiles.gui]\ngui_listen_port = %s\n' "$gui" >> "$dir/topology.toml"
"$bin" run --config "$dir/topology.toml" 2>"$dir/stderr" &
pid=$!
"$bin" ready --config "$dir/topology.toml" --timeout 120 >/dev/null
metric() {  # the first series named $1 (reads the whole body: an early exit would fail curl under pipefail)
  curl -sf "http://127.0.0.1:$port/metrics" | awk -v s="$1" 'index($0, s) == 1 && v == "" { v = $NF } END { print v }'
}
gpid=$(metric 'tile_pid{kind="gui",kind_id="0"}')
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$gpid/stat"; }

measure() {  # measure <pages>: CPU % of one core and bytes/s over the window
  if [ "$1" -gt 0 ]; then
    python3 Tests/Scripts/gui-browser.py hold --url "http://127.0.0.1:$gui/" --pages "$1" \
      --seconds "$((window + 5))" > "$dir/hold" 2>&1 &
    hold=$!
    for _ in $(seq 600); do grep -q '^live' "$dir/hold" && break; sleep 0.1; done
    grep -q '^live' "$dir/hold" || { echo "gui-cpu.sh: the pages did not go live: $(cat "$dir/hold")" >&2; exit 1; }
  fi
  local t0 b0 t1 b1
  t0=$(ticks); b0=$(metric gui_bytes_written_total)
  sleep "$window"
  t1=$(ticks); b1=$(metric gui_bytes_written_total)
  if [ -n "$hold" ]; then wait "$hold" || { echo "gui-cpu.sh: $(cat "$dir/hold")" >&2; exit 1; }; hold=; fi
  awk -v dt="$((t1 - t0))" -v hz="$hz" -v w="$window" -v db="$((b1 - b0))" \
    'BEGIN { printf "%.2f %.0f\n", 100 * dt / hz / w, db / w }'
}

encoded() {  # bytes of <path> on the wire, gzip accepted
  curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "http://127.0.0.1:$gui$1"
}
plain() { curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$gui$1"; }
page_plain=$(( $(plain /) + $(plain /app.css) + $(plain /app.js) ))
page_gz=$(( $(encoded /) + $(encoded /app.css) + $(encoded /app.js) ))
snapshot=$(plain /api/v1/snapshot)

echo "gui tile on the validator topology ($bin), ${window} s windows, $(nproc) CPUs"
echo "page: $page_plain bytes, $page_gz gzipped on the wire; one snapshot: $snapshot bytes"
printf '%-6s %-6s %12s %16s\n' round pages "CPU (% core)" "written (B/s)"
for r in $(seq "$rounds"); do
  for n in 0 "$pages"; do
    read -r cpu bps < <(measure "$n")
    printf '%-6s %-6s %12s %16s\n' "$r" "$n" "$cpu" "$bps"
  done
done
