# Sourced by the bench scripts: start_server tetherd|trivial [DIR] starts one server pinned to core 0
# (taskset -c 0) in a fresh data dir (or in DIR, kept) and sets server_pid, server_dir and port
# (tetherd: once /readyz says ready); stop_server stops it and removes the dir unless it was given. Needs $build (the build dir) and
# the array extra_sets (more --set for tetherd, may be empty).
server_pid="" server_dir="" server_keep_dir=""
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  [ -n "$server_dir" ] && [ -z "$server_keep_dir" ] && rm -rf "$server_dir"
  server_pid="" server_dir="" server_keep_dir=""
}

# Starts SERVER (tetherd or trivial) on core 0; sets server_pid and port.
start_server() {
  if [ -n "${2:-}" ]; then server_dir=$2 server_keep_dir=1; else server_dir=$(mktemp -d); fi
  if [ "$1" = tetherd ]; then
    # Limits meant for the open internet are lifted: one machine plays 1000 users.
    taskset -c 0 "$build/tetherd" --set server.port=0 --set "storage.data_dir=$server_dir" --set log.level=warn \
      --set auth.insecure_user_id=true --set limits.max_connections_per_ip=100000 \
      --set limits.messages_per_second=1000000 --set limits.burst=1000000 \
      --set rooms.max_participants=100000 --set server.max_sessions=100000 "${extra_sets[@]}" \
      > "$server_dir/stdout" 2> "$server_dir/stderr" &
  else
    taskset -c 0 "$build/trivial-ws-server" --port 0 > "$server_dir/stdout" 2> "$server_dir/stderr" &
  fi
  server_pid=$!
  for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$server_dir/stdout" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "$1 did not start:" >&2; cat "$server_dir/stderr" >&2; exit 1; }
  if [ "$1" = tetherd ]; then
    until curl -sf "http://127.0.0.1:$port/readyz" > /dev/null; do sleep 0.05; done
  fi
}

