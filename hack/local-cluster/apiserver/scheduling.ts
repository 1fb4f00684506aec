/**
 * The default scheduler's filters and its explanation when nothing fits, pure:
 * - plugins, in the default order (pkg/scheduler/framework/plugins): VolumeBinding's
 *   PreFilter (claims must exist and be bound), then per node NodeUnschedulable,
 *   TaintToleration, NodeAffinity (nodeSelector and required node affinity),
 *   NodeResourcesFit (sum of the requests of the pods bound to a node, terminated ones
 *   excluded, against its allocatable cpu, memory, pods and extended resources such as
 *   nvidia.com/gpu); a node is rejected by the first plugin that fails;
 * - the message (pkg/scheduler/framework/types.go FitError.Error): "0/N nodes are
 *   available: <count> <reason>, ... ." sorted, then the preemption post-filter's own
 *   "preemption: 0/N nodes are available: ..." (no priorities here, so no victims).
 * Scoring is reduced to "least allocated first, then by name".
 */
import { getArray, getObject, getString, isObject, type JsonObject, type JsonValue } from './json.js';
import { QuantityError, schedulingValue } from './quantity.js';

export type Resources = Map<string, number>;

interface Taint {
  key: string;
  value: string;
  effect: string;
}

export type FilterResult = { fits: true } | { fits: false; reasons: string[]; resolvable: boolean };

export type ScheduleDecision = { node: string } | { node: undefined; message: string };

const STANDARD = new Set(['cpu', 'memory', 'ephemeral-storage', 'pods']);

function quantity(resource: string, v: JsonValue, where: string): number {
  try {
    return schedulingValue(resource, typeof v === 'number' ? v : String(v));
  } catch (err) {
    if (err instanceof QuantityError) throw new QuantityError(`${where}: ${err.message}`);
    throw err;
  }
}

function resourceList(o: JsonObject | undefined, where: string): Resources {
  const out: Resources = new Map();
  for (const [k, v] of Object.entries(o ?? {})) out.set(k, quantity(k, v, `${where}.${k}`));
  return out;
}

function containerRequests(c: JsonObject, where: string): Resources {
  const res = getObject(c, 'resources');
  // The API server defaults a missing request to its limit (pkg/apis/core/v1/defaults.go).
  const requests = resourceList(getObject(res, 'limits'), `${where}.resources.limits`);
  for (const [k, v] of resourceList(getObject(res, 'requests'), `${where}.resources.requests`)) requests.set(k, v);
  return requests;
}

/** What a pod asks of a node: containers summed, init containers as a maximum, plus overhead. */
export function podRequests(pod: JsonObject): Resources {
  const spec = getObject(pod, 'spec');
  const total: Resources = new Map();
  (getArray(spec, 'containers') ?? []).filter(isObject).forEach((c, i) => {
    for (const [k, v] of containerRequests(c, `spec.containers[${i}]`)) total.set(k, (total.get(k) ?? 0) + v);
  });
  (getArray(spec, 'initContainers') ?? []).filter(isObject).forEach((c, i) => {
    for (const [k, v] of containerRequests(c, `spec.initContainers[${i}]`)) total.set(k, Math.max(total.get(k) ?? 0, v));
  });
  for (const [k, v] of resourceList(getObject(spec, 'overhead'), 'spec.overhead')) total.set(k, (total.get(k) ?? 0) + v);
  return total;
}

export function nodeAllocatable(node: JsonObject): Resources {
  const status = getObject(node, 'status');
  return resourceList(getObject(status, 'allocatable') ?? getObject(status, 'capacity'), 'status.allocatable');
}

/** Pods that hold resources on a node: bound to it and not terminated (terminating ones still count). */
export function holdsResources(pod: JsonObject): boolean {
  const phase = getString(getObject(pod, 'status'), 'phase');
  return phase !== 'Succeeded' && phase !== 'Failed';
}

function taintsOf(node: JsonObject): Taint[] {
  return (getArray(getObject(node, 'spec'), 'taints') ?? []).filter(isObject).map((t) => ({ key: getString(t, 'key') ?? '', value: getString(t, 'value') ?? '', effect: getString(t, 'effect') ?? '' }));
}

/** v1helper.TolerationsTolerateTaint. */
export function tolerates(tolerations: JsonObject[], taint: Taint): boolean {
  return tolerations.some((t) => {
    const effect = getString(t, 'effect') ?? '';
    if (effect !== '' && effect !== taint.effect) return false;
    const key = getString(t, 'key') ?? '';
    const op = getString(t, 'operator') ?? 'Equal';
    if (key === '' && op === 'Exists') return true;
    if (key !== taint.key) return false;
    return op === 'Exists' || (getString(t, 'value') ?? '') === taint.value;
  });
}

function labelsOf(node: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(getObject(getObject(node, 'metadata'), 'labels') ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

function requirementMatches(req: JsonObject, value: string | undefined): boolean {
  const values = (getArray(req, 'values') ?? []).filter((v): v is string => typeof v === 'string');
  switch (getString(req, 'operator')) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const n = Number(value);
      const bound = Number(values[0]);
      if (value === undefined || !Number.isInteger(n) || !Number.isInteger(bound)) return false;
      return getString(req, 'operator') === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/** A nodeSelectorTerm: all expressions and fields hold; an empty term matches nothing. */
function termMatches(term: JsonObject, node: JsonObject): boolean {
  const exprs = (getArray(term, 'matchExpressions') ?? []).filter(isObject);
  const fields = (getArray(term, 'matchFields') ?? []).filter(isObject);
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = labelsOf(node);
  const name = getString(getObject(node, 'metadata'), 'name') ?? '';
  return exprs.every((e) => requirementMatches(e, Object.hasOwn(labels, getString(e, 'key') ?? '') ? labels[getString(e, 'key') ?? ''] : undefined)) && fields.every((f) => requirementMatches(f, getString(f, 'key') === 'metadata.name' ? name : undefined));
}

export function matchesNodeAffinity(pod: JsonObject, node: JsonObject): boolean {
  const spec = getObject(pod, 'spec');
  const labels = labelsOf(node);
  for (const [k, v] of Object.entries(getObject(spec, 'nodeSelector') ?? {})) if (labels[k] !== v) return false;
  const required = getObject(getObject(getObject(spec, 'affinity'), 'nodeAffinity'), 'requiredDuringSchedulingIgnoredDuringExecution');
  if (!required) return true;
  return (getArray(required, 'nodeSelectorTerms') ?? []).filter(isObject).some((t) => termMatches(t, node));
}

/** Runs the filters in order; the first failing one gives the node's reasons. */
export function filterNode(pod: JsonObject, podReq: Resources, node: JsonObject, used: Resources, podsOnNode: number): FilterResult {
  const tolerations = (getArray(getObject(pod, 'spec'), 'tolerations') ?? []).filter(isObject);
  if (getObject(node, 'spec')?.unschedulable === true && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' })) {
    return { fits: false, reasons: ['node(s) were unschedulable'], resolvable: false };
  }
  const untolerated = taintsOf(node).find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(tolerations, t));
  if (untolerated) return { fits: false, reasons: [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value}}`], resolvable: false };
  if (!matchesNodeAffinity(pod, node)) return { fits: false, reasons: ["node(s) didn't match Pod's node affinity/selector"], resolvable: false };
  const alloc = nodeAllocatable(node);
  const reasons: string[] = [];
  if (podsOnNode + 1 > (alloc.get('pods') ?? 0)) reasons.push('Too many pods');
  const order = ['cpu', 'memory', 'ephemeral-storage', ...[...podReq.keys()].filter((k) => !STANDARD.has(k)).sort()];
  for (const r of order) {
    const want = podReq.get(r) ?? 0;
    if (want === 0) continue;
    if (r === 'ephemeral-storage' && !alloc.has(r)) continue;
    if (want > (alloc.get(r) ?? 0) - (used.get(r) ?? 0)) reasons.push(`Insufficient ${r}`);
  }
  return reasons.length === 0 ? { fits: true } : { fits: false, reasons, resolvable: true };
}

function histogram(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts.entries()].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

/** FitError.Error() with the preemption post-filter's message, as kubectl describe shows it. */
export function unschedulableMessage(results: ReadonlyArray<Exclude<FilterResult, { fits: true }>>): string {
  const n = results.length;
  const filter = histogram(results.flatMap((r) => r.reasons));
  const preemption = histogram(results.map((r) => (r.resolvable ? 'No preemption victims found for incoming pod' : 'Preemption is not helpful for scheduling')));
  return `0/${n} nodes are available: ${filter}. preemption: 0/${n} nodes are available: ${preemption}.`;
}

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

/**
 * VolumeBinding's PreFilter: every persistentVolumeClaim volume must name an existing,
 * bound claim (claims bind immediately here). Its message replaces the per-node reasons.
 */
export function volumePreFilter(pod: JsonObject, claim: (name: string) => JsonObject | undefined): string | undefined {
  let unbound = false;
  for (const v of (getArray(getObject(pod, 'spec'), 'volumes') ?? []).filter(isObject)) {
    const name = getString(getObject(v, 'persistentVolumeClaim'), 'claimName');
    if (name === undefined) continue;
    const c = claim(name);
    if (!c) return `persistentvolumeclaim "${name}" not found`;
    if (getObject(c, 'metadata')?.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
    if (getString(getObject(c, 'status'), 'phase') !== 'Bound') unbound = true;
  }
  return unbound ? 'pod has unbound immediate PersistentVolumeClaims' : undefined;
}

/** FitError.Error() when a PreFilter plugin rejected the pod on every node. */
export function preFilterMessage(nodes: number, message: string): string {
  return `0/${nodes} nodes are available: ${message}. preemption: 0/${nodes} nodes are available: ${nodes} Preemption is not helpful for scheduling.`;
}

export interface NodeState {
  node: JsonObject;
  used: Resources;
  pods: number;
}

/** The node to bind to, least allocated first, or why there is none. */
export function schedule(pod: JsonObject, nodes: readonly NodeState[], claim: (name: string) => JsonObject | undefined = () => undefined): ScheduleDecision {
  if (nodes.length === 0) return { node: undefined, message: NO_NODES_MESSAGE };
  const volumes = volumePreFilter(pod, claim);
  if (volumes !== undefined) return { node: undefined, message: preFilterMessage(nodes.length, volumes) };
  const req = podRequests(pod);
  const failures: Array<Exclude<FilterResult, { fits: true }>> = [];
  const feasible: Array<{ name: string; score: number }> = [];
  for (const s of nodes) {
    const r = filterNode(pod, req, s.node, s.used, s.pods);
    const name = getString(getObject(s.node, 'metadata'), 'name') ?? '';
    if (!r.fits) {
      failures.push(r);
      continue;
    }
    const alloc = nodeAllocatable(s.node);
    const frac = (k: string) => ((s.used.get(k) ?? 0) + (req.get(k) ?? 0)) / Math.max(1, alloc.get(k) ?? 1);
    feasible.push({ name, score: (frac('cpu') + frac('memory')) / 2 });
  }
  if (feasible.length === 0) return { node: undefined, message: unschedulableMessage(failures) };
  feasible.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return { node: feasible[0].name };
}

/** Adds a pod's requests to a node's running total. */
export function addRequests(total: Resources, req: Resources): void {
  for (const [k, v] of req) total.set(k, (total.get(k) ?? 0) + v);
}
