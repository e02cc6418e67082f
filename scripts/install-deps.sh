#!/usr/bin/env bash
# Installs everything tether needs to build, run and test on Debian bookworm (as root or via sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

packages=(
  build-essential cmake pkg-config
  libcaf-dev libboost1.81-dev libboost-json1.81-dev libsqlite3-dev libspdlog-dev
  libgtest-dev libssl-dev libjwt-dev
  sqlite3 curl ca-certificates openssl
)
# Browser tests of the JavaScript client drive Debian's Chromium.
[ "${TETHER_SKIP_BROWSER:-0}" = "1" ] || packages+=(chromium)
# Node 20 comes with the machine image; Debian's nodejs is the fallback on a bare machine.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
