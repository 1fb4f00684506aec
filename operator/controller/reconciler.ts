/**
 * Reconciles one job key: read the job and its children from the informer caches, ask
 * planReconcile what to do, then write status (if it changed), record events, and apply
 * the actions. Status goes first so the decision is stored before its evidence (a failed
 * pod) is deleted, and the write carries the cached resourceVersion: if the cache was stale
 * the write fails with 409 and nothing is applied (the key is retried with backoff).
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Pod } from '../api/k8s-types.js';
import type { CifarTrainingJob, CifarTrainingJobStatus, TrainingProgress } from '../api/types.js';
import { withDefaults } from '../api/defaults.js';
import { PEER_KEY_BYTES } from '../core/desired-secret.js';
import { statusAfterRefusals, type CreateRefusal } from '../core/create-failures.js';
import { LABEL_ATTEMPT, LABEL_REPLICA_RANK, intLabel } from '../core/labels.js';
import { labelValue, peerKeySecretName, workersServiceName } from '../core/names.js';
import type { OperatorDefaults } from '../core/operator-defaults.js';
import { currentAttempt } from '../core/outcome.js';
import { isPrerequisite, planReconcile, type Action } from '../core/reconcile-plan.js';
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { ApiStatusError, ConflictError, errorMessage, isConflict, isNotFound, isRefusal } from '../runtime/api-errors.js';
import type { ReconcileOutcome } from '../runtime/workers.js';
import { applyAction, createdObject, describeAction } from './apply-action.js';
import type { ClusterApi, ObjectReference } from './cluster-api.js';
import type { EventRecorder } from '../runtime/event-recorder.js';
import { BY_JOB_LABEL, jobLabelIndexKey, type Caches } from './informers.js';
import { objectKey, splitKey } from '../runtime/object-store.js';
import { progressFromTerminationMessage, type ProgressSource, type ProgressTarget } from './progress.js';

export { ConflictError };
export type { ReconcileOutcome };

export interface ReconcilerOptions {
  api: ClusterApi;
  caches: Caches;
  events: EventRecorder;
  logger: Logger;
  progress?: ProgressSource;
  /** How often running jobs are looked at again so progress keeps flowing. */
  progressIntervalMs?: number;
  metrics?: OperatorMetrics;
  now?: () => Date;
  randomBytes?: (n: number) => Uint8Array;
  /** The trainer image and ServiceAccount for jobs that do not name their own. */
  defaults?: OperatorDefaults;
}

interface ActionFailure {
  text: string;
  /** Set when the API server refused a create (4xx): reported on the job. */
  refusal?: CreateRefusal;
}

/** Deterministic JSON (sorted keys), so equal statuses compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const record = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]]));
  });
}

export function sameStatus(a: CifarTrainingJobStatus | undefined, b: CifarTrainingJobStatus): boolean {
  return canonical(a ?? {}) === canonical(b);
}

export class Reconciler {
  private readonly now: () => Date;
  private readonly randomBytes: (n: number) => Uint8Array;

  constructor(private readonly opts: ReconcilerOptions) {
    this.now = opts.now ?? (() => new Date());
    this.randomBytes = opts.randomBytes ?? ((n) => cryptoRandomBytes(n));
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const { caches } = this.opts;
    const job = caches.jobs.get(key);
    if (job === undefined) {
      // Deleted: the garbage collector removes the children through their ownerReferences.
      this.opts.progress?.forget(key);
      return {};
    }
    const { namespace, name } = splitKey(key);
    const log = this.opts.logger.child({ namespace, job: name });
    const observed = {
      pods: caches.pods.byIndex(BY_JOB_LABEL, jobLabelIndexKey(namespace, labelValue(name))),
      service: caches.services.get(objectKey({ namespace, name: workersServiceName(name) })),
      secret: caches.secrets.get(objectKey({ namespace, name: peerKeySecretName(name) })),
    };
    const progress = this.progressFor(job, observed.pods);
    const plan = planReconcile(job, observed, this.now(), {
      peerKey: this.randomBytes(PEER_KEY_BYTES),
      ...(progress === undefined ? {} : { progress }),
      defaults: this.opts.defaults ?? {},
    });

    if (!sameStatus(job.status, plan.status)) {
      if ((await this.writeStatus(key, job, plan.status)) === undefined) return {};
      this.opts.metrics?.observeStatusWrite(job.status, plan.status);
      if (plan.status.phase !== job.status?.phase) log.info('phase changed', { from: job.status?.phase ?? '', to: plan.status.phase ?? '' });
    }

    const ref: ObjectReference = { apiVersion: job.apiVersion, kind: job.kind, namespace, name, ...(job.metadata.uid === undefined ? {} : { uid: job.metadata.uid }) };
    await Promise.all(plan.events.map((event) => this.opts.events.record(ref, event)));

    // What pods depend on first; if any of it is refused, no pod is created this round.
    const first = plan.actions.filter(isPrerequisite);
    const firstResults = await this.applyAll(first, namespace, log);
    const rest = plan.actions.filter((a) => !isPrerequisite(a) && (firstResults.failures.length === 0 || a.kind !== 'CreatePod'));
    const restResults = await this.applyAll(rest, namespace, log);
    const failures = [...firstResults.failures, ...restResults.failures];
    if (failures.length > 0) {
      const refusals = failures.flatMap((f) => f.refusal ?? []);
      if (refusals.length > 0 && (await this.reportRefusals(key, refusals, ref)).final) return {};
      throw new Error(`CifarTrainingJob ${key}: ${failures.length} of ${plan.actions.length} change(s) failed: ${failures.map((f) => f.text).join('; ')}`);
    }

    let requeueAfterMs = plan.requeueAfterSeconds === undefined ? undefined : Math.max(0, plan.requeueAfterSeconds * 1000);
    const interval = this.opts.progressIntervalMs;
    if (plan.status.phase === 'Running' && this.opts.progress !== undefined && interval !== undefined) {
      requeueAfterMs = Math.min(requeueAfterMs ?? interval, interval);
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  private async applyAll(actions: readonly Action[], namespace: string, log: Logger): Promise<{ failures: ActionFailure[] }> {
    const results = await Promise.allSettled(actions.map((action) => applyAction(this.opts.api, namespace, action)));
    const failures: ActionFailure[] = [];
    results.forEach((result, i) => {
      const action = actions[i];
      if (action === undefined) return;
      if (result.status === 'fulfilled') {
        log.debug('applied', { action: describeAction(action) });
        return;
      }
      const err: unknown = result.reason;
      const created = createdObject(action);
      const refusal =
        created !== undefined && isRefusal(err) && err instanceof ApiStatusError
          ? { ...created, code: err.code, reason: err.reason, message: err.message, causes: err.causes }
          : undefined;
      failures.push({ text: `${describeAction(action)}: ${errorMessage(err)}`, ...(refusal === undefined ? {} : { refusal }) });
    });
    return { failures };
  }

  /**
   * Writes a refused create into the job's status (reading the job again from the cache,
   * which holds what the first status write returned) and records Warning Events.
   */
  private async reportRefusals(key: string, refusals: readonly CreateRefusal[], ref: ObjectReference): Promise<{ final: boolean }> {
    const job = this.opts.caches.jobs.get(key);
    if (job === undefined) return { final: true };
    const outcome = statusAfterRefusals(job, job.status ?? {}, refusals, this.now());
    await Promise.all(outcome.events.map((event) => this.opts.events.record(ref, event)));
    if (!sameStatus(job.status, outcome.status) && (await this.writeStatus(key, job, outcome.status)) !== undefined) {
      this.opts.metrics?.observeStatusWrite(job.status, outcome.status);
    }
    return { final: outcome.final };
  }

  /**
   * PUT on the status subresource. The object the server returns (with its new
   * resourceVersion) replaces the cached copy, unless the watch has already moved the cache
   * on, so the next write does not start from a version the server has left behind (a 409).
   * Returns undefined when the job is gone.
   */
  private async writeStatus(key: string, job: CifarTrainingJob, status: CifarTrainingJobStatus): Promise<CifarTrainingJob | undefined> {
    let written: CifarTrainingJob;
    try {
      written = await this.opts.api.replaceJobStatus({ ...job, status });
    } catch (err) {
      if (isConflict(err)) throw new ConflictError(`CifarTrainingJob ${key}: status update conflicted (the cached copy is stale); retrying`);
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const cached = this.opts.caches.jobs.get(key);
    if (cached !== undefined && cached.metadata.resourceVersion === job.metadata.resourceVersion) this.opts.caches.jobs.upsert(written);
    return written;
  }

  /** Rank 0's last report, for a running job whose rank 0 of the current attempt has an IP. */
  private progressFor(job: CifarTrainingJob, pods: readonly Pod[]): TrainingProgress | undefined {
    const source = this.opts.progress;
    const { namespace, uid, name } = job.metadata;
    const attempt = currentAttempt(job);
    const isRank0 = (pod: Pod): boolean => intLabel(pod.metadata.labels, LABEL_REPLICA_RANK) === 0 && intLabel(pod.metadata.labels, LABEL_ATTEMPT) === attempt && pod.metadata.deletionTimestamp === undefined;
    const finished = pods.find((pod) => isRank0(pod) && pod.status?.phase === 'Succeeded');
    if (finished) {
      const terminated = finished.status?.containerStatuses?.[0]?.state?.terminated;
      return progressFromTerminationMessage(terminated?.message, `pod ${namespace}/${finished.metadata.name} termination message`);
    }
    if (source === undefined || job.status?.phase !== 'Running' || uid === undefined || namespace === undefined) return undefined;
    const rank0 = pods.find((pod) => isRank0(pod) && pod.status?.phase === 'Running');
    const podIP = rank0?.status?.podIP;
    if (podIP === undefined || podIP === '') return undefined;
    const target: ProgressTarget = { key: objectKey({ namespace, name }), uid, attempt, podIP, port: withDefaults(job.spec).metricsPort };
    return source.current(target);
  }
}
