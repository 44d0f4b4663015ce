#!/usr/bin/env bash
# Chaos with real processes: an RF=3 volume (three `cstor replica serve`, one `cstor target`
# on loopback) under a verifying load through libiscsi (iscsi_verify_load: 4 KiB writes and
# reads at queue depth 16, every read checked against the last acknowledged write). One
# replica at a time is killed (SIGKILL, away 1-3 s, restarted with its own command line) or
# frozen (SIGSTOP for 2 s up to CHAOS_FREEZE_MAX, then SIGCONT); the next fault waits until
# the volume is Healthy again. At the end the whole region is read back.
#
# Fails on any IO error or wrong block, on a volume not Healthy within 120 s of a fault or at
# the end, and on replicas whose digests differ at the end. Prints each fault, the recovery
# time after the replica returned (median, max), the drops the target made on its own (of a
# replica nobody touched), and the time spent below full redundancy. Nothing asserts timing.
#
#   replication_chaos_test.sh PATH_TO_CSTOR PATH_TO_ISCSI_VERIFY_LOAD
#   Environment: CHAOS_SECONDS (of faults, 60), CHAOS_FREEZE_MAX (s, 8), CHAOS_SIZE (256M),
#   KEEP=1 keeps the directory.
set -euo pipefail
cstor=$1
load=$2
seconds=${CHAOS_SECONDS:-60}
freeze_max=${CHAOS_FREEZE_MAX:-8}
size=${CHAOS_SIZE:-256M}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/lib/local-volume.sh"
source "$here/replication_digest.sh"
dir=$(mktemp -d /tmp/cstor-chaos-test.XXXXXX)
load_pid="" frozen=""

cleanup() {
  [[ -z $frozen ]] || kill -CONT "$frozen" 2>/dev/null || true
  [[ -z $load_pid ]] || kill -9 "$load_pid" 2>/dev/null || true
  lv_stop
  wait 2>/dev/null || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for f in "$dir"/load.log "$dir"/logs/*.log; do echo "--- $f"; tail -n 25 "$f"; done
  exit 1
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
phase() { grep -o '"phase": "[A-Za-z]*"' "$dir/status.json" 2>/dev/null | cut -d'"' -f4; }

# Waits until the volume is Healthy (up to 120 s); counts the time it was not.
below_ms=0
wait_healthy() {
  local start step
  start=$(now_ms)
  while [[ $(phase) != Healthy ]]; do
    kill -0 "$load_pid" 2>/dev/null || fail "the load exited during the run"
    (($(now_ms) - start < 120000)) || fail "the volume is not Healthy 120 s after $1"
    sleep 0.1
  done
  step=$(($(now_ms) - start))
  below_ms=$((below_ms + step))
}

lv_init "$cstor" "$dir" vol "$size" --buffered
for i in 1 2 3; do lv_start_replica "$i"; done
lv_start_target "127.0.0.1:$(lv_free_port)"
url=$(lv_wait_url 120) || fail "the volume did not come up"
region=$(($(numfmt --from=iec "$size") / 2))
"$load" --url "$url" --stop-file "$dir/stop" --seconds $((seconds + 3600)) --region "$region" \
  --qd 16 --progress 10 >"$dir/load.log" 2>&1 &
load_pid=$!
echo "== $seconds s of faults on $url (load over the first $((region >> 20)) MiB)"

faults=0 kills=0 freezes=0 own_drops=0
recoveries=()
run_start=$(now_ms)
sleep 2
while (($(now_ms) - run_start < seconds * 1000)); do
  wait_healthy "the previous fault"
  sleep "0.$((RANDOM % 10))"
  i=$((RANDOM % 3 + 1))
  mark=$(wc -l <"$dir/logs/target.log")
  fault_at=$(now_ms)
  below_start=$fault_at
  if ((RANDOM % 2)); then
    away=$((1 + RANDOM % 3))
    kill -9 "${LV_REPLICA_PID[$i]}"
    wait "${LV_REPLICA_PID[$i]}" 2>/dev/null || true
    sleep "$away"
    lv_start_replica "$i"
    what="killed replica$i, away ${away} s"
    kills=$((kills + 1))
  else
    away=$((2 + RANDOM % (freeze_max - 1)))
    frozen=${LV_REPLICA_PID[$i]}
    kill -STOP "$frozen"
    sleep "$away"
    kill -CONT "$frozen"
    frozen=""
    what="froze replica$i for ${away} s"
    freezes=$((freezes + 1))
  fi
  back_at=$(now_ms)
  faults=$((faults + 1))
  wait_healthy "$what"
  healthy_at=$(now_ms)
  # The volume was below full redundancy from the fault on, not only once the target saw it.
  below_ms=$((below_ms + back_at - below_start))
  recovery=$((healthy_at - back_at))
  recoveries+=("$recovery")
  drops=$(tail -n +"$((mark + 1))" "$dir/logs/target.log" | grep -oE "dropping replica replica[0-9]+" |
    grep -vc "replica$i\$" || true)
  own_drops=$((own_drops + drops))
  printf "   %3d. %-30s Healthy %5.1f s after it returned%s\n" "$faults" "$what" \
    "$(echo "$recovery" | awk '{print $1 / 1000}')" \
    "$( ((drops == 0)) || echo ", and the target dropped $drops other replica(s)")"
done
elapsed_ms=$(($(now_ms) - run_start))
wait_healthy "the last fault"

touch "$dir/stop"
rc=0
wait "$load_pid" || rc=$?
load_pid=""
grep -E "load done|read back" "$dir/load.log" | sed 's/^verify-load: /   /'
((rc == 0)) || fail "the load saw failed commands or wrong data (exit $rc)"
[[ $(phase) == Healthy ]] || fail "the volume is not Healthy at the end"

sorted=$(printf "%s\n" "${recoveries[@]}" | sort -n)
median=$(awk '{a[NR] = $1} END {print (NR ? a[int((NR + 1) / 2)] / 1000 : 0)}' <<<"$sorted")
max=$(awk 'END {print $1 / 1000}' <<<"$sorted")
echo "== $faults faults ($kills kills, $freezes freezes) in $((elapsed_ms / 1000)) s"
echo "   recovery after the replica returned: median ${median} s, max ${max} s"
echo "   drops the target made on its own: $own_drops"
echo "   below full redundancy: $((below_ms / 1000)) s of $((elapsed_ms / 1000)) s"
grep -oE '"(drops|heldWrites|rebuildsCompleted|failedIos)": [0-9]+' "$dir/status.json" |
  tr -d '"' | paste -sd' ' | sed 's/^/   target: /'

lv_stop
compare_replica_digests "$cstor" vol "$dir/pool1" "$dir/pool2" "$dir/pool3" ||
  fail "the replicas of a Healthy volume differ"
echo "PASS"
