/**
 * The node lifecycle controller of kube-controller-manager, reduced to what scheduling
 * and deletion rely on (pkg/controller/nodelifecycle):
 * - a node whose kubelet stopped renewing its Lease in kube-node-lease for longer than
 *   the grace period (node-monitor-grace-period, 40 s by default) gets its conditions
 *   set to Unknown, reason NodeStatusUnknown, "Kubelet stopped posting node status.";
 * - TaintNodesByCondition: Ready=False adds node.kubernetes.io/not-ready:NoSchedule,
 *   Ready=Unknown adds node.kubernetes.io/unreachable:NoSchedule, Ready=True removes them.
 * Not done: NoExecute taints and the eviction of pods from lost nodes (their pods stay,
 * Terminating ones for ever until force-deleted, as on a cluster without the taint manager).
 */
import { getArray, getObject, getString, isObject, type JsonObject } from './json.js';
import { timestamp } from './metadata.js';
import type { Operations } from './operations.js';
import { storageKey } from './resource-registry.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const NODES = { group: '', plural: 'nodes' };
const LEASES = { group: 'coordination.k8s.io', plural: 'leases' };

export interface NodeLifecycle {
  stop(): void;
}

function readyStatus(node: JsonObject): string {
  const c = (getArray(getObject(node, 'status'), 'conditions') ?? []).filter(isObject).find((x) => x.type === 'Ready');
  return getString(c, 'status') ?? 'Unknown';
}

/** The NoSchedule taints a node's Ready condition calls for, with the node's other taints kept. */
export function conditionTaints(node: JsonObject, now: string): JsonObject[] {
  const others = (getArray(getObject(node, 'spec'), 'taints') ?? []).filter(isObject).filter((t) => !((t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE) && t.effect === 'NoSchedule'));
  const existing = (key: string) => (getArray(getObject(node, 'spec'), 'taints') ?? []).filter(isObject).find((t) => t.key === key && t.effect === 'NoSchedule');
  const ready = readyStatus(node);
  const key = ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined;
  if (key === undefined) return others;
  return [...others, existing(key) ?? { key, effect: 'NoSchedule', timeAdded: now }];
}

/** Conditions after the kubelet went quiet: every one Unknown, as the controller reports it. */
export function unknownConditions(node: JsonObject, now: string): JsonObject[] {
  const types = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
  const current = (getArray(getObject(node, 'status'), 'conditions') ?? []).filter(isObject);
  return types.map((type) => {
    const c = current.find((x) => x.type === type) ?? { type };
    if (c.status === 'Unknown') return c;
    return { ...c, type, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now };
  });
}

export function startNodeLifecycle(ops: Operations, opts: { gracePeriodMs?: number; log?: (line: string) => void } = {}): NodeLifecycle {
  const store = ops.store;
  const graceMs = opts.gracePeriodMs ?? 40_000;
  const log = opts.log ?? (() => undefined);
  const nodeType = ops.registry.lookup('', 'v1', 'nodes');
  if (!nodeType) throw new Error('node lifecycle: nodes are not served');

  const write = (node: JsonObject, change: (n: JsonObject) => void): void => {
    const next = structuredClone(node);
    change(next);
    if (JSON.stringify(next) !== JSON.stringify(node)) store.put(storageKey(NODES), next);
  };

  const taint = (node: JsonObject): void => {
    write(node, (n) => {
      const spec = getObject(n, 'spec') ?? {};
      const taints = conditionTaints(n, timestamp());
      if (taints.length > 0) spec.taints = taints;
      else delete spec.taints;
      n.spec = spec;
    });
  };

  const monitor = (): void => {
    const now = Date.now();
    for (const node of store.list(storageKey(NODES))) {
      const name = getString(getObject(node, 'metadata'), 'name') ?? '';
      const lease = store.get(storageKey(LEASES), NODE_LEASE_NAMESPACE, name);
      const renewed = Date.parse(getString(getObject(lease, 'spec'), 'renewTime') ?? getString(getObject(node, 'metadata'), 'creationTimestamp') ?? '');
      if (Number.isFinite(renewed) && now - renewed > graceMs && readyStatus(node) !== 'Unknown') {
        log(`node lifecycle: node ${name} has not renewed its lease for ${Math.round((now - renewed) / 1000)} s; conditions Unknown`);
        write(node, (n) => {
          n.status = { ...(getObject(n, 'status') ?? {}), conditions: unknownConditions(n, timestamp()) };
        });
      }
    }
  };

  // Writes happen on a later tick: writing from inside a store event would reorder watch events.
  const dirty = new Set<string>();
  const flush = (): void => {
    for (const name of dirty) {
      const node = store.get(storageKey(NODES), '', name);
      if (node) taint(node);
    }
    dirty.clear();
  };
  const unsubscribe = store.subscribe((ev) => {
    if (ev.key !== storageKey(NODES) || ev.type === 'DELETED') return;
    if (dirty.size === 0) setImmediate(flush);
    dirty.add(getString(getObject(ev.object, 'metadata'), 'name') ?? '');
  });
  for (const node of store.list(storageKey(NODES))) taint(node);
  const timer = setInterval(monitor, Math.max(200, Math.min(5_000, graceMs / 4)));
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
