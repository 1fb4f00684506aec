#!/usr/bin/env bash
# The main job on a fresh clone: installs what it needs, then runs hack/demo.ts
# (local S3, CIFAR-10 packed into RecordIO, a 2-replica training job, progress, result).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The native CPU backend when libdnnl-dev and a compiler are installed (a no-op once built);
# otherwise it says what is missing and the trainer uses wasm.
npm run --silent build:native
exec node --import tsx hack/demo.ts "$@"
