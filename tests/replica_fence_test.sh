#!/usr/bin/env bash
# A replica whose pool runs out of room mid-load, with real processes: the pool of replica r1
# lives on a small tmpfs, which is filled during a write load. Its commit fails, the pool is
# fenced, and `cstor replica serve` must leave: end its session (the target goes on with the
# other two) and exit non-zero, so that its supervisor starts it again. Once room is made and
# it is restarted, it is rebuilt: the load ends with the volume Healthy, every acknowledged
# block reads back, and the three replicas hold the same blocks.
#   replica_fence_test.sh PATH_TO_CSTOR PATH_TO_REPLICATION_LOAD
set -euo pipefail
cstor=$1
load=$2
[[ $(id -u) == 0 ]] || { echo "needs root to mount a tmpfs"; exit 1; }
source "$(dirname "$0")/replication_digest.sh"
dir=$(mktemp -d /tmp/cstor-fence-test.XXXXXX)
declare -A replica_pid
load_pid=""

cleanup() {
  local p
  for p in "${replica_pid[@]}" $load_pid; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  mountpoint -q "$dir/small" && umount "$dir/small"
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
cd "$dir"

fail() {
  echo "FAIL: $*"
  for f in *.log; do echo "--- $f"; tail -n 30 "$f"; done
  exit 1
}

port=$((20000 + RANDOM % 20000))
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
target=127.0.0.1:$port

mkdir small
mount -t tmpfs -o size=200M tmpfs small
echo "s3cret-$RANDOM" >secret
pools=(small/p1 p2 p3)
for i in 1 2 3; do
  "$cstor" pool create "${pools[i - 1]}" --size 128M --buffered >/dev/null
  "$cstor" volume create --pool "${pools[i - 1]}" vol --size 64M >/dev/null
done

start_replica() {
  "$cstor" replica serve --pool "${pools[$1 - 1]}" --volume vol --target "$target" \
    --secret-file secret --replica-id "r$1" >>"r$1.log" 2>&1 &
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

echo "== 1. fill r1's file system during a write load"
"$load" run "${load_args[@]}" --fill --seconds 40 --rate 300 --fail-on-error >load.log 2>&1 &
load_pid=$!
wait_for load.log "load started" 120
sleep 1
dd if=/dev/zero of=small/fill bs=1M status=none 2>/dev/null || true
echo "   small file system full: $(df --output=avail -h small | tail -1 | tr -d ' ') left"

echo "== 2. r1 must exit non-zero"
for ((i = 0; i < 150; i++)); do
  kill -0 "${replica_pid[1]}" 2>/dev/null || break
  sleep 0.2
done
kill -0 "${replica_pid[1]}" 2>/dev/null && fail "r1 is still running 30 s after its file system filled"
rc=0
wait "${replica_pid[1]}" || rc=$?
unset "replica_pid[1]"
((rc != 0)) || fail "r1 exited with status 0"
grep -q "pool must be imported again" r1.log || fail "r1 did not say why it exited"
echo "   r1 exited with status $rc: $(grep -m1 -o 'pool must be imported again.*' r1.log | cut -c1-120)"
kill -0 "$load_pid" 2>/dev/null || fail "the load stopped when r1 left"

echo "== 3. make room and restart r1 (its supervisor's part): it is rebuilt"
rm small/fill
start_replica 1
wait "$load_pid" || fail "the load failed (a write failed, or the volume did not become Healthy)"
load_pid=""
grep -E "load done|rebuilds completed" load.log | sed 's/^/   /'
"$load" verify "${load_args[@]}" >verify.log 2>&1 || fail "verify"
grep "verified" verify.log | sed 's/^/   /'

echo "== 4. every replica holds the same blocks"
"$load" run "${load_args[@]}" --seconds 0 >healthy.log 2>&1 || fail "the volume did not become Healthy"
for i in 1 2 3; do
  kill -TERM "${replica_pid[$i]}"
  wait "${replica_pid[$i]}" || fail "replica r$i did not stop cleanly"
  unset "replica_pid[$i]"
done
compare_replica_digests "$cstor" vol "${pools[@]}" || fail "the replicas of a Healthy volume differ"
echo "PASS"
