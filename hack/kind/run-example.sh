#!/usr/bin/env bash
# Runs examples/local-cpu-lenet.yaml (2 CPU replicas, LeNet) on the kind cluster and watches
# it until it finishes. The data and checkpoints live in S3: set S3_ENDPOINT to an S3 server
# the pods can reach, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for it, and upload the packed
# data first (docs/install.md shows how).
set -euo pipefail
source "$(dirname "$0")/common.sh"
need "${KUBECTL}"
: "${S3_ENDPOINT:?set S3_ENDPOINT to an S3 endpoint the pods can reach, e.g. http://minio.storage:9000}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID for that endpoint}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY for that endpoint}"
TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-1800}"
ns=(--namespace "${JOB_NAMESPACE}")
"${KUBECTL}" "${ns[@]}" create secret generic cifar-local-s3 \
  --from-literal=AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID}" \
  --from-literal=AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY}" \
  --dry-run=client -o yaml | "${KUBECTL}" "${ns[@]}" apply -f -
# The example names the local cluster's S3 Service; point it at this cluster's S3 instead.
sed -e "s#endpoint: http://local-s3.default.svc:4568#endpoint: ${S3_ENDPOINT}#" \
  -e "s#image: cifar-operator/trainer:dev#image: ${TRAINER_CPU_IMAGE}#" \
  "${REPO_ROOT}/examples/local-cpu-lenet.yaml" \
  | "${KUBECTL}" "${ns[@]}" apply -f -
deadline=$(( $(date +%s) + TIMEOUT_SECONDS ))
while (( $(date +%s) < deadline )); do
  phase="$("${KUBECTL}" "${ns[@]}" get ctj local-cpu-lenet -o jsonpath='{.status.phase}')"
  "${KUBECTL}" "${ns[@]}" get ctj local-cpu-lenet --no-headers
  case "${phase}" in
    Succeeded) exit 0 ;;
    Failed) "${KUBECTL}" "${ns[@]}" describe ctj local-cpu-lenet; exit 1 ;;
  esac
  sleep 10
done
echo "error: local-cpu-lenet did not finish within ${TIMEOUT_SECONDS}s" >&2
"${KUBECTL}" "${ns[@]}" describe ctj local-cpu-lenet
exit 1
