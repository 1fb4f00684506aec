/**
 * What a DELETE does to an object, decided as kube-apiserver decides it:
 * - graceful deletion of pods: staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go
 *   (BeforeDelete) with pkg/registry/core/pod/strategy.go (CheckGracefulDelete);
 * - finalizers and the garbage collector's `orphan` / `foregroundDeletion` finalizers:
 *   staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go (Delete,
 *   deletionFinalizersForGarbageCollection, markAsDeleting, ShouldDeleteDuringUpdate).
 * Pure: the caller reads the stored object and writes (or removes) what this returns.
 */
import { clone, getArray, getObject, getString, isObject, metadataOf, type JsonObject } from './json.js';
import { timestamp } from './metadata.js';
import type { FieldCause } from './status.js';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteRequest {
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  /** The deprecated boolean form of the policy (true = Orphan, false = Background). */
  orphanDependents?: boolean;
}

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

export type DeleteOutcome =
  /** Remove from storage now. */
  | { action: 'remove' }
  /** Keep, written with deletionTimestamp / grace period / finalizers. */
  | { action: 'update'; object: JsonObject }
  /** A graceful deletion is already under way and this request does not shorten it. */
  | { action: 'pending' };

/** Pods are the only built-in type with graceful deletion. */
export function supportsGracefulDeletion(group: string, plural: string): boolean {
  return group === '' && plural === 'pods';
}

function finalizersOf(meta: JsonObject): string[] {
  return (getArray(meta, 'finalizers') ?? []).filter((f): f is string => typeof f === 'string');
}

/** CheckGracefulDelete for pods: the request's period, else the pod's, 0 when unbound or finished. */
export function podGracePeriod(pod: JsonObject, requested: number | undefined): number {
  const spec = getObject(pod, 'spec');
  let period = requested ?? (typeof spec?.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 0);
  if (!getString(spec, 'nodeName')) period = 0;
  const phase = getString(getObject(pod, 'status'), 'phase');
  if (phase === 'Succeeded' || phase === 'Failed') period = 0;
  return period < 0 ? 1 : period;
}

function shouldOrphan(finalizers: string[], req: DeleteRequest): boolean {
  if (req.orphanDependents !== undefined) return req.orphanDependents;
  if (req.propagationPolicy !== undefined) return req.propagationPolicy === 'Orphan';
  return finalizers.includes(FINALIZER_ORPHAN);
}

function shouldDeleteInForeground(finalizers: string[], req: DeleteRequest): boolean {
  if (req.orphanDependents !== undefined) return false;
  if (req.propagationPolicy !== undefined) return req.propagationPolicy === 'Foreground';
  return finalizers.includes(FINALIZER_FOREGROUND);
}

/** The finalizers the garbage collector needs for this request, and whether they changed. */
export function gcFinalizers(existing: string[], req: DeleteRequest): { changed: boolean; finalizers: string[] } {
  const next = existing.filter((f) => f !== FINALIZER_ORPHAN && f !== FINALIZER_FOREGROUND);
  if (shouldOrphan(existing, req)) next.push(FINALIZER_ORPHAN);
  if (shouldDeleteInForeground(existing, req)) next.push(FINALIZER_FOREGROUND);
  const same = next.length === existing.length && next.every((f) => existing.includes(f));
  return { changed: !same, finalizers: same ? existing : next };
}

type Graceful = { graceful: false; pending: false } | { graceful: false; pending: true } | { graceful: true; pending: false; period: number };

/** rest.BeforeDelete: sets deletionTimestamp/deletionGracePeriodSeconds on `meta` when graceful. */
function beforeDelete(obj: JsonObject, graceful: boolean, req: DeleteRequest, now: Date): Graceful {
  const meta = metadataOf(obj);
  const requested = req.gracePeriodSeconds === undefined ? undefined : req.gracePeriodSeconds < 0 ? 1 : req.gracePeriodSeconds;
  if (!graceful) return { graceful: false, pending: false };
  const current = typeof meta.deletionGracePeriodSeconds === 'number' ? meta.deletionGracePeriodSeconds : undefined;
  if (typeof meta.deletionTimestamp === 'string') {
    // Already being deleted: only a shorter grace period changes anything.
    if (current === undefined || current === 0) return { graceful: false, pending: false };
    if (requested === undefined || requested >= current) return { graceful: false, pending: true };
    let at = Date.parse(meta.deletionTimestamp) - current * 1000 + requested * 1000;
    let period = requested;
    if (at < now.getTime()) {
      at = now.getTime();
      if (period !== 0) period = 1;
    }
    meta.deletionTimestamp = timestamp(new Date(at));
    meta.deletionGracePeriodSeconds = period;
    return { graceful: true, pending: false, period };
  }
  const period = podGracePeriod(obj, requested);
  meta.deletionTimestamp = timestamp(new Date(now.getTime() + period * 1000));
  meta.deletionGracePeriodSeconds = period;
  if (typeof meta.generation === 'number' && meta.generation > 0) meta.generation += 1;
  return { graceful: true, pending: false, period };
}

/** markAsDeleting: deletionTimestamp now (unless already earlier), grace period 0. */
function markAsDeleting(meta: JsonObject, now: Date): void {
  const existing = typeof meta.deletionTimestamp === 'string' ? Date.parse(meta.deletionTimestamp) : undefined;
  if (existing === undefined && typeof meta.generation === 'number' && meta.generation > 0) meta.generation += 1;
  if (existing === undefined || existing > now.getTime()) meta.deletionTimestamp = timestamp(now);
  meta.deletionGracePeriodSeconds = 0;
}

/** Store.Delete for one stored object. */
export function planDelete(existing: JsonObject, gracefulType: boolean, req: DeleteRequest, now = new Date()): DeleteOutcome {
  const obj = clone(existing);
  const meta = metadataOf(obj);
  const g = beforeDelete(obj, gracefulType, req, now);
  if (g.pending) return { action: 'pending' };
  const before = finalizersOf(meta);
  const { changed, finalizers } = gcFinalizers(before, req);
  if (!g.graceful && before.length === 0 && !changed) return { action: 'remove' };
  if (changed) meta.finalizers = finalizers;
  const pendingFinalizers = finalizers.length > 0;
  if (!g.graceful) {
    if (!pendingFinalizers) return { action: 'remove' };
    markAsDeleting(meta, now);
    return { action: 'update', object: obj };
  }
  if (pendingFinalizers || g.period > 0) return { action: 'update', object: obj };
  return { action: 'remove' };
}

/** ShouldDeleteDuringUpdate: the last finalizer went and no grace period is running. */
export function deleteDuringUpdate(next: JsonObject, old: JsonObject): boolean {
  const oldMeta = getObject(old, 'metadata');
  if (finalizersOf(metadataOf(next)).length > 0) return false;
  if (typeof oldMeta?.deletionTimestamp !== 'string') return false;
  const grace = oldMeta.deletionGracePeriodSeconds;
  return grace === undefined || grace === null || grace === 0;
}

/** ValidateObjectMetaUpdate: an object being deleted takes no new finalizers. */
export function newFinalizerCauses(next: JsonObject, old: JsonObject): FieldCause[] {
  const oldMeta = getObject(old, 'metadata');
  if (typeof oldMeta?.deletionTimestamp !== 'string' || !isObject(oldMeta)) return [];
  const before = new Set(finalizersOf(oldMeta));
  const added = finalizersOf(metadataOf(next)).filter((f) => !before.has(f));
  if (added.length === 0) return [];
  return [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}` }];
}
