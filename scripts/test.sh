#!/usr/bin/env bash
# Runs every test: C++ unit, actor and integration tests (ctest), then the JavaScript client's
# unit, integration and browser tests (node --test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 300)
(cd clients/js && npm test)
