#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: an optimised build, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build. Pass a preset name to run just one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

presets=("$@")
((${#presets[@]})) || presets=(release asan)
for preset in "${presets[@]}"; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "== $preset: test"
  ctest --preset "$preset" -j2
done

# The fuzzers, for a bounded time (only when all presets ran, as in CI).
if ((${#@} == 0)); then
  scripts/fuzz.sh
fi
