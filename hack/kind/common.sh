# Shared settings for the hack/kind scripts (sourced, not run).
# Everything can be overridden from the environment.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER_NAME="${CLUSTER_NAME:-cifar}"
NAMESPACE="${NAMESPACE:-cifar-system}"
JOB_NAMESPACE="${JOB_NAMESPACE:-default}"
TAG="${TAG:-dev}"
OPERATOR_IMAGE="${OPERATOR_IMAGE:-cifar-operator/operator:${TAG}}"
# examples/local-cpu-lenet.yaml runs cifar-operator/trainer:dev with imagePullPolicy Never.
TRAINER_CPU_IMAGE="${TRAINER_CPU_IMAGE:-cifar-operator/trainer:${TAG}}"
TRAINER_GPU_IMAGE="${TRAINER_GPU_IMAGE:-cifar-operator/trainer-gpu:${TAG}}"
KUBECTL="${KUBECTL:-kubectl}"

need() {
  for tool in "$@"; do
    command -v "${tool%% *}" >/dev/null 2>&1 || { echo "error: ${tool} is not installed (see docs/install.md, section kind)" >&2; exit 1; }
  done
}

# helm from PATH, else the one the repository bundles (npm ci, then hack/helm.ts).
helm_cmd() {
  if command -v helm >/dev/null 2>&1; then helm "$@"; else (cd "${REPO_ROOT}" && npx --no-install tsx hack/helm.ts "$@"); fi
}
