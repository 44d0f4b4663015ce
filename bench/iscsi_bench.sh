#!/usr/bin/env bash
# Runs iscsi_bench against, in one run on loopback: (a) Debian's tgt serving a file LUN,
# (b) `cstor target` serving the same kind of file LUN, (c) `cstor target` serving an RF=3
# replicated volume (three replica processes, pools in the same directory). Ratios are to
# tgt.
#   bench/iscsi_bench.sh [--dir PARENT] [--size 1G] [--seconds 5] [--region 256M]
# Everything lives in a new directory under PARENT (/tmp), removed afterwards.
# Environment: POOL_FLAGS for `cstor pool create` of the RF=3 pools (e.g. --buffered),
# BENCH_FLAGS for iscsi_bench (e.g. "--only QD16").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
parent=/tmp size=1G seconds=5 region=256M
while (($#)); do
  case $1 in
    --dir) parent=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cstor=$root/build/release/src/cli/cstor
bench=$root/build/release/bench/iscsi_bench
tgt_lun=$root/../shared/tools/tgt-lun
[[ -x $cstor && -x $bench ]] || { echo "build first: cmake --build --preset release" >&2; exit 1; }
[[ -x $tgt_lun ]] || { echo "the tgt reference tool is missing: $tgt_lun" >&2; exit 1; }

source "$root/scripts/lib/local-volume.sh"
file_pid=""
cleanup() {
  "$tgt_lun" stop || true
  [[ -z $file_pid ]] || lv_terminate "$file_pid"
  lv_stop
  rm -rf "$dir"
}
mkdir -p "$parent"
dir=$(mktemp -d "$parent/cstor-iscsi-bench.XXXXXX")
trap cleanup EXIT

# Both file LUNs are written in full first, so neither serves holes.
prefill() {
  truncate -s "$size" "$1"
  dd if=/dev/zero of="$1" bs=1M count=$(($(stat -c %s "$1") / 1048576)) conv=notrunc status=none
}
prefill "$dir/tgt.img"
prefill "$dir/cstor.img"

tgt_url=$("$tgt_lun" start "$dir/tgt.img" "$size" "$(lv_free_port)" | tail -n 1)

[[ $tgt_url == iscsi://* ]] || { echo "tgt did not start: $tgt_url" >&2; exit 1; }

"$cstor" target --volume file --file "$dir/cstor.img" --portal 127.0.0.1:0 \
  >"$dir/file.out" 2>"$dir/file.log" &
file_pid=$!
file_url=$(lv_wait_printed_url "$file_pid" "$dir/file.out" 10) ||
  { cat "$dir/file.log" >&2; echo "the file target did not start" >&2; exit 1; }

lv_init "$cstor" "$dir/rf3" rf3 "$size" ${POOL_FLAGS:-}
for i in 1 2 3; do lv_start_replica "$i"; done
lv_start_target 127.0.0.1:0 --status-interval 0
rf3_url=$(lv_wait_url 120)

echo "tgt:   $tgt_url"
echo "file:  $file_url"
echo "rf3:   $rf3_url"
"$bench" --target "tgt=$tgt_url" --target "file=$file_url" --target "rf3=$rf3_url" ${BENCH_FLAGS:-} \
  --seconds "$seconds" --region "$region"
