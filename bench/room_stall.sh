#!/usr/bin/env bash
# Does one big room stall the others? tetherd on core 0 (taskset), the generators on core 1: a
# closed-loop `ping` echo on 10 connections (each ping is a session actor's work, on the same CAF
# scheduler as the rooms) is measured alone, then while a room of SIZE members gets RATE broadcasts
# a second (each written to the members' outboxes in slices of 1024, one actor message per slice).
# Usage: bench/room_stall.sh [SIZE (3000)] [RATE (20)] [SECONDS (20)]. Needs a Release build in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-3000} rate=${2:-20} secs=${3:-20}
ulimit -n "$(ulimit -Hn)"
build=build extra_sets=()
source bench/server.sh
trap stop_server EXIT
start_server tetherd
dir=$server_dir
echo_run() {
  taskset -c 1 build/tether-loadgen --scenario echo --target "ws://127.0.0.1:$port/ws" --connections 10 \
    --user-prefix echo --duration "$1" --json
}
echo "== echo alone"; echo_run 10 | jq -c '{round_trips_per_s, latency}'
echo "== fan-out in a room of $size at $rate/s, echo meanwhile"
taskset -c 1 build/tether-loadgen --scenario fanout --target "ws://127.0.0.1:$port/ws" --room-size "$size" \
  --publishers 1 --publish-rate "$rate" --duration "$((secs + 15))" --timeout 300 --source-ips 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 \
  --user-prefix big --server-pid "$server_pid" --json > "$dir/fanout.json" &
fan_pid=$!
# The echo runs in 10 s slices while the big room fills (its join storm is room broadcasts too:
# N²/2 user_joined) and then broadcasts; each slice is reported.
while kill -0 $fan_pid 2>/dev/null; do echo_run 10 | jq -c '{round_trips_per_s, latency}'; done
wait $fan_pid || true
jq -c '{deliveries_per_s, latency, errors, cpu}' "$dir/fanout.json"
