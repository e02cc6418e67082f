#!/bin/bash
# Rooms: joins and fan-out (docs/benchmarks.md). One server at a time, pinned to core 0
# (taskset -c 0), the generator pinned to core 1; a fresh server and data dir for every run.
#   1. N clients join one room at once (and every member sees every user_joined);
#   2. fan-out in one room of N: P publishers at several rates, then closed loop (saturation);
#   3. the same against bench/loadgen's trivial server: the generator's ceiling.
# Writes the JSON of every run to OUT.jsonl and a markdown table to OUT.md.
# usage: bench/rooms.sh [--build build] [--out /tmp/rooms] [--size 1000] [--publishers 10]
#                       [--rates "10 50 100 200 500"] [--duration 10] [--repeat 3] [--only tetherd|trivial]
#                       [--nice N] [--set tetherd.option=value ...] [--tables-from OUT.jsonl]
set -euo pipefail

build=build out=/tmp/rooms nice=0 size=1000 publishers=10 rates="10 50 100 200 500" duration=10 repeat=3 only="" tables_from="" extra_sets=()
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --publishers) publishers=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --nice) nice=$2; shift 2 ;;
    --tables-from) tables_from=$2; shift 2 ;;
    --set) extra_sets+=(--set "$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# The kernel shares the CPU between sessions (autogroups) before it looks at nice: a plain nice
# cannot put the benchmark ahead of other sessions' compilers. --nice N gives the benchmark its own
# session and sets that session's autogroup nice (root), so that other work runs in its gaps.
if [ "$nice" != 0 ] && [ -z "$tables_from" ]; then
  if [ -z "${ROOMS_OWN_SESSION:-}" ]; then ROOMS_OWN_SESSION=1 exec setsid -w "$0" "${args[@]}"; fi
  echo "$nice" > /proc/self/autogroup
fi
loadgen=$build/tether-loadgen
command -v jq > /dev/null || { echo "needs jq (apt-get install jq)" >&2; exit 2; }
[ -x "$loadgen" ] && [ -x "$build/tetherd" ] && [ -x "$build/trivial-ws-server" ] \
  || { echo "build tetherd tether-loadgen trivial-ws-server in $build first" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"  # one descriptor per connection, on both sides
[ -n "$tables_from" ] || : > "$out.jsonl"
sources=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4  # spread over source addresses, as for big runs

# start_server / stop_server: one server on core 0, limits lifted (bench/server.sh).
source "$(dirname "$0")/server.sh"
trap stop_server EXIT

# run SERVER LABEL loadgen-args...: one fresh server, one generator run, one JSON line.
run() {
  local server=$1 label=$2; shift 2
  start_server "$server"
  local load rc=0 json
  load=$(cut -d' ' -f1 /proc/loadavg)
  json=$(taskset -c 1 "$loadgen" --target "ws://127.0.0.1:$port/ws" --source-ips "$sources" \
    --server-pid "$server_pid" --json --timeout 180 "$@") || rc=$?
  stop_server
  if [ -z "$json" ]; then echo "$server $label: no result (exit $rc)" >&2; return; fi
  local name=$server
  if [ "$server" = tetherd ] && [ ${#extra_sets[@]} -gt 0 ]; then name="tetherd ${extra_sets[*]}"; fi
  echo "$json" | jq -c --arg server "$name" --arg run "$label" --arg load "$load" --argjson rc "$rc" \
    --argjson nice "$nice" '. + {server: $server, label: $run, load1_before: ($load | tonumber), autogroup_nice: $nice, exit: $rc}' >> "$out.jsonl"
  echo "$server $label: $(tail -1 "$out.jsonl" | jq -c '{joins_per_s, join_s, all_seen_s, deliveries_per_s, p99: .latency.p99_ms, errors: .errors, server_cpu: .cpu.server_pct_of_core, gen_cpu: .cpu.generator_pct_of_core}')" >&2
}

# The markdown tables (also: bench/rooms.sh --tables-from OUT.jsonl).
tables() {
  echo "| server | run | joins/s | all room_joined | all user_joined seen | join p50 | join p99 | server CPU | generator CPU | errors | load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r 'select(.scenario == "join") | "| \(.server) | \(.label) | \(.joins_per_s | round) | \(.join_s * 1000 | round) ms | \(.all_seen_s * 1000 | round) ms | \(.join_latency.p50_ms | round) ms | \(.join_latency.p99_ms | round) ms | \(.cpu.server_pct_of_core | round) % | \(.cpu.generator_pct_of_core | round) % | \([.errors[]] | add) | \(.load1_before) |"' "$1"
  echo
  echo "| server | run | publishes/s | deliveries/s | p50 | p99 | p99.9 | max | not delivered 2 s after | seq gaps | server CPU | server µs/delivery | generator CPU | generator µs/delivery | errors | load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r 'def r: . * 100 | round / 100; select(.scenario == "fanout") | "| \(.server) | \(.label) | \(.publishes_per_s | round) | \(.deliveries_per_s | round) | \(.latency.p50_ms | r) ms | \(.latency.p99_ms | r) ms | \(.latency.p999_ms | r) ms | \(.latency.max_ms | r) ms | \(.missing_after_drain) | \(.gaps) | \(.cpu.server_pct_of_core | round) % | \(.server_us_per_delivery | r) | \(.cpu.generator_pct_of_core | round) % | \(.generator_us_per_delivery | r) | \([.errors[]] | add) | \(.load1_before) |"' "$1"
}
if [ -n "$tables_from" ]; then tables "$tables_from"; exit 0; fi

for server in tetherd trivial; do
  [ -n "$only" ] && [ "$only" != "$server" ] && continue
  for i in $(seq "$repeat"); do
    run "$server" "join #$i" --scenario join --connections "$size" --wait-all-joined
  done
  for rate in $rates; do
    per=$(awk -v r="$rate" -v p="$publishers" 'BEGIN { print r / p }')
    run "$server" "fanout $rate/s" --scenario fanout --room-size "$size" --publishers "$publishers" \
      --publish-rate "$per" --duration "$duration"
  done
  run "$server" "fanout closed loop" --scenario fanout --room-size "$size" --publishers "$publishers" \
    --window 8 --duration "$duration"
done

tables "$out.jsonl" > "$out.md"
cat "$out.md"
