# Bring up a replicated volume on loopback with real processes: three engine pools in one
# directory, three `cstor replica serve` processes and one `cstor target`. Sourced by
# scripts/up.sh (the main job) and by the tests that need a replicated LUN.
#
#   lv_init CSTOR DIR VOLUME SIZE [POOL_FLAGS...]   pools, volumes and secret (kept if present)
#   lv_start_replica I                               starts replica I (1..3); LV_REPLICA_PID[I]
#   lv_start_target PORTAL [TARGET_FLAGS...]         starts the target; LV_TARGET_PID
#   lv_wait_url SECONDS                              prints the iSCSI URL once it is served
#   lv_wait_printed_url PID FILE SECONDS             the URL any `cstor target` printed
#   lv_stop                                          stops every process started here
#   lv_terminate PID...                              SIGTERM, then SIGKILL after 20 s
#
# Processes log to DIR/logs/. The replication port is a free port on 127.0.0.1.

declare -A LV_REPLICA_PID=()
LV_TARGET_PID=""

lv_free_port() {
  local port=$((20000 + RANDOM % 20000))
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

lv_init() {
  LV_CSTOR=$1 LV_DIR=$2 LV_VOLUME=$3
  local size=$4
  shift 4
  mkdir -p "$LV_DIR/logs"
  [[ -s $LV_DIR/secret ]] || head -c 24 /dev/urandom | base64 >"$LV_DIR/secret"
  local i
  for i in 1 2 3; do
    if [[ ! -d $LV_DIR/pool$i ]]; then
      # A pool of twice the volume, so that snapshots have room.
      local pool_size=$(("$(numfmt --from=iec "$size")" * 2))
      "$LV_CSTOR" pool create "$LV_DIR/pool$i" --size "$pool_size" "$@" >/dev/null
      "$LV_CSTOR" volume create --pool "$LV_DIR/pool$i" "$LV_VOLUME" --size "$size" >/dev/null
    fi
  done
  LV_REPLICATION=127.0.0.1:$(lv_free_port)
}

lv_start_replica() {
  "$LV_CSTOR" replica serve --pool "$LV_DIR/pool$1" --volume "$LV_VOLUME" \
    --target "$LV_REPLICATION" --secret-file "$LV_DIR/secret" --replica-id "replica$1" \
    >>"$LV_DIR/logs/replica$1.log" 2>&1 &
  LV_REPLICA_PID[$1]=$!
}

lv_start_target() {
  local portal=$1
  shift
  : >"$LV_DIR/logs/target.out"
  rm -f "$LV_DIR/status.json"  # a previous run's would look Healthy
  "$LV_CSTOR" target --volume "$LV_VOLUME" --secret-file "$LV_DIR/secret" \
    --listen "$LV_REPLICATION" --state-dir "$LV_DIR" --portal "$portal" \
    --status-file "$LV_DIR/status.json" "$@" \
    >"$LV_DIR/logs/target.out" 2>>"$LV_DIR/logs/target.log" &
  LV_TARGET_PID=$!
}

# The iSCSI URL a `cstor target` printed to FILE ("iSCSI: URL"), or nothing yet.
lv_printed_url() { sed -n 's/^iSCSI: \(iscsi:[^ ]*\).*/\1/p' "$1"; }

# Waits up to SECONDS for a `cstor target` (PID) to print its URL to FILE; prints it.
lv_wait_printed_url() {  # PID FILE SECONDS
  local i url=""
  for ((i = 0; i < $3 * 10; i++)); do
    url=$(lv_printed_url "$2")
    [[ -z $url ]] || { echo "$url"; return 0; }
    lv_alive "$1" || break
    sleep 0.1
  done
  echo "no iSCSI URL in $2" >&2
  return 1
}

# Waits until the target serves LUN 0 over iSCSI and its volume is Healthy; prints the URL.
lv_wait_url() {
  local i url=""
  for ((i = 0; i < $1 * 5; i++)); do
    kill -0 "$LV_TARGET_PID" 2>/dev/null || { echo "the target exited; see $LV_DIR/logs/target.log" >&2; return 1; }
    url=$(lv_printed_url "$LV_DIR/logs/target.out")
    if [[ -n $url ]] && grep -q '"phase": "Healthy"' "$LV_DIR/status.json" 2>/dev/null; then
      echo "$url"
      return 0
    fi
    sleep 0.2
  done
  echo "no healthy iSCSI LUN after $1 s; see $LV_DIR/logs/" >&2
  return 1
}

# Whether a process runs (an exited child not yet waited for does not).
lv_alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

# Stops processes with SIGTERM, and SIGKILL after 20 s.
lv_terminate() {
  local p i
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for ((i = 0; i < 200; i++)); do lv_alive "$p" || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

# The target first (it flushes and says goodbye to its replicas), then the replicas.
lv_stop() {
  [[ -z $LV_TARGET_PID ]] || lv_terminate "$LV_TARGET_PID"
  ((${#LV_REPLICA_PID[@]} == 0)) || lv_terminate "${LV_REPLICA_PID[@]}"
  LV_TARGET_PID=""
  LV_REPLICA_PID=()
}
