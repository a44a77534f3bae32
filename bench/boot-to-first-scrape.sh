#!/usr/bin/env bash
# Boot-to-first-scrape: from starting `tilectl run` to the first 200 from
# /metrics, over N boots of the default topology (release build, as root).
# Prints a table; the first boot also pays for reserving huge pages.
#   bench/boot-to-first-scrape.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
bin=.build/release/tilectl
[ -x "$bin" ] || swift build -c release >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d /tmp/tilectl-bench-XXXXXX)
sed -e "s/^name = .*/name = \"bench-boot\"/" -e "s/^prometheus_listen_port = .*/prometheus_listen_port = $port/" \
    -e "s|^hugetlbfs_mount = .*|hugetlbfs_mount = \"$dir/hugetlbfs\"|" configs/default.toml > "$dir/topology.toml"
trap '"$bin" configure fini --config "$dir/topology.toml" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

times=()
series=0
for i in $(seq 1 "$n"); do
  start=$(date +%s%N)
  "$bin" run --config "$dir/topology.toml" 2>"$dir/stderr" &
  pid=$!
  until curl -sf -o "$dir/body" "http://127.0.0.1:$port/metrics"; do
    kill -0 $pid 2>/dev/null || { cat "$dir/stderr"; exit 1; }
    sleep 0.001
  done
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
  series=$(grep -vc '^#' "$dir/body")
  kill -TERM $pid; wait $pid
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
printf '%-34s %s\n' "machine" "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
printf '%-34s %s\n' "boots" "$n (default topology, 3 tiles)"
printf '%-34s %8.1f ms\n' "boot to first scrape, first boot" "$(echo "${times[0]} / 1000" | bc -l)"
printf '%-34s %8.1f ms\n' "boot to first scrape, min" "$(echo "${sorted[0]} / 1000" | bc -l)"
printf '%-34s %8.1f ms\n' "boot to first scrape, median" "$(echo "${sorted[$((n / 2))]} / 1000" | bc -l)"
printf '%-34s %8.1f ms\n' "boot to first scrape, max" "$(echo "${sorted[$((n - 1))]} / 1000" | bc -l)"
printf '%-34s %8d\n' "series in one scrape" "$series"
