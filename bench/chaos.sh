#!/usr/bin/env bash
# Runs the chaos test of the cleanup promise (tests/integration/chaos_test.cpp) for many seeds.
# See bench/chaos.md.
#
#   bench/chaos.sh [FIRST [LAST]]        seeds FIRST..LAST (default 1..200)
#
# Environment:
#   BUILD=dir            build directory holding integration_tests (default build-chaos, else build)
#   DURATION=seconds     stop starting new seeds after this long (default: no limit)
#   CHAOS_SESSIONS=N     sessions per run (default 40, as in CI)
#   CHAOS_CRASHES=N      kill -9 + restarts per run (default 1)
#   CHAOS_RESTART=M      kill (default), term (SIGTERM) or mixed
#   LOGS=dir             where the output of failing seeds goes (default /tmp/tether-chaos-<pid>)
#   TETHERD=path         another build of the server
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-}
if [[ -z $build ]]; then
  if [[ -x $root/build-chaos/integration_tests ]]; then build=$root/build-chaos; else build=$root/build; fi
fi
bin=$build/integration_tests
[[ -x $bin ]] || { echo "no $bin; build it: cmake --build $build --target tetherd integration_tests" >&2; exit 2; }
first=${1:-1}
last=${2:-200}
duration=${DURATION:-0}
logs=${LOGS:-/tmp/tether-chaos-$$}
mkdir -p "$logs"

start=$(date +%s)
pass=0 fail=0 failed=()
for seed in $(seq "$first" "$last"); do
  if (( duration > 0 && $(date +%s) - start >= duration )); then
    echo "time is up after $((seed - first)) seed(s)"
    break
  fi
  out=$logs/seed-$seed.log
  if CHAOS_SEED=$seed "$bin" --gtest_filter='Chaos.*' >"$out" 2>&1; then
    pass=$((pass + 1))
    rm -f "$out"
  else
    fail=$((fail + 1))
    failed+=("$seed")
    echo "seed $seed FAILED: $out"
    grep -m3 -E 'Failure|expected|never got|not ended' "$out" | sed 's/^/    /'
  fi
done
elapsed=$(( $(date +%s) - start ))
echo "chaos: $pass passed, $fail failed in ${elapsed}s (sessions=${CHAOS_SESSIONS:-40}, crashes=${CHAOS_CRASHES:-1}, restart=${CHAOS_RESTART:-kill})"
if (( fail > 0 )); then
  echo "failing seeds: ${failed[*]}"
  echo "logs: $logs"
  exit 1
fi
rmdir "$logs" 2>/dev/null
exit 0
