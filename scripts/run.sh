#!/usr/bin/env bash
# Quick start: install dependencies, build, and run tetherd with its embedded defaults
# (SQLite at ./data/tether.db, blobs in ./data/blobs, secrets generated in ./data, 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
# Running the server needs no browser (Chromium is for the tests).
TETHER_SKIP_BROWSER=1 scripts/install-deps.sh
scripts/build.sh
exec ./build/tetherd "$@"
