#!/bin/bash
# Channels: chat, history and notifications (docs/benchmarks.md, "Channels"). One tetherd at a time,
# pinned to core 0 (bench/server.sh), the generator pinned to core 1; a fresh data dir per server.
#   1. chat: C dm chats x 2 members, both subscribed, both sending (paced, then closed loop); every
#      message is committed to SQLite before anyone gets its new_message;
#   2. history: one chat holding M messages (written straight into SQLite while the server is
#      stopped: the fill is not what is measured), random before_id, limit 50, K connections;
#   3. notify: POST /api/notify/like from H keep-alive HTTP connections in closed loop, every other
#      one to a user with a live `notifications` subscriber, the others to users never online.
# Writes the JSON of every run to OUT.jsonl and the summary tables to OUT.md.
# usage: bench/channels.sh [--build build] [--out /tmp/channels] [--chats 100] [--duration 15]
#          [--send-rates "5 15"] [--windows "1 8"] [--messages 1000000] [--history-conns "1 4"]
#          [--http-conns "1 4 16"] [--only chat|history|notify] [--nice N] [--set tetherd.option=value ...]
#          [--count-commits] [--tables-from OUT.jsonl]
# --count-commits (root, perf): a uprobe on tether::database::commit counts the storage actor's
# commits during each chat and notify run (the JSON's "commits"; open and subscribe phases included).
# The server inherits the environment: GLIBC_TUNABLES=... bench/channels.sh runs it with those
# (recorded in the JSON).
set -euo pipefail

build=build out=/tmp/channels nice=0 chats=100 duration=15 send_rates="5 15" windows="1 8" messages=1000000
history_conns="1 4" http_conns="1 4 16" only="" tables_from="" count_commits="" extra_sets=()
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --chats) chats=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --send-rates) send_rates=$2; shift 2 ;;
    --windows) windows=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --history-conns) history_conns=$2; shift 2 ;;
    --http-conns) http_conns=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --nice) nice=$2; shift 2 ;;
    --tables-from) tables_from=$2; shift 2 ;;
    --set) extra_sets+=(--set "$2"); shift 2 ;;
    --count-commits) count_commits=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# As in bench/rooms.sh: --nice N runs in its own session with autogroup nice N (root), so that
# other sessions' compilers run in the benchmark's gaps rather than beside it.
if [ "$nice" != 0 ] && [ -z "$tables_from" ]; then
  if [ -z "${CHANNELS_OWN_SESSION:-}" ]; then CHANNELS_OWN_SESSION=1 exec setsid -w "$0" "${args[@]}"; fi
  echo "$nice" > /proc/self/autogroup
fi
loadgen=$build/tether-loadgen
for tool in jq sqlite3 curl; do command -v $tool > /dev/null || { echo "needs $tool" >&2; exit 2; }; done
[ -x "$loadgen" ] && [ -x "$build/tetherd" ] || { echo "build tetherd tether-loadgen in $build first" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

source "$(dirname "$0")/server.sh"
trap stop_server EXIT

# record LABEL JSON RC: one JSON line with the run's label, the load before it and the exit status.
record() {
  local label=$1 json=$2 rc=$3
  if [ -z "$json" ]; then echo "$label: no result (exit $rc)" >&2; return; fi
  echo "$json" | jq -c --arg run "$label" --arg load "$load" --argjson rc "$rc" --argjson nice "$nice" \
    --arg sets "${extra_sets[*]}" --arg tunables "${GLIBC_TUNABLES:-}" --arg commits "${commits:-}" \
    '. + {label: $run, sets: $sets, glibc_tunables: $tunables, load1_before: ($load | tonumber), autogroup_nice: $nice, exit: $rc}
     + (if $commits == "" then {} else {commits: ($commits | tonumber)} end)' >> "$out.jsonl"
  echo "$label: $(tail -1 "$out.jsonl" | jq -c '{messages_per_s, requests_per_s, latency: (.latency // .request_latency | {p50_ms, p99_ms, max_ms}), errors: ([.errors[]] | add), server_cpu: .cpu.server_pct_of_core, gen_cpu: .cpu.generator_pct_of_core}')" >&2
}

# The uprobe counting commits (--count-commits).
if [ -n "$count_commits" ] && [ -z "$tables_from" ]; then
  addr=$(nm "$build/tetherd" | awk '$3 == "_ZN6tether8database6commitEv" { print "0x" $1 }')
  perf probe -q -d probe_tetherd:tether_commit 2> /dev/null || true
  perf probe -q -x "$build/tetherd" -a "tether_commit=$addr"
fi

# loadgen ARGS...: the generator on core 1 against the running server; sets json, rc and (with
# --count-commits, for chat and notify runs) commits.
loadgen() {
  load=$(cut -d' ' -f1 /proc/loadavg)
  rc=0 commits="" perf_pid=""
  if [ -n "$count_commits" ] && [ "$2" != history ]; then
    perf stat -x, -e probe_tetherd:tether_commit -p "$server_pid" -o "$out.perf" &
    perf_pid=$!
    sleep 0.2
  fi
  json=$(taskset -c 1 "$loadgen" --target "ws://127.0.0.1:$port/ws" --server-pid "$server_pid" --json --timeout 120 \
    --duration "$duration" "$@") || rc=$?
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    commits=$(awk -F, '/tether_commit/ { print $1 }' "$out.perf")
  fi
}

chat_runs() {
  for rate in $send_rates; do
    start_server tetherd
    loadgen --scenario chat --chats "$chats" --send-rate "$rate"
    stop_server
    record "chat $rate/s per connection" "$json" "$rc"
  done
  for w in $windows; do
    start_server tetherd
    loadgen --scenario chat --chats "$chats" --window "$w"
    stop_server
    record "chat closed loop, window $w" "$json" "$rc"
  done
}

# Writes M messages into dm:lga0:lgb0 of a stopped server's database: the same rows the server
# writes (ids 1..M from the chat's counter, senders alternating), in one transaction.
fill_chat() {
  local db=$1 m=$2 now
  now=$(($(date +%s) * 1000 - m))
  sqlite3 "$db" > /dev/null <<SQL
PRAGMA foreign_keys=ON;
BEGIN;
INSERT OR IGNORE INTO users(user_id,created_ms,last_active_ms) VALUES('lga0',$now,$now),('lgb0',$now,$now);
INSERT OR IGNORE INTO chats(chat_id,created_ms) VALUES('dm:lga0:lgb0',$now);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $m)
INSERT INTO chat_messages(chat_id,message_id,sender_id,content,attachment,client_msg_id,sent_ms)
  SELECT 'dm:lga0:lgb0', i, CASE i % 2 WHEN 1 THEN 'lga0' ELSE 'lgb0' END,
         'message ' || i || ' of the history benchmark, about sixty bytes long', '', 'fill-' || i, $now + i FROM n;
UPDATE chats SET last_message_id=$m WHERE chat_id='dm:lga0:lgb0';
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
}

history_runs() {
  local dir t0
  dir=$(mktemp -d)
  start_server tetherd "$dir"  # creates the schema
  stop_server
  t0=$(date +%s.%N)
  fill_chat "$dir/tether.db" "$messages"
  echo "filled $messages messages in $(echo "$(date +%s.%N) - $t0" | bc) s; database $(du -sh "$dir/tether.db" | cut -f1)" >&2
  for k in $history_conns; do
    start_server tetherd "$dir"
    loadgen --scenario history --connections "$k" --limit 50
    stop_server
    record "history, $messages messages, $k connections" "$json" "$rc"
  done
  rm -rf "$dir"
}

notify_runs() {
  for h in $http_conns; do
    start_server tetherd
    loadgen --scenario notify --connections 100 --http-connections "$h" --api-key-file "$server_dir/api_key"
    stop_server
    record "notify, $h HTTP connections" "$json" "$rc"
  done
}

tables() {
  echo "| run | sent/s | delivered msgs/s | p50 | p99 | p99.9 | max | stored / commits | receipts | reordered | server CPU | server µs/msg | generator CPU | errors | load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r 'def r: . * 100 | round / 100; select(.scenario == "chat") | "| \(.label)\(if .glibc_tunables != "" then " (" + .glibc_tunables + ")" else "" end) | \(.sent_per_s | round) | \(.messages_per_s | round) | \(.latency.p50_ms | r) ms | \(.latency.p99_ms | r) ms | \(.latency.p999_ms | r) ms | \(.latency.max_ms | r) ms | \(.stored_echoes) / \(.commits // "?") | \(.receipts) | \(.reordered) | \(.cpu.server_pct_of_core | round) % | \(.server_us_per_message | r) | \(.cpu.generator_pct_of_core | round) % | \([.errors[]] | add) | \(.load1_before) |"' "$1"
  echo
  echo "| run | requests/s | messages/s returned | p50 | p99 | p99.9 | max | server CPU | generator CPU | errors | load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r 'def r: . * 100 | round / 100; select(.scenario == "history") | "| \(.label) | \(.requests_per_s | round) | \(.messages_returned / .cpu.wall_s | round) | \(.latency.p50_ms | r) ms | \(.latency.p99_ms | r) ms | \(.latency.p999_ms | r) ms | \(.latency.max_ms | r) ms | \(.cpu.server_pct_of_core | round) % | \(.cpu.generator_pct_of_core | round) % | \([.errors[]] | add) | \(.load1_before) |"' "$1"
  echo
  echo "| run | requests/s | p50 | p99 | p99.9 | max | delivered / stored | requests / commits | notification p50 / p99 | failed | server CPU | generator CPU | load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r 'def r: . * 100 | round / 100; select(.scenario == "notify") | "| \(.label) | \(.requests_per_s | round) | \(.request_latency.p50_ms | r) ms | \(.request_latency.p99_ms | r) ms | \(.request_latency.p999_ms | r) ms | \(.request_latency.max_ms | r) ms | \(.answered_delivered) / \(.answered_stored) | \(.requests) / \(.commits // "?") | \(.delivery_latency.p50_ms | r) / \(.delivery_latency.p99_ms | r) ms | \(.requests_failed) | \(.cpu.server_pct_of_core | round) % | \(.cpu.generator_pct_of_core | round) % | \(.load1_before) |"' "$1"
}
if [ -n "$tables_from" ]; then tables "$tables_from"; exit 0; fi

: > "$out.jsonl"
echo "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), tetherd $(git -C "$(dirname "$0")" rev-parse --short HEAD)" >&2
[ -z "$only" ] || [ "$only" = chat ] && chat_runs
[ -z "$only" ] || [ "$only" = history ] && history_runs
[ -z "$only" ] || [ "$only" = notify ] && notify_runs
tables "$out.jsonl" > "$out.md"
cat "$out.md"
if [ -n "$count_commits" ]; then perf probe -q -d probe_tetherd:tether_commit || true; fi
