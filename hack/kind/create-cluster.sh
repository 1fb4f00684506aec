#!/usr/bin/env bash
# Creates the kind cluster: CPU only by default, or with --gpu a worker that sees the host's
# NVIDIA GPUs (see kind-gpu-config.yaml for what the host needs).
set -euo pipefail
source "$(dirname "$0")/common.sh"
need kind docker
config="${REPO_ROOT}/hack/kind/kind-config.yaml"
if [[ "${1:-}" == "--gpu" ]]; then
  config="${REPO_ROOT}/hack/kind/kind-gpu-config.yaml"
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--gpu]" >&2
  exit 2
fi
if kind get clusters | grep -qx "${CLUSTER_NAME}"; then
  echo "kind cluster ${CLUSTER_NAME} already exists"
else
  kind create cluster --name "${CLUSTER_NAME}" --config "${config}" --wait 120s
fi
"${KUBECTL}" cluster-info --context "kind-${CLUSTER_NAME}"
