/** Labels and annotations on a job's children: how the operator finds and sorts them. */
import { API_GROUP } from '../api/types.js';
import { labelValue } from './names.js';

export const LABEL_APP_NAME = 'app.kubernetes.io/name';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_JOB_NAME = `${API_GROUP}/job-name`;
export const LABEL_REPLICA_RANK = `${API_GROUP}/replica-rank`;
/** The gang-restart attempt (status.restarts when the pod was made): pods of an older attempt are stale. */
export const LABEL_ATTEMPT = `${API_GROUP}/generation-attempt`;
/** Hash of the pod-shaping spec; a pod whose hash differs was built from an older spec. */
export const ANNOTATION_SPEC_HASH = `${API_GROUP}/spec-hash`;
/** metadata.generation of the job when the pod was made, for people reading the pod. */
export const ANNOTATION_JOB_GENERATION = `${API_GROUP}/job-generation`;

export const APP_NAME = 'cifar-trainer';
export const MANAGER_NAME = 'cifar-operator';

/** Selects every child of one job (the Service's selector, the controller's list). */
export function jobSelector(jobName: string): Record<string, string> {
  return { [LABEL_JOB_NAME]: labelValue(jobName) };
}

/** Labels of the Service and the Secret. */
export function childLabels(jobName: string, component: string): Record<string, string> {
  return {
    [LABEL_APP_NAME]: APP_NAME,
    [LABEL_MANAGED_BY]: MANAGER_NAME,
    [LABEL_COMPONENT]: component,
    ...jobSelector(jobName),
  };
}

/** Labels of one worker pod. */
export function workerLabels(jobName: string, rank: number, attempt: number): Record<string, string> {
  return {
    ...childLabels(jobName, 'worker'),
    [LABEL_REPLICA_RANK]: String(rank),
    [LABEL_ATTEMPT]: String(attempt),
  };
}

/** A non-negative integer label, or undefined when absent or malformed (a pod someone else edited). */
export function intLabel(labels: Record<string, string> | undefined, key: string): number | undefined {
  const raw = labels?.[key];
  if (raw === undefined || !/^(0|[1-9][0-9]{0,8})$/.test(raw)) return undefined;
  return Number(raw);
}
