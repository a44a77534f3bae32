#!/usr/bin/env bash
# Installs what tilectl builds and tests with, if any is missing: from
# Debian, libseccomp-dev and libcap-dev (the sandbox), zlib1g-dev and
# libdeflate-dev (gzip, its CRC-32),
# prometheus (promtool and a real server for the tests), graphviz
# (`check --graph-svg`), strace (a tracer the sandbox must refuse), systemd
# (systemd-analyze checks the shipped units), logrotate (rotates a live
# topology's log in the tests), chromium and chromium-driver (the gui
# tile's page in a real browser); from PyPI, jsonschema (validates
# the --json outputs against docs/schema/), kubernetes-validate and pyyaml
# (the Kubernetes manifest, offline), junitparser (reads `run --junit`
# reports), prometheus_client (its parsers read the exposition back in
# the tests) and selenium (drives Chromium).
# Safe to run again: it does nothing when all are there.
set -euo pipefail
python3 -c 'import prometheus_client, jsonschema, kubernetes_validate, yaml, junitparser, selenium' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore prometheus_client jsonschema kubernetes-validate pyyaml junitparser selenium
packages=(libseccomp-dev libcap-dev zlib1g-dev libdeflate-dev prometheus graphviz strace systemd logrotate chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: installing ${missing[*]} needs root; run it as root" >&2; exit 1; }
  as_root=(sudo)
fi
"${as_root[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
