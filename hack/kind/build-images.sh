#!/usr/bin/env bash
# Builds the operator and trainer images and loads them into the kind cluster's nodes.
# Usage: build-images.sh [--gpu]   (--gpu also builds the CUDA trainer, a multi-GB image)
set -euo pipefail
source "$(dirname "$0")/common.sh"
need docker kind
cd "${REPO_ROOT}"
docker build -f images/operator.Dockerfile -t "${OPERATOR_IMAGE}" .
docker build -f images/trainer-cpu.Dockerfile -t "${TRAINER_CPU_IMAGE}" .
images=("${OPERATOR_IMAGE}" "${TRAINER_CPU_IMAGE}")
if [[ "${1:-}" == "--gpu" ]]; then
  docker build -f images/trainer-gpu.Dockerfile -t "${TRAINER_GPU_IMAGE}" .
  images+=("${TRAINER_GPU_IMAGE}")
fi
for image in "${images[@]}"; do
  kind load docker-image --name "${CLUSTER_NAME}" "${image}"
done
