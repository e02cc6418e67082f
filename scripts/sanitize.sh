#!/usr/bin/env bash
# Builds tetherd with AddressSanitizer + LeakSanitizer + UBSan (build-asan/) and runs the
# integration tests against it: every test's server must exit without a leak report or an
# error. The tests themselves come from the normal build (scripts/build.sh), which must exist.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-$(nproc)}"
[ "$jobs" -gt 2 ] && jobs=2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTETHER_SANITIZE=address >/dev/null
cmake --build build-asan -j"$jobs" --target tetherd
here="$(pwd)"
# halt_on_error: the first finding ends the server with a non-zero exit, which the tests check.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$here/tests/sanitizers/lsan.supp:exitcode=86"
export UBSAN_OPTIONS="suppressions=$here/tests/sanitizers/ubsan.supp:halt_on_error=1:print_stacktrace=1"
export TETHERD="$here/build-asan/tetherd"
# The chaos test's kill -9 rounds are left to the normal run: a killed server reports nothing.
build/integration_tests --gtest_filter="${1:-*}:-Chaos*"
