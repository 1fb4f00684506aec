/**
 * Gang scheduling (spec.runPolicy.schedulingPolicy): the pods of one attempt are placed all
 * together or not at all, through one of three projects, each with the objects, labels and
 * annotations it documents:
 * - scheduler-plugins' Coscheduling: a PodGroup (scheduling.x-k8s.io/v1alpha1, spec.minMember,
 *   spec.scheduleTimeoutSeconds) and the pod label scheduling.x-k8s.io/pod-group. Pods go to
 *   the scheduler running the plugin (schedulerName; unset when it replaced the default one).
 * - Volcano: a PodGroup (scheduling.volcano.sh/v1beta1, spec.minMember, spec.queue,
 *   spec.priorityClassName), the pod annotation scheduling.k8s.io/group-name, and
 *   schedulerName volcano.
 * - Kueue's plain-pod groups: the labels kueue.x-k8s.io/queue-name and
 *   kueue.x-k8s.io/pod-group-name and the annotation kueue.x-k8s.io/pod-group-total-count on
 *   every pod; Kueue's webhook gates the pods until it admits the whole group. Kueue never
 *   re-creates pods of a group, so each attempt is its own group, marked not retriable
 *   (kueue.x-k8s.io/retriable-in-group: "false"): once its pods end, Kueue finishes the
 *   group's Workload and releases its quota.
 * One group per attempt: a restarted gang is queued and placed as a whole again.
 */
import type { PodGroup } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';
import type { SchedulingPolicySpec } from '../api/types.js';
import { childLabels } from './labels.js';
import { podGroupName } from './names.js';
import { controllerRef, type JobIdentity } from './owner-ref.js';

export const COSCHEDULING_API_VERSION = 'scheduling.x-k8s.io/v1alpha1';
export const COSCHEDULING_POD_GROUP_LABEL = 'scheduling.x-k8s.io/pod-group';
export const VOLCANO_API_VERSION = 'scheduling.volcano.sh/v1beta1';
export const VOLCANO_GROUP_ANNOTATION = 'scheduling.k8s.io/group-name';
export const VOLCANO_SCHEDULER_NAME = 'volcano';
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
export const KUEUE_POD_GROUP_LABEL = 'kueue.x-k8s.io/pod-group-name';
export const KUEUE_TOTAL_COUNT_ANNOTATION = 'kueue.x-k8s.io/pod-group-total-count';
export const KUEUE_RETRIABLE_ANNOTATION = 'kueue.x-k8s.io/retriable-in-group';

/** What a worker pod carries for its gang scheduler. */
export interface GangPodFields {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  schedulerName?: string;
  priorityClassName?: string;
}

function policyOf(spec: DefaultedSpec): SchedulingPolicySpec | undefined {
  return spec.runPolicy.schedulingPolicy;
}

export function gangPodFields(job: JobIdentity, spec: DefaultedSpec, attempt: number): GangPodFields {
  const policy = policyOf(spec);
  const fields: GangPodFields = { labels: {}, annotations: {} };
  if (policy === undefined) return fields;
  const group = podGroupName(job.name, attempt);
  switch (policy.gangScheduler) {
    case 'coscheduling':
      fields.labels[COSCHEDULING_POD_GROUP_LABEL] = group;
      break;
    case 'volcano':
      fields.annotations[VOLCANO_GROUP_ANNOTATION] = group;
      fields.schedulerName = VOLCANO_SCHEDULER_NAME;
      break;
    case 'kueue':
      // The CRD requires queue for kueue; the operator validates it too (job-validation.ts).
      if (policy.queue !== undefined) fields.labels[KUEUE_QUEUE_LABEL] = policy.queue;
      fields.labels[KUEUE_POD_GROUP_LABEL] = group;
      fields.annotations[KUEUE_TOTAL_COUNT_ANNOTATION] = String(spec.replicas);
      fields.annotations[KUEUE_RETRIABLE_ANNOTATION] = 'false';
      break;
  }
  if (policy.schedulerName !== undefined) fields.schedulerName = policy.schedulerName;
  if (policy.priorityClass !== undefined) fields.priorityClassName = policy.priorityClass;
  return fields;
}

/** The PodGroup of one attempt, for the schedulers that need one (not Kueue). */
export function desiredPodGroup(job: JobIdentity, spec: DefaultedSpec, attempt: number): PodGroup | undefined {
  const policy = policyOf(spec);
  if (policy === undefined || policy.gangScheduler === 'kueue') return undefined;
  const metadata = {
    name: podGroupName(job.name, attempt),
    namespace: job.namespace,
    labels: childLabels(job.name, 'gang'),
    ownerReferences: [controllerRef(job)],
  };
  if (policy.gangScheduler === 'coscheduling') {
    return {
      apiVersion: COSCHEDULING_API_VERSION,
      kind: 'PodGroup',
      metadata,
      spec: { minMember: spec.replicas, ...(policy.scheduleTimeoutSeconds === undefined ? {} : { scheduleTimeoutSeconds: policy.scheduleTimeoutSeconds }) },
    };
  }
  return {
    apiVersion: VOLCANO_API_VERSION,
    kind: 'PodGroup',
    metadata,
    spec: {
      minMember: spec.replicas,
      ...(policy.queue === undefined ? {} : { queue: policy.queue }),
      ...(policy.priorityClass === undefined ? {} : { priorityClassName: policy.priorityClass }),
    },
  };
}

/** The PodGroup apiVersion a job's policy uses, if any (for deleting an earlier attempt's group). */
export function podGroupApiVersion(spec: DefaultedSpec): PodGroup['apiVersion'] | undefined {
  switch (policyOf(spec)?.gangScheduler) {
    case 'coscheduling':
      return COSCHEDULING_API_VERSION;
    case 'volcano':
      return VOLCANO_API_VERSION;
    default:
      return undefined;
  }
}
