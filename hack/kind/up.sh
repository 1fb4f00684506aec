#!/usr/bin/env bash
# Everything in order: cluster, images, (GPU plugin), chart, example job.
# Usage: up.sh [--gpu]    S3_ENDPOINT and AWS_* must be set for the example (run-example.sh).
set -euo pipefail
dir="$(dirname "$0")"
"${dir}/create-cluster.sh" "$@"
"${dir}/build-images.sh" "$@"
if [[ "${1:-}" == "--gpu" ]]; then "${dir}/install-gpu-plugin.sh"; fi
"${dir}/install-chart.sh"
"${dir}/run-example.sh"
