/**
 * The planner level's fake (operator/core/): an API server and kubelet in miniature that
 * applies planReconcile's actions and lets tests move pods along. The controller level has
 * fake-cluster-api.ts.
 */
import type { Test } from 'tap';
import type { Pod, PodGroup, PodStatus, Secret, Service } from '../../operator/api/k8s-types.js';
import type { CifarTrainingJob, CifarTrainingJobSpec } from '../../operator/api/types.js';
import { findCondition } from '../../operator/core/conditions.js';
import { LABEL_ATTEMPT, LABEL_REPLICA_RANK } from '../../operator/core/labels.js';
import type { OperatorDefaults } from '../../operator/core/operator-defaults.js';
import { planReconcile, type Action, type ReconcilePlan } from '../../operator/core/reconcile-plan.js';

export const T0 = Date.parse('2025-01-01T00:00:00Z');
export const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
export const PEER_KEY = new Uint8Array(32).fill(7);

export const baseSpec: CifarTrainingJobSpec = {
  replicas: 2,
  gpusPerReplica: 1,
  image: 'trainer:1',
  model: { architecture: 'resnet', depth: 20 },
  data: { train: 's3://b/train.rec' },
  hyperparameters: { epochs: 3 },
  checkpoint: { uri: 's3://b/ckpt/' },
};

/** An API server and kubelet in miniature: applies plans, lets tests move pods along. */
export class FakeCluster {
  job: CifarTrainingJob;
  readonly pods = new Map<string, Pod>();
  service: Service | undefined;
  secret: Secret | undefined;
  jobDeleted = false;
  readonly podGroups = new Map<string, PodGroup>();
  /** Force deletions, in order. */
  readonly forced: string[] = [];
  /** Termination grace of deleted pods: deletionTimestamp is the delete time plus this. */
  graceSeconds = 0;
  defaults: OperatorDefaults = {};
  private nextUid = 1;

  constructor(spec: Partial<CifarTrainingJobSpec> = {}) {
    this.job = {
      apiVersion: 'training.cifar-operator.io/v1alpha1',
      kind: 'CifarTrainingJob',
      metadata: { name: 'cifar', namespace: 'ml', uid: 'job-uid', generation: 1, creationTimestamp: at(0).toISOString() },
      spec: { ...baseSpec, ...spec },
    };
  }

  plan(now: Date): ReconcilePlan {
    return planReconcile(this.job, { pods: [...this.pods.values()], service: this.service, secret: this.secret }, now, { peerKey: PEER_KEY, defaults: this.defaults });
  }

  apply(plan: ReconcilePlan, now: Date): void {
    this.job = { ...this.job, status: plan.status };
    for (const action of plan.actions) this.applyAction(action, now);
  }

  private applyAction(action: Action, now: Date): void {
    switch (action.kind) {
      case 'CreatePod':
        if (this.pods.has(action.pod.metadata.name)) throw new Error(`AlreadyExists: pod ${action.pod.metadata.name}`);
        this.pods.set(action.pod.metadata.name, { ...action.pod, metadata: { ...action.pod.metadata, uid: `pod-${this.nextUid++}` }, status: { phase: 'Pending' } });
        break;
      case 'DeletePod': {
        const pod = this.pods.get(action.name);
        if (pod === undefined || (action.uid !== undefined && pod.metadata.uid !== action.uid)) throw new Error(`NotFound or uid mismatch: pod ${action.name}`);
        if (action.force === true) {
          this.forced.push(action.name);
          this.pods.delete(action.name);
          break;
        }
        // Graceful deletion: the pod lingers until finishDeletions(); a second delete keeps the first deadline.
        const deletionTimestamp = pod.metadata.deletionTimestamp ?? new Date(now.getTime() + this.graceSeconds * 1000).toISOString();
        this.pods.set(action.name, { ...pod, metadata: { ...pod.metadata, deletionTimestamp } });
        break;
      }
      case 'CreatePodGroup':
        // AlreadyExists is success for the controller.
        if (!this.podGroups.has(action.podGroup.metadata.name)) this.podGroups.set(action.podGroup.metadata.name, action.podGroup);
        break;
      case 'DeletePodGroup':
        this.podGroups.delete(action.name);
        break;
      case 'CreateService':
        this.service = { ...action.service, metadata: { ...action.service.metadata, uid: 'svc-uid' } };
        break;
      case 'CreateSecret':
        this.secret = { ...action.secret, metadata: { ...action.secret.metadata, uid: 'secret-uid' } };
        break;
      case 'DeleteService':
        this.service = undefined;
        break;
      case 'DeleteSecret':
        this.secret = undefined;
        break;
      case 'DeleteJob':
        this.jobDeleted = true;
        break;
    }
  }

  reconcile(now: Date): ReconcilePlan {
    const plan = this.plan(now);
    this.apply(plan, now);
    return plan;
  }

  finishDeletions(): void {
    for (const [name, pod] of this.pods) if (pod.metadata.deletionTimestamp !== undefined) this.pods.delete(name);
  }

  /** Reconciles, letting deletions complete, until nothing is left to do (bounded). */
  settle(now: Date): ReconcilePlan[] {
    const plans: ReconcilePlan[] = [];
    for (let i = 0; i < 10; i++) {
      const plan = this.reconcile(now);
      plans.push(plan);
      const terminating = [...this.pods.values()].some((p) => p.metadata.deletionTimestamp !== undefined);
      this.finishDeletions();
      if (plan.actions.length === 0 && !terminating) return plans;
    }
    throw new Error('did not settle in 10 reconciles');
  }

  /** The live pod of `rank` in the current attempt. */
  pod(rank: number): Pod {
    const attempt = String(this.job.status?.attempt ?? 0);
    const pod = [...this.pods.values()].find(
      (p) => p.metadata.deletionTimestamp === undefined && p.metadata.labels?.[LABEL_REPLICA_RANK] === String(rank) && p.metadata.labels?.[LABEL_ATTEMPT] === attempt,
    );
    if (pod === undefined) throw new Error(`no live pod of rank ${rank} in attempt ${attempt}`);
    return pod;
  }

  setPod(rank: number, status: PodStatus): void {
    const pod = this.pod(rank);
    this.pods.set(pod.metadata.name, { ...pod, status });
  }

  runAll(): void {
    for (const rank of [0, 1]) this.setPod(rank, running);
  }

  get phase(): string | undefined {
    return this.job.status?.phase;
  }

  condition(type: string): { status: string; reason: string; message: string; lastTransitionTime: string } | undefined {
    return findCondition(this.job.status?.conditions, type);
  }
}

export const running: PodStatus = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
export const succeeded: PodStatus = { phase: 'Succeeded', containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode: 0 } } }] };
export function exited(exitCode: number, message?: string): PodStatus {
  return { phase: 'Failed', containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode, ...(message === undefined ? {} : { message }) } } }] };
}

export const kinds = (plan: ReconcilePlan): string[] => plan.actions.map((a) => (a.kind === 'CreatePod' ? `CreatePod ${a.pod.metadata.name}` : 'name' in a ? `${a.kind} ${a.name}` : a.kind)).sort();

/**
 * Planning again on the applied result asks for nothing more. Replica counts describe the
 * pods as observed, so they catch up with the plan's own creates and deletes one reconcile
 * later; after that the status is a fixed point too.
 */
export function assertIdempotent(t: Test, cluster: FakeCluster, now: Date): void {
  const again = cluster.reconcile(now);
  t.same(again.actions, [], 'no further actions');
  t.same(again.events, [], 'no further events');
  const fixed = cluster.plan(now);
  t.same(fixed.actions, [], 'still no actions');
  t.same(fixed.events, [], 'still no events');
  t.same(fixed.status, cluster.job.status, 'the status is a fixed point');
}

