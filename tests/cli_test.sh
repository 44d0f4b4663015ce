#!/usr/bin/env bash
# Drives the real `cstor` binary through the pool and volume subcommands, checking output,
# exit codes (0 ok, 1 refused, 2 bad input) and error messages.
#   cli_test.sh PATH_TO_CSTOR
set -uo pipefail
cstor=$1
dir=$(mktemp -d /tmp/cstor-cli-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
pool=$dir/pool
failures=0

# expect CODE PATTERN -- command...: the command exits with CODE and prints PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 3
  local out
  out=$("$@" 2>&1)
  local got=$?
  if [[ $got -ne $code ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $got (want $code), output:"
    echo "$out" | sed 's/^/    /'
    echo "    (wanted /$pattern/)"
    failures=$((failures + 1))
  fi
}

expect 1 "no pool in .*create one with" -- "$cstor" pool status "$pool"
expect 2 "bad size '12Q'" -- "$cstor" pool create "$pool" --size 12Q
expect 2 "needs at least 16 MiB" -- "$cstor" pool create "$pool" --size 1M
expect 0 "created pool .* 255 MiB on 1 device" -- "$cstor" pool create "$pool" --size 256M --buffered
expect 1 "a pool already exists" -- "$cstor" pool create "$pool"
expect 0 "created volume vol1: 64 MiB" -- "$cstor" volume create --pool "$pool" vol1 --size 64M
expect 1 "volume vol1 already exists" -- "$cstor" volume create --pool "$pool" vol1 --size 64M
expect 2 "not a power of two" -- "$cstor" volume create --pool "$pool" v2 --size 64M --block-size 6K
expect 2 "not a multiple of the block size" -- "$cstor" volume create --pool "$pool" v2 --size 1000
expect 2 "use letters, digits" -- "$cstor" volume create --pool "$pool" "a b" --size 1M
expect 2 "size is required" -- "$cstor" volume create --pool "$pool" v2
expect 2 "Run with --help" -- "$cstor" volume

head -c 3000000 /dev/urandom >"$dir/in.bin"
expect 0 "write vol1: 2.86 MiB" -- "$cstor" volume write --pool "$pool" vol1 --input "$dir/in.bin" --io-seq 7
expect 0 "read vol1" -- "$cstor" volume read --pool "$pool" vol1 --length 3000000 --output "$dir/out.bin"
cmp -s "$dir/out.bin" "$dir/in.bin" || { echo "FAIL: data read back differs"; failures=$((failures + 1)); }
expect 0 "created snapshot vol1@s1 \(2.86 MiB referenced, io_seq 7\)" -- "$cstor" volume snapshot create --pool "$pool" vol1@s1
expect 1 "snapshot vol1@s1 already exists" -- "$cstor" volume snapshot create --pool "$pool" vol1@s1
expect 2 "not of the form VOLUME@SNAPSHOT" -- "$cstor" volume snapshot create --pool "$pool" vol1
expect 0 "created clone c1 of vol1@s1" -- "$cstor" volume clone --pool "$pool" vol1@s1 c1
expect 0 "vol1@s1 .* c1" -- "$cstor" volume snapshot list --pool "$pool" vol1
expect 1 "has clones \(c1\)" -- "$cstor" volume snapshot delete --pool "$pool" vol1@s1
expect 1 "has clones \(c1\)" -- "$cstor" volume delete --pool "$pool" vol1
expect 0 "c1 +64 MiB .* vol1@s1" -- "$cstor" volume list --pool "$pool"
expect 0 '"name": "vol1"' -- "$cstor" volume list --pool "$pool" --json
expect 0 "data +7 " -- "$cstor" volume dump --pool "$pool" vol1 --limit 2
expect 0 "now 128 MiB" -- "$cstor" volume grow --pool "$pool" vol1 --size 128M
expect 2 "shrinking" -- "$cstor" volume grow --pool "$pool" vol1 --size 32M
expect 1 "volume nope does not exist" -- "$cstor" volume delete --pool "$pool" nope
expect 0 "scrubbed 733 blocks .*: 0 bad" -- "$cstor" pool scrub "$pool"
expect 0 "0 problems" -- "$cstor" pool check "$pool"
expect 0 "deleted volume c1" -- "$cstor" volume delete --pool "$pool" c1
expect 0 "deleted snapshot vol1@s1" -- "$cstor" volume snapshot delete --pool "$pool" vol1@s1
expect 0 "deleted volume vol1" -- "$cstor" volume delete --pool "$pool" vol1
expect 0 "used +0 B" -- "$cstor" pool status "$pool"
expect 0 '"usedBytes": 0' -- "$cstor" pool status "$pool" --json

# A second process cannot open a pool that is in use.
"$cstor" volume create --pool "$pool" held --size 1G >/dev/null
mkfifo "$dir/fifo"
"$cstor" volume write --pool "$pool" held --input "$dir/fifo" >/dev/null 2>&1 &
writer=$!
exec 3>"$dir/fifo"  # the writer now holds the pool open, blocked on the fifo
sleep 0.5
expect 1 "is in use" -- "$cstor" volume list --pool "$pool"
exec 3>&-
wait $writer

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
