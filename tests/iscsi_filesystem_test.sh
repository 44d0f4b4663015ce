#!/usr/bin/env bash
# A real initiator and a real file system on a cstor LUN: qemu-storage-daemon (qemu's iSCSI
# driver) attaches LUN 0 and exports it through FUSE; a loop device over that file gets
# ext4; a tree of files is written; unmount, detach, then a fresh attach: fsck must find
# the file system clean and every file must match its checksum.
# In replicated mode (RF=3) a replica is killed with SIGKILL while the files are written
# and restarted; the volume must rebuild it and come back to Healthy, and at the end the
# three replicas' digests must be equal.
#   iscsi_filesystem_test.sh PATH_TO_CSTOR memory|replicated
set -euo pipefail
cstor=$1
mode=$2
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in qemu-storage-daemon losetup mkfs.ext4 fsck.ext4; do
  command -v "$tool" >/dev/null || { echo "$tool missing (scripts/setup.sh installs it)"; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "needs root for loop devices and mount"; exit 1; }

dir=$(mktemp -d /tmp/cstor-fs-test.XXXXXX)
target_pid="" qsd_pid="" loop=""
source "$root/scripts/lib/local-volume.sh"

detach() {
  mountpoint -q "$dir/mnt" && umount "$dir/mnt"
  [[ -n $loop ]] && { losetup -d "$loop" || true; loop=""; }
  if [[ -n $qsd_pid ]]; then
    kill "$qsd_pid" 2>/dev/null || true
    wait "$qsd_pid" 2>/dev/null || true
    qsd_pid=""
  fi
}
cleanup() {
  detach || true
  [[ -n $target_pid ]] && { kill "$target_pid" 2>/dev/null || true; wait "$target_pid" 2>/dev/null || true; }
  lv_stop
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -n 20 "$dir"/*.log "$dir"/volume/logs/*.log 2>/dev/null || true
  exit 1
}

# attach: qemu-storage-daemon exports the LUN at $dir/lun (a FUSE file), a loop device on it.
attach() {
  : >"$dir/lun"
  qemu-storage-daemon \
    --blockdev "driver=iscsi,transport=tcp,portal=$portal,target=$iqn,lun=0,node-name=lun0,cache.direct=on" \
    --export "type=fuse,id=export0,node-name=lun0,mountpoint=$dir/lun,writable=on" \
    >>"$dir/qsd.log" 2>&1 &
  qsd_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(stat -c %s "$dir/lun") -gt 0 ]] && break
    lv_alive "$qsd_pid" || fail "qemu-storage-daemon exited"
    sleep 0.1
  done
  [[ $(stat -c %s "$dir/lun") -gt 0 ]] || fail "qemu-storage-daemon did not export the LUN"
  # Buffered: loop's direct IO over qemu's FUSE export corrupts ext4 even when qemu serves
  # a plain local file (checked with qemu 7.2), so the loop device keeps its page cache;
  # sync and umount push everything through before the detach.
  loop=$(losetup --find --show "$dir/lun")
}

# wait_log PATTERN AFTER_LINE SECONDS: waits for PATTERN in the target's log past a line.
wait_log() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$1" < <(tail -n +"$(($2 + 1))" "$dir/volume/logs/target.log") && return 0
    sleep 0.1
  done
  fail "no '$1' in the target's log after $3 s"
}

# The target picks a free port (--portal 127.0.0.1:0) and prints its URL.
iqn=iqn.2016-09.com.openebs.cstor:vol1
if [[ $mode == memory ]]; then
  "$cstor" target --volume vol1 --memory 256M --portal 127.0.0.1:0 >"$dir/target.out" 2>"$dir/target.log" &
  target_pid=$!
  url=$(lv_wait_printed_url "$target_pid" "$dir/target.out" 10) || fail "the target did not start"
else
  lv_init "$cstor" "$dir/volume" vol1 256M --buffered
  for i in 1 2 3; do lv_start_replica "$i"; done
  lv_start_target 127.0.0.1:0
  url=$(lv_wait_url 60) || fail "the volume did not become Healthy"
fi
portal=${url#iscsi://}
portal=${portal%%/*}

# The tree: 24 directories of 12 files, 1 KiB to 192 KiB each, checksummed at the source.
mkdir -p "$dir/tree" "$dir/mnt"
for d in $(seq 1 24); do
  mkdir -p "$dir/tree/d$d"
  for f in $(seq 1 12); do
    head -c $(((RANDOM % 192 + 1) * 1024)) /dev/urandom >"$dir/tree/d$d/f$f"
  done
done
(cd "$dir/tree" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$dir/sums"
echo "== attach, mkfs.ext4, write $(du -sh "$dir/tree" | cut -f1) in $(wc -l <"$dir/sums") files"

attach
mkfs.ext4 -q -F "$loop" >"$dir/mkfs.log" 2>&1 || fail "mkfs.ext4"
mount "$loop" "$dir/mnt"
mkdir "$dir/mnt/tree"
for d in $(seq 1 24); do
  cp -a "$dir/tree/d$d" "$dir/mnt/tree/"
  sync  # through to the target now, so that writes land while replica2 is down
  if [[ $mode == replicated && $d == 8 ]]; then
    killed_at=$(wc -l <"$dir/volume/logs/target.log")
    kill -9 "${LV_REPLICA_PID[2]}"
    wait "${LV_REPLICA_PID[2]}" 2>/dev/null || true
    wait_log "replica replica2 disconnected" "$killed_at" 30
    echo "   killed replica2 after 8 directories; the volume is Degraded"
  fi
  if [[ $mode == replicated && $d == 16 ]]; then
    restarted_at=$(wc -l <"$dir/volume/logs/target.log")
    lv_start_replica 2
    echo "   restarted replica2 after 16 directories"
  fi
done
sync
umount "$dir/mnt"
detach

if [[ $mode == replicated ]]; then
  wait_log "replica replica2 is healthy" "$restarted_at" 120
  grep -ohE "replica2 copied [0-9]+ bytes from [a-z0-9]+" "$dir/volume/logs/replica2.log" |
    tail -n 1 | sed 's/^/   /'
  echo "   replica2 rebuilt; the volume is Healthy again"
fi

echo "== fresh attach: fsck, mount, compare checksums"
attach
fsck.ext4 -f -n "$loop" >"$dir/fsck.log" 2>&1 || { cat "$dir/fsck.log"; fail "fsck found errors"; }
mount -o ro "$loop" "$dir/mnt"
(cd "$dir/mnt/tree" && sha256sum --quiet -c "$dir/sums") || fail "checksums differ"
echo "   fsck clean; $(wc -l <"$dir/sums") files match"
umount "$dir/mnt"
detach

if [[ $mode == replicated ]]; then
  echo "== once Healthy, every replica holds the same blocks at the same io sequences"
  lv_wait_url 120 >/dev/null || fail "the volume is not Healthy"
  lv_stop  # the target first: it flushes; then the replicas close their pools
  source "$root/tests/replication_digest.sh"
  compare_replica_digests "$cstor" vol1 "$dir/volume/pool1" "$dir/volume/pool2" \
    "$dir/volume/pool3" || fail "the replicas of a Healthy volume differ"
fi
echo "PASS ($mode)"
