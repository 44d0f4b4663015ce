#!/usr/bin/env bash
# A slow replica, for real: three `cstor replica serve` processes and a target with a write
# load (replication_load). One replica is frozen (SIGSTOP) for 20 s in the middle of the
# load, then thawed (SIGCONT). Writes must go on succeeding at quorum while it is frozen
# (the target drops it after its slow-write bound), and once thawed it must rebuild what
# it missed, not the volume. Prints write IOPS and latency before, during and after the
# freeze, and the bytes the rebuild copied beside the bytes written while frozen.
#
# Fails on a failed write, a block that does not read back, the volume not Healthy again
# within 120 s, or replicas whose digests differ at the end. Nothing here asserts timing.
#   replication_slow_replica_test.sh PATH_TO_CSTOR PATH_TO_REPLICATION_LOAD
set -euo pipefail
cstor=$1
load=$2
source "$(dirname "$0")/replication_digest.sh"
dir=$(mktemp -d /tmp/cstor-slow-replica-test.XXXXXX)
declare -A replica_pid
load_pid=""
frozen=""

cleanup() {
  local p
  [[ -n $frozen ]] && kill -CONT "$frozen" 2>/dev/null
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

port=$((20000 + RANDOM % 20000))
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
target=127.0.0.1:$port
volume_mib=256

echo "s3cret-$RANDOM" >secret
for i in 1 2 3; do
  "$cstor" pool create "p$i" --size 512M --buffered >/dev/null
  "$cstor" volume create --pool "p$i" vol --size "${volume_mib}M" >/dev/null
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

echo "== 1. write load; freeze replica r2 for 20 s in the middle, then thaw it"
# The volume is filled first, so that a rebuild that copied everything would copy all of
# it. Then 10 s before, 20 s frozen, 25 s after (the rebuild runs then); the load then
# waits up to 120 s for the volume to be Healthy, and fails if any write failed.
"$load" run "${load_args[@]}" --fill --seconds 55 --rate 100 --qd 8 --fail-on-error >load.log 2>&1 &
load_pid=$!
wait_for load.log "load started" 120
sleep 10
frozen=${replica_pid[2]}
kill -STOP "$frozen"
kill -USR1 "$load_pid"
echo "   froze r2 (pid $frozen)"
sleep 20
thawed_at=$(wc -l <r2.log)
kill -CONT "$frozen"
frozen=""
kill -USR1 "$load_pid"
echo "   thawed r2"
wait "$load_pid" || fail "the load failed: a write failed, or the volume was not Healthy again within 120 s"
load_pid=""
grep -E "^filled|^phase [0-9]+:|load done|rebuilds completed" load.log |
  sed -e 's/^phase 0:/before (phase 0):/' -e 's/^phase 1:/frozen (phase 1):/' \
      -e 's/^phase 2:/after  (phase 2):/' -e 's/^/   /'
grep -E "dropping replica r2" load.log | head -n 3 | sed 's/^/   target: /' || true

written=$(awk '/^phase 1:/ {for (i = 1; i <= NF; i++) if ($i == "bytes)") print substr($(i-1), 2)}' load.log)
copied=$(tail -n +"$((thawed_at + 1))" r2.log | grep -oE "copied [0-9]+ bytes" |
  awk '{s += $2} END {print s + 0}')
volume_bytes=$((volume_mib * 1024 * 1024))
echo "   r2 rebuilt $copied bytes after the thaw; $written bytes of distinct blocks were written" \
  "while it was frozen ($((copied * 100 / volume_bytes))% of the volume copied)"
if ((copied == 0 || copied > volume_bytes / 2)); then
  fail "r2 should copy what it missed, not nothing and not the whole volume: copied $copied"
fi

echo "== 2. restart the target; every acknowledged block must read back"
"$load" verify "${load_args[@]}" >verify.log 2>&1 || fail "verify"
grep "verified" verify.log | sed 's/^/   /'

echo "== 3. once Healthy, every replica holds the same blocks at the same io sequences"
"$load" run "${load_args[@]}" --seconds 0 >healthy.log 2>&1 || fail "the volume did not become Healthy"
for i in 1 2 3; do
  kill -TERM "${replica_pid[$i]}"
  wait "${replica_pid[$i]}" || fail "replica r$i did not stop cleanly"
  unset "replica_pid[$i]"
done
compare_replica_digests "$cstor" vol p1 p2 p3 || fail "the replicas of a Healthy volume differ"
echo "PASS"
