#!/usr/bin/env bash
# Installs (or upgrades) the chart with the locally built operator image, and waits for it.
# Extra arguments go to helm, e.g. --set metrics.podMonitor.enabled=true
set -euo pipefail
source "$(dirname "$0")/common.sh"
need "${KUBECTL}"
helm_cmd upgrade --install cifar-operator "${REPO_ROOT}/charts/cifar-operator" \
  --namespace "${NAMESPACE}" --create-namespace \
  --set image.repository="${OPERATOR_IMAGE%:*}" \
  --set image.tag="${OPERATOR_IMAGE##*:}" \
  --set image.pullPolicy=IfNotPresent \
  --set trainer.image="${TRAINER_CPU_IMAGE}" \
  --wait --timeout 5m "$@"
"${KUBECTL}" -n "${NAMESPACE}" get deployment,pods -l app.kubernetes.io/instance=cifar-operator
