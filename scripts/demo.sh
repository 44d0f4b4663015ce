#!/usr/bin/env bash
# The main job: installs what is missing, builds cstor, and runs its end-to-end demo on a
# fresh pool in ./data/demo. Extra arguments go to `cstor demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
exec build/release/src/cli/cstor demo "$@"
