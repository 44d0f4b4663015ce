#!/usr/bin/env bash
# Brings up a three-replica volume on loopback and serves it over iSCSI until Ctrl-C:
# three engine pools in DATA (default ./data/local), three `cstor replica serve` processes,
# one `cstor target`. Pools and volume are kept between runs; delete DATA to start afresh.
#
#   scripts/up.sh [--data DIR] [--volume NAME] [--size SIZE] [--portal HOST:PORT] [--once]
#
# --once checks the LUN with iscsi-inq and iscsi-ls, then stops (for scripted use).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/data/local volume=vol1 size=1G portal=127.0.0.1:3260 once=0 cstor=""
while (($#)); do
  case $1 in
    --data) data=$2; shift 2 ;;
    --volume) volume=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --portal) portal=$2; shift 2 ;;
    --cstor) cstor=$2; shift 2 ;;
    --once) once=1; shift ;;
    *) echo "unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
if [[ -z $cstor ]]; then
  "$root/scripts/setup.sh"
  cmake --preset release -S "$root" >/dev/null
  cmake --build --preset release
  cstor=$root/build/release/src/cli/cstor
fi
if (echo >"/dev/tcp/${portal%:*}/${portal##*:}") 2>/dev/null; then
  echo "something already listens on $portal; give another --portal" >&2
  exit 1
fi

source "$root/scripts/lib/local-volume.sh"
trap lv_stop EXIT
trap 'exit 0' INT TERM
lv_init "$cstor" "$data" "$volume" "$size"
for i in 1 2 3; do lv_start_replica "$i"; done
lv_start_target "$portal"
echo "starting volume $volume ($size, 3 replicas) in $data ..."
url=$(lv_wait_url 120)
cat <<MSG

Volume $volume is Healthy and served at
    $url

From another terminal:
    iscsi-inq $url
    iscsi-ls -s iscsi://$portal
    qemu-img info $url
Status: $data/status.json   Logs: $data/logs/
MSG
if ((once)); then
  iscsi-inq "$url" | head -n 5
  iscsi-ls -s "iscsi://$portal"
  exit 0
fi
echo "Ctrl-C stops it."
wait "$LV_TARGET_PID"
