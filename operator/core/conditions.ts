/**
 * metav1.Condition bookkeeping. lastTransitionTime moves only when status flips, so
 * "since when" stays true across reconciles that change nothing.
 */
import type { Condition, ConditionStatus } from '../api/k8s-types.js';
import type { JobConditionType } from '../api/types.js';

export interface ConditionUpdate {
  type: JobConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** Returns a new list with `update` applied; other conditions keep their order and content. */
export function setCondition(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  const existing = findCondition(conditions, update.type);
  const next: Condition = {
    ...update,
    lastTransitionTime: existing !== undefined && existing.status === update.status ? existing.lastTransitionTime : now.toISOString(),
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  if (existing === undefined) return [...conditions, next];
  return conditions.map((c) => (c.type === update.type ? next : c));
}

/** Sets `update` only when a condition of that type already exists (e.g. Restarting=False after a recovery). */
export function updateConditionIfPresent(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  return findCondition(conditions, update.type) === undefined ? [...conditions] : setCondition(conditions, update, now, observedGeneration);
}
