#!/usr/bin/env bash
# Installs the NVIDIA device plugin DaemonSet, which advertises nvidia.com/gpu on GPU nodes,
# and waits until some node reports allocatable GPUs. Only useful on a --gpu cluster.
set -euo pipefail
source "$(dirname "$0")/common.sh"
need "${KUBECTL}"
DEVICE_PLUGIN_VERSION="${DEVICE_PLUGIN_VERSION:-v0.17.1}"
MANIFEST="${NVIDIA_DEVICE_PLUGIN_MANIFEST:-https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/${DEVICE_PLUGIN_VERSION}/deployments/static/nvidia-device-plugin.yml}"
"${KUBECTL}" apply -f "${MANIFEST}"
"${KUBECTL}" -n kube-system rollout status daemonset/nvidia-device-plugin-daemonset --timeout=180s
for _ in $(seq 1 60); do
  gpus="$("${KUBECTL}" get nodes -o jsonpath='{range .items[*]}{.status.allocatable.nvidia\.com/gpu}{" "}{end}')"
  if [[ "${gpus}" =~ [1-9] ]]; then
    echo "allocatable GPUs per node: ${gpus}"
    exit 0
  fi
  sleep 5
done
echo "error: no node reports nvidia.com/gpu after 5 minutes; check the NVIDIA container toolkit on the host (docs/install.md)" >&2
exit 1
