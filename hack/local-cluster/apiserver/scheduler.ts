/**
 * A small kube-scheduler, run in the local cluster's control plane. It takes pods with
 * no spec.nodeName whose schedulerName is default-scheduler, oldest first, runs the
 * filters of scheduling.ts against every Node and binds a pod through the pods/binding
 * subresource, as the real scheduler's DefaultBinder does. A pod nothing fits stays
 * Pending with PodScheduled=False, reason Unschedulable, the scheduler's message and a
 * FailedScheduling event; it is retried whenever a pod or node changes in a way that can
 * free capacity (the real scheduler's queueing hints, reduced to "any such change").
 */
import { getObject, getString, isObject, type JsonObject } from './json.js';
import { timestamp } from './metadata.js';
import type { Operations } from './operations.js';
import { storageKey, type ResourceType } from './resource-registry.js';
import { addRequests, holdsResources, podRequests, schedule, type NodeState, type Resources } from './scheduling.js';
import { ApiError } from './status.js';
import type { StoreEvent } from './store.js';

export const SCHEDULER_NAME = 'default-scheduler';

export interface Scheduler {
  /** Resolves once no scheduling pass is pending. */
  idle(): Promise<void>;
  stop(): void;
}

const PODS = { group: '', plural: 'pods' };
const NODES = { group: '', plural: 'nodes' };
const CLAIMS = { group: '', plural: 'persistentvolumeclaims' };

function meta(o: JsonObject): JsonObject {
  return getObject(o, 'metadata') ?? {};
}

function waitingForNode(pod: JsonObject): boolean {
  const spec = getObject(pod, 'spec');
  if (getString(spec, 'nodeName')) return false;
  if ((getString(spec, 'schedulerName') ?? SCHEDULER_NAME) !== SCHEDULER_NAME) return false;
  if (meta(pod).deletionTimestamp) return false;
  return holdsResources(pod);
}

/** Node/pod changes after which a pass may place something. */
function relevant(ev: StoreEvent): boolean {
  if (ev.key === storageKey(NODES) || ev.key === storageKey(CLAIMS)) return true;
  if (ev.key !== storageKey(PODS)) return false;
  if (ev.type !== 'MODIFIED') return true;
  const before = ev.previous;
  if (!before) return true;
  // A pod finishing, getting bound or unbound changes what is free; status chatter does not.
  return holdsResources(before) !== holdsResources(ev.object) || getString(getObject(before, 'spec'), 'nodeName') !== getString(getObject(ev.object, 'spec'), 'nodeName') || waitingForNode(ev.object) !== waitingForNode(before);
}

export function startScheduler(ops: Operations, log: (line: string) => void = () => undefined): Scheduler {
  const store = ops.store;
  const podType = ops.registry.lookup('', 'v1', 'pods');
  const eventType = ops.registry.lookup('', 'v1', 'events');
  if (!podType || !eventType) throw new Error('scheduler: pods or events are not served');
  let pending: Promise<void> | undefined;
  let stopped = false;
  /** The message last reported per pod uid, so a retry that changes nothing writes nothing. */
  const reported = new Map<string, string>();

  const nodeStates = (): Map<string, NodeState> => {
    const states = new Map<string, NodeState>();
    for (const node of store.list(storageKey(NODES))) states.set(getString(meta(node), 'name') ?? '', { node, used: new Map(), pods: 0 });
    for (const pod of store.list(storageKey(PODS))) {
      const s = states.get(getString(getObject(pod, 'spec'), 'nodeName') ?? '');
      if (!s || !holdsResources(pod)) continue;
      s.pods += 1;
      addRequests(s.used, safeRequests(pod) ?? new Map());
    }
    return states;
  };

  const safeRequests = (pod: JsonObject): Resources | undefined => {
    try {
      return podRequests(pod);
    } catch {
      return undefined;
    }
  };

  const reportUnschedulable = (t: ResourceType, pod: JsonObject, message: string): void => {
    const m = meta(pod);
    const uid = getString(m, 'uid') ?? '';
    if (reported.get(uid) === message) return;
    reported.set(uid, message);
    const ns = getString(m, 'namespace') ?? '';
    const name = getString(m, 'name') ?? '';
    const condition = { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: timestamp(), reason: 'Unschedulable', message };
    try {
      const current = ops.get(t, ns, name);
      const status = getObject(current, 'status') ?? {};
      const others = (Array.isArray(status.conditions) ? status.conditions : []).filter((c) => !(isObject(c) && c.type === 'PodScheduled'));
      ops.patch(t, ns, name, 'application/merge-patch+json', { metadata: { uid }, status: { conditions: [...others, condition] } }, { dryRun: false, fieldValidation: 'Ignore' }, 'status');
      ops.create(eventType, ns, {
        metadata: { generateName: `${name}.`, namespace: ns },
        involvedObject: { kind: 'Pod', namespace: ns, name, uid, apiVersion: 'v1', resourceVersion: getString(meta(current), 'resourceVersion') ?? '' },
        reason: 'FailedScheduling',
        message,
        type: 'Warning',
        source: { component: SCHEDULER_NAME },
        reportingComponent: SCHEDULER_NAME,
        reportingInstance: SCHEDULER_NAME,
        firstTimestamp: timestamp(),
        lastTimestamp: timestamp(),
        count: 1,
      }, { dryRun: false, fieldValidation: 'Ignore' });
      log(`scheduler: ${ns}/${name} unschedulable: ${message}`);
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) log(`scheduler: ${ns}/${name}: ${(err as Error).message}`);
    }
  };

  const pass = (): void => {
    pending = undefined;
    if (stopped) return;
    const queue = store
      .list(storageKey(PODS))
      .filter(waitingForNode)
      .sort((a, b) => String(meta(a).creationTimestamp).localeCompare(String(meta(b).creationTimestamp)) || Number(meta(a).resourceVersion) - Number(meta(b).resourceVersion));
    if (queue.length === 0) return;
    const states = nodeStates();
    for (const pod of queue) {
      const m = meta(pod);
      const ns = getString(m, 'namespace') ?? '';
      const name = getString(m, 'name') ?? '';
      const req = safeRequests(pod);
      if (!req) {
        reportUnschedulable(podType, pod, 'invalid resource requests');
        continue;
      }
      const decision = schedule(pod, [...states.values()], (claim) => store.get(storageKey(CLAIMS), ns, claim));
      if (decision.node === undefined) {
        reportUnschedulable(podType, pod, decision.message);
        continue;
      }
      try {
        ops.bind(podType, ns, name, { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns, uid: getString(m, 'uid') ?? '' }, target: { kind: 'Node', name: decision.node } }, { dryRun: false, fieldValidation: 'Ignore' });
        reported.delete(getString(m, 'uid') ?? '');
        const s = states.get(decision.node);
        if (s) {
          s.pods += 1;
          addRequests(s.used, req);
        }
        log(`scheduler: bound ${ns}/${name} to ${decision.node}`);
      } catch (err) {
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) log(`scheduler: binding ${ns}/${name}: ${(err as Error).message}`);
      }
    }
  };

  const schedulePass = (): void => {
    pending ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        pass();
        resolve();
      }),
    );
  };

  const unsubscribe = store.subscribe((ev) => {
    if (ev.key === storageKey(PODS) && ev.type === 'DELETED') reported.delete(getString(meta(ev.object), 'uid') ?? '');
    if (relevant(ev)) schedulePass();
  });
  schedulePass();

  return {
    async idle() {
      for (let i = 0; i < 1000 && pending; i++) await pending;
    },
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}
