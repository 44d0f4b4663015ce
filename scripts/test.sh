#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: an optimised build (then the
# mutation test of the replication proof), an AddressSanitizer + UndefinedBehaviorSanitizer
# build, and a ThreadSanitizer build of the parts that run threads (tests labelled tsan);
# then the fuzzers for a bounded time. Pass preset names to run just those.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# ccache (see CMakeLists.txt) keyed on paths relative to the checkout, so a fresh clone
# elsewhere reuses what the last run compiled.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

tsan_targets=(net_test client_test engine_test http_test)

presets=("$@")
((${#presets[@]})) || presets=(release asan tsan)
for preset in "${presets[@]}"; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  if [[ $preset == tsan ]]; then
    cmake --build --preset tsan --target "${tsan_targets[@]}"
  else
    cmake --build --preset "$preset"
  fi
  echo "== $preset: test"
  ctest --preset "$preset" -j2
  if [[ $preset == release && $# -eq 0 ]]; then
    echo "== mutation test of the replication proof"
    scripts/mutation_test.py --seeds "${CSTOR_MUTATION_SEEDS:-200}"
  fi
done

# The fuzzers, for a bounded time (only when all presets ran, as in CI).
if (($# == 0)); then
  scripts/fuzz.sh
fi
