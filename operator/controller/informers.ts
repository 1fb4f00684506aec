/**
 * The controller's view of the cluster: reflectors and stores for CifarTrainingJobs and
 * for the Pods, Services and Secrets the operator manages (label
 * app.kubernetes.io/managed-by=cifar-operator). A change to a job enqueues the job; a
 * change to a child enqueues the job that controls it (its controller ownerReference).
 */
import type { Pod, Secret, Service } from '../api/k8s-types.js';
import { API_GROUP, KIND, type CifarTrainingJob } from '../api/types.js';
import { LABEL_JOB_NAME, LABEL_MANAGED_BY, MANAGER_NAME } from '../core/labels.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterApi, WatchedKind, WatchedKinds } from './cluster-api.js';
import type { Clock } from '../runtime/clock.js';
import { ObjectStore, objectKey, type KubeObject } from '../runtime/object-store.js';
import { Reflector, type ChangeHandler } from '../runtime/reflector.js';

export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGER_NAME}`;
/** Index of pods by `<namespace>/<job-name label>`: the pods planReconcile is given. */
export const BY_JOB_LABEL = 'byJobLabel';

export function jobLabelIndexKey(namespace: string, jobLabel: string): string {
  return `${namespace}/${jobLabel}`;
}

/** The key of the job controlling `obj`, if a CifarTrainingJob controls it. */
export function ownerJobKey(obj: KubeObject): string | undefined {
  const ref = obj.metadata.ownerReferences?.find((r) => r.controller === true);
  if (ref === undefined || ref.kind !== KIND || !ref.apiVersion.startsWith(`${API_GROUP}/`)) return undefined;
  return objectKey({ namespace: obj.metadata.namespace, name: ref.name });
}

interface SyncedRunnable {
  start(): void;
  stop(): Promise<void>;
  hasSynced(): boolean;
}

export interface Caches {
  jobs: ObjectStore<CifarTrainingJob>;
  pods: ObjectStore<Pod>;
  services: ObjectStore<Service>;
  secrets: ObjectStore<Secret>;
}

export interface InformerOptions {
  api: ClusterApi;
  /** Watch one namespace; all when absent. */
  namespace?: string;
  logger: Logger;
  enqueue: (key: string) => void;
  clock?: Clock;
  watchTimeoutSeconds?: number;
  watchIdleTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export class Informers {
  readonly caches: Caches;
  private readonly reflectors: SyncedRunnable[];

  constructor(opts: InformerOptions) {
    this.caches = {
      jobs: new ObjectStore<CifarTrainingJob>(),
      pods: new ObjectStore<Pod>({
        [BY_JOB_LABEL]: (pod) => {
          const label = pod.metadata.labels?.[LABEL_JOB_NAME];
          return label === undefined ? [] : [jobLabelIndexKey(pod.metadata.namespace ?? '', label)];
        },
      }),
      services: new ObjectStore<Service>(),
      secrets: new ObjectStore<Secret>(),
    };
    const enqueueSelf: ChangeHandler<KubeObject> = {
      onAdd: (obj) => opts.enqueue(objectKey(obj.metadata)),
      onUpdate: (_old, obj) => opts.enqueue(objectKey(obj.metadata)),
      onDelete: (obj) => opts.enqueue(objectKey(obj.metadata)),
    };
    const enqueueOwner = (obj: KubeObject): void => {
      const key = ownerJobKey(obj);
      if (key !== undefined) opts.enqueue(key);
    };
    const ownerHandler: ChangeHandler<KubeObject> = {
      onAdd: enqueueOwner,
      onUpdate: (old, obj) => {
        enqueueOwner(obj);
        // An owner change moves the object between jobs; both must look again.
        if (ownerJobKey(old) !== ownerJobKey(obj)) enqueueOwner(old);
      },
      onDelete: enqueueOwner,
    };
    const make = <K extends WatchedKind>(kind: K, store: ObjectStore<WatchedKinds[K]>, handler: ChangeHandler<KubeObject>, labelSelector?: string): SyncedRunnable =>
      new Reflector<WatchedKinds[K]>({
        source: { list: (o) => opts.api.list(kind, o), watch: (o, onEvent) => opts.api.watch(kind, o, onEvent) },
        kind,
        list: { ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }), ...(labelSelector === undefined ? {} : { labelSelector }) },
        store,
        handler,
        logger: opts.logger,
        ...(opts.clock === undefined ? {} : { clock: opts.clock }),
        ...(opts.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: opts.watchTimeoutSeconds }),
        ...(opts.watchIdleTimeoutMs === undefined ? {} : { watchIdleTimeoutMs: opts.watchIdleTimeoutMs }),
        ...(opts.backoffInitialMs === undefined ? {} : { backoffInitialMs: opts.backoffInitialMs }),
        ...(opts.backoffMaxMs === undefined ? {} : { backoffMaxMs: opts.backoffMaxMs }),
      });
    this.reflectors = [
      make('CifarTrainingJob', this.caches.jobs, enqueueSelf),
      make('Pod', this.caches.pods, ownerHandler, MANAGED_SELECTOR),
      make('Service', this.caches.services, ownerHandler, MANAGED_SELECTOR),
      make('Secret', this.caches.secrets, ownerHandler, MANAGED_SELECTOR),
    ];
  }

  start(): void {
    for (const r of this.reflectors) r.start();
  }

  hasSynced(): boolean {
    return this.reflectors.every((r) => r.hasSynced());
  }

  /** Resolves true once every cache has listed, false if `timeoutMs` passes first. */
  async waitForSync(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.hasSynced()) {
      if (Date.now() >= deadline || signal?.aborted === true) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }
}
