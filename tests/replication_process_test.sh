#!/usr/bin/env bash
# Replication with real processes on loopback: three `cstor replica serve` processes and a
# target (replication_load, which runs the same VolumeTarget as `cstor target`, with a write
# load inside). Kills a replica with SIGKILL in the middle of the load, restarts it, and
# checks that it rebuilds only part of the volume; kills the target the same way; after
# each, restarts the target and verifies every acknowledged block. At the end, with the
# volume Healthy and every process stopped, all three replicas must have the same digest.
#   replication_process_test.sh PATH_TO_CSTOR PATH_TO_REPLICATION_LOAD
set -euo pipefail
cstor=$1
load=$2
source "$(dirname "$0")/replication_digest.sh"
dir=$(mktemp -d /tmp/cstor-replication-test.XXXXXX)
declare -A replica_pid
load_pid=""

cleanup() {
  local p
  for p in "${replica_pid[@]}" $load_pid; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
cd "$dir"

fail() {
  echo "FAIL: $*"
  for f in *.log; do echo "--- $f"; tail -n 30 "$f"; done
  exit 1
}

# A free port on loopback.
port=$((20000 + RANDOM % 20000))
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
target=127.0.0.1:$port

echo "s3cret-$RANDOM" >secret
for i in 1 2 3; do
  "$cstor" pool create "p$i" --size 512M --buffered >/dev/null
  "$cstor" volume create --pool "p$i" vol --size 128M >/dev/null
done

start_replica() {
  "$cstor" replica serve --pool "p$1" --volume vol --target "$target" --secret-file secret \
    --replica-id "r$1" >>"r$1.log" 2>&1 &
  replica_pid[$1]=$!
}

# wait_for FILE PATTERN SECONDS
wait_for() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  fail "no '$2' in $1 after $3 s"
}

load_args=(--secret-file secret --listen "$target" --state-dir state --log writes.bin)

for i in 1 2 3; do start_replica "$i"; done

echo "== 1. kill -9 a replica during a write load, restart it"
"$load" run "${load_args[@]}" --fill --seconds 12 --rate 200 >load1.log 2>&1 &
load_pid=$!
wait_for load1.log "load started" 120
sleep 2
kill -9 "${replica_pid[2]}"
wait "${replica_pid[2]}" 2>/dev/null || true
echo "   killed replica r2"
sleep 3
restarted_at=$(wc -l <r2.log)
start_replica 2
wait "$load_pid" || fail "the load run failed (the volume did not come back to Healthy?)"
load_pid=""
grep -E "load done|rebuilds completed" load1.log | sed 's/^/   /'
copied=$(tail -n +"$((restarted_at + 1))" r2.log | grep -oE "copied [0-9]+ bytes" | awk '{s += $2} END {print s + 0}')
volume_bytes=$((128 * 1024 * 1024))
echo "   r2 copied $copied bytes after its restart ($((copied * 100 / volume_bytes))% of the volume)"
if ((copied == 0 || copied > volume_bytes / 2)); then
  fail "r2 should copy what it missed, not nothing and not the whole volume: copied $copied"
fi

echo "== 2. restart the target; every acknowledged block must read back"
"$load" verify "${load_args[@]}" >verify1.log 2>&1 || fail "verify after the replica kill"
grep "verified" verify1.log | sed 's/^/   /'

echo "== 3. kill -9 the target during a write load"
"$load" run "${load_args[@]}" --seconds 30 >load2.log 2>&1 &
load_pid=$!
wait_for load2.log "load started" 120
sleep 3
kill -9 "$load_pid"
wait "$load_pid" 2>/dev/null || true
load_pid=""
echo "   killed the target"
"$load" verify "${load_args[@]}" >verify2.log 2>&1 || fail "verify after the target kill"
grep "verified" verify2.log | sed 's/^/   /'

echo "== 4. the volume comes back to Healthy and takes writes"
"$load" run "${load_args[@]}" --seconds 2 >load3.log 2>&1 || fail "the volume did not recover"
grep -E "load done" load3.log | sed 's/^/   /'
"$load" verify "${load_args[@]}" >verify3.log 2>&1 || fail "final verify"
grep "verified" verify3.log | sed 's/^/   /'

echo "== 5. once Healthy, every replica holds the same blocks at the same io sequences"
"$load" run "${load_args[@]}" --seconds 0 >load4.log 2>&1 || fail "the volume did not become Healthy"
for i in 1 2 3; do
  kill -TERM "${replica_pid[$i]}"
  wait "${replica_pid[$i]}" || fail "replica r$i did not stop cleanly"
  unset "replica_pid[$i]"
done
compare_replica_digests "$cstor" vol p1 p2 p3 || fail "the replicas of a Healthy volume differ"
echo "PASS"
