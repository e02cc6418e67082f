#!/usr/bin/env bash
# Builds tetherd and the tests (Release) into ./build, and the browser bundle of the JS client.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-$(nproc)}"
[ "$jobs" -gt 2 ] && jobs=2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd clients/js && npm ci --no-audit --no-fund --loglevel=error && npm run --silent demo)
