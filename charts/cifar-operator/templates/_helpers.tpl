{{/* Chart name, overridable. */}}
{{- define "cifar-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name prefix of every object: the release name, plus the chart name unless the release name
already contains it. Truncated to 52 so suffixes such as "-trainer" and "-leader" still fit 63.
*/}}
{{- define "cifar-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cifar-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the operator's pods; never change them after a release (selectors are immutable). */}}
{{- define "cifar-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cifar-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels of every object; component-specific templates override app.kubernetes.io/component. */}}
{{- define "cifar-operator.baseLabels" -}}
helm.sh/chart: {{ include "cifar-operator.chart" . }}
app.kubernetes.io/name: {{ include "cifar-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cifar-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "cifar-operator.labels" -}}
{{ include "cifar-operator.baseLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "cifar-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cifar-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cifar-operator.trainerServiceAccountName" -}}
{{- default (printf "%s-trainer" (include "cifar-operator.fullname" .)) .Values.trainer.serviceAccount.name -}}
{{- end -}}

{{/* The one namespace the operator watches, or "" for all namespaces. */}}
{{- define "cifar-operator.watchNamespace" -}}
{{- if .Values.operator.watchNamespace -}}
{{- .Values.operator.watchNamespace -}}
{{- else if .Values.rbac.namespaced -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Where trainer pods run when the chart can tell: the watched namespace, else the release namespace. */}}
{{- define "cifar-operator.trainerNamespace" -}}
{{- default .Release.Namespace (include "cifar-operator.watchNamespace" .) -}}
{{- end -}}

{{/* Every namespace the chart prepares for trainer pods, comma-separated: the one above plus trainer.namespaces. */}}
{{- define "cifar-operator.trainerNamespaces" -}}
{{- prepend .Values.trainer.namespaces (include "cifar-operator.trainerNamespace" .) | uniq | join "," -}}
{{- end -}}

{{/* Labels of every trainer pod (operator/core/labels.ts): what the NetworkPolicy selects. */}}
{{- define "cifar-operator.trainerPodLabels" -}}
app.kubernetes.io/name: cifar-trainer
app.kubernetes.io/managed-by: cifar-operator
app.kubernetes.io/component: worker
{{- end -}}

{{- define "cifar-operator.leaseName" -}}
{{- default (printf "%s-leader" (include "cifar-operator.fullname" .)) .Values.leaderElection.leaseName -}}
{{- end -}}

{{- define "cifar-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
What the operator may do to jobs and their children, shared by the ClusterRole and the
namespaced Role: only verbs operator/controller/cluster-api.ts uses (it reads through
list+watch informers, so no get). Secrets: the operator creates and deletes each job's
peer-key Secret and watches them (by label) to recreate a deleted one; RBAC cannot restrict
list/watch by label, so namespaced mode is the way to keep it away from other namespaces'
Secrets. PodGroups: created and deleted for gang scheduling, never read.
*/}}
{{- define "cifar-operator.jobRules" -}}
- apiGroups: ["training.cifar-operator.io"]
  resources: ["cifartrainingjobs"]
  verbs: ["list", "watch", "delete"]
- apiGroups: ["training.cifar-operator.io"]
  resources: ["cifartrainingjobs/status"]
  verbs: ["update"]
# Owner references with blockOwnerDeletion need update on the owner's finalizers when the
# OwnerReferencesPermissionEnforcement admission plugin is on.
- apiGroups: ["training.cifar-operator.io"]
  resources: ["cifartrainingjobs/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["pods", "services", "secrets"]
  verbs: ["list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if has "coscheduling" .Values.rbac.gangSchedulers }}
- apiGroups: ["scheduling.x-k8s.io"]
  resources: ["podgroups"]
  verbs: ["create", "delete"]
{{- end }}
{{- if has "volcano" .Values.rbac.gangSchedulers }}
- apiGroups: ["scheduling.volcano.sh"]
  resources: ["podgroups"]
  verbs: ["create", "delete"]
{{- end }}
{{- end -}}

{{/* Fails the render with a reason for combinations the schema cannot express. */}}
{{- define "cifar-operator.validate" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository is not set: no cifar-operator image is published. Build and push it first (from the repository root: docker build -f images/operator.Dockerfile -t REGISTRY/cifar-operator:TAG . && docker push REGISTRY/cifar-operator:TAG), then install with --set image.repository=REGISTRY/cifar-operator,image.tag=TAG (README, \"On a Kubernetes cluster\")" -}}
{{- end -}}
{{- if not .Values.trainer.image -}}
{{- fail "trainer.image is not set: it is the image the operator runs trainer pods with when a job sets no spec.image, and none is published. Build and push it first (docker build -f images/trainer-gpu.Dockerfile -t REGISTRY/cifar-trainer:TAG-gpu . for GPU nodes, or images/trainer-cpu.Dockerfile; docker push ...), then install with --set trainer.image=REGISTRY/cifar-trainer:TAG-gpu (README, \"On a Kubernetes cluster\")" -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: replicas without a lease would reconcile the same jobs at once; enable leader election or set replicaCount to 1" (int .Values.replicaCount)) -}}
{{- end -}}
{{- $le := .Values.leaderElection -}}
{{- if and $le.enabled (not (and (gt (float64 $le.leaseDurationSeconds) (float64 $le.renewDeadlineSeconds)) (gt (float64 $le.renewDeadlineSeconds) (float64 $le.retryPeriodSeconds)))) -}}
{{- fail "leaderElection: leaseDurationSeconds must exceed renewDeadlineSeconds, which must exceed retryPeriodSeconds" -}}
{{- end -}}
{{- if ge (float64 .Values.operator.shutdownTimeoutSeconds) (float64 .Values.terminationGracePeriodSeconds) -}}
{{- fail "operator.shutdownTimeoutSeconds must be less than terminationGracePeriodSeconds, or the kubelet kills the operator mid-shutdown" -}}
{{- end -}}
{{- end -}}
