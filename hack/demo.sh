#!/usr/bin/env bash
# The main job on a fresh clone: installs what it needs, then runs hack/demo.ts
# (local S3, CIFAR-10 packed into RecordIO, a 2-replica training job, progress, result).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
exec node --import tsx hack/demo.ts "$@"
