/**
 * The PersistentVolume controller of kube-controller-manager, reduced to static
 * provisioning (pkg/controller/volume/persistentvolume, and
 * https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding): a Pending
 * claim is bound to the smallest Available volume of its storage class whose access
 * modes include the claim's and whose capacity covers its request (or to the volume its
 * spec.volumeName names); both turn Bound. A volume whose claim is deleted is Released
 * (Retain) or deleted (Delete). There is no dynamic provisioning.
 */
import { getArray, getObject, getString, isObject, type JsonObject } from './json.js';
import type { Operations } from './operations.js';
import { wholeValue } from './quantity.js';
import { storageKey } from './resource-registry.js';

const PVS = { group: '', plural: 'persistentvolumes' };
const PVCS = { group: '', plural: 'persistentvolumeclaims' };

export interface VolumeBinder {
  idle(): Promise<void>;
  stop(): void;
}

function meta(o: JsonObject): JsonObject {
  return getObject(o, 'metadata') ?? {};
}

function strings(o: JsonObject | undefined, key: string): string[] {
  return (getArray(o, key) ?? []).filter((x): x is string => typeof x === 'string');
}

function storage(o: JsonObject | undefined): number {
  const q = getString(o, 'storage') ?? (typeof o?.storage === 'number' ? String(o.storage) : undefined);
  try {
    return q === undefined ? 0 : wholeValue(q);
  } catch {
    return 0;
  }
}

function selectorMatches(selector: JsonObject | undefined, labels: JsonObject): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(getObject(selector, 'matchLabels') ?? {})) if (labels[k] !== v) return false;
  return (getArray(selector, 'matchExpressions') ?? []).filter(isObject).every((e) => {
    const value = labels[getString(e, 'key') ?? ''];
    const values = strings(e, 'values');
    switch (getString(e, 'operator')) {
      case 'In':
        return typeof value === 'string' && values.includes(value);
      case 'NotIn':
        return typeof value !== 'string' || !values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
}

/** Whether `pv` can serve `pvc` (class, mode, access modes, size, selector, pre-binding). Pure. */
export function volumeMatches(pv: JsonObject, pvc: JsonObject): boolean {
  const pvSpec = getObject(pv, 'spec') ?? {};
  const spec = getObject(pvc, 'spec') ?? {};
  const ref = getObject(pvSpec, 'claimRef');
  if (ref && !(getString(ref, 'name') === getString(meta(pvc), 'name') && getString(ref, 'namespace') === getString(meta(pvc), 'namespace') && (!getString(ref, 'uid') || getString(ref, 'uid') === getString(meta(pvc), 'uid')))) return false;
  if (!ref && getString(getObject(pv, 'status'), 'phase') !== 'Available') return false;
  if ((getString(pvSpec, 'storageClassName') ?? '') !== (getString(spec, 'storageClassName') ?? '')) return false;
  if ((getString(pvSpec, 'volumeMode') ?? 'Filesystem') !== (getString(spec, 'volumeMode') ?? 'Filesystem')) return false;
  const offered = strings(pvSpec, 'accessModes');
  if (!strings(spec, 'accessModes').every((m) => offered.includes(m))) return false;
  if (storage(getObject(pvSpec, 'capacity')) < storage(getObject(getObject(spec, 'resources'), 'requests'))) return false;
  return selectorMatches(getObject(spec, 'selector'), getObject(meta(pv), 'labels') ?? {});
}

/** The volume for a claim: the one it names, else the smallest match. Pure. */
export function chooseVolume(pvc: JsonObject, pvs: readonly JsonObject[]): JsonObject | undefined {
  const named = getString(getObject(pvc, 'spec'), 'volumeName');
  const candidates = pvs.filter((pv) => (named ? getString(meta(pv), 'name') === named : true) && volumeMatches(pv, pvc));
  return candidates.sort((a, b) => storage(getObject(getObject(a, 'spec'), 'capacity')) - storage(getObject(getObject(b, 'spec'), 'capacity')))[0];
}

export function startVolumeBinder(ops: Operations, log: (line: string) => void = () => undefined): VolumeBinder {
  const store = ops.store;
  let pending: Promise<void> | undefined;
  let stopped = false;

  const put = (key: string, next: JsonObject, prev: JsonObject): void => {
    if (JSON.stringify(next) !== JSON.stringify(prev)) store.put(key, next);
  };

  const pass = (): void => {
    pending = undefined;
    if (stopped) return;
    const claims = store.list(storageKey(PVCS));
    const claimUids = new Set(claims.map((c) => getString(meta(c), 'uid')));
    // Volumes: Pending → Available; a claim gone → Released (Retain) or deleted (Delete).
    for (const pv of store.list(storageKey(PVS))) {
      const spec = getObject(pv, 'spec') ?? {};
      const ref = getObject(spec, 'claimRef');
      const phase = getString(getObject(pv, 'status'), 'phase');
      const next = structuredClone(pv);
      if (ref && getString(ref, 'uid') && !claimUids.has(getString(ref, 'uid')) && phase === 'Bound') {
        if (getString(spec, 'persistentVolumeReclaimPolicy') === 'Delete') {
          store.remove(storageKey(PVS), '', getString(meta(pv), 'name') ?? '');
          log(`volume binder: deleted volume ${String(meta(pv).name)} (its claim is gone, reclaim policy Delete)`);
          continue;
        }
        next.status = { ...(getObject(pv, 'status') ?? {}), phase: 'Released' };
      } else if (!ref && phase !== 'Available') next.status = { ...(getObject(pv, 'status') ?? {}), phase: 'Available' };
      put(storageKey(PVS), next, pv);
    }
    for (const pvc of claims) {
      if (getString(getObject(pvc, 'status'), 'phase') === 'Bound' || meta(pvc).deletionTimestamp) continue;
      const pv = chooseVolume(pvc, store.list(storageKey(PVS)));
      if (!pv) continue;
      const m = meta(pvc);
      const pvNext = structuredClone(pv);
      const pvSpec = getObject(pvNext, 'spec') ?? {};
      pvSpec.claimRef = { kind: 'PersistentVolumeClaim', namespace: getString(m, 'namespace') ?? '', name: getString(m, 'name') ?? '', uid: getString(m, 'uid') ?? '', apiVersion: 'v1', resourceVersion: getString(m, 'resourceVersion') ?? '' };
      pvNext.spec = pvSpec;
      pvNext.status = { ...(getObject(pv, 'status') ?? {}), phase: 'Bound' };
      const pvMeta = meta(pvNext);
      pvMeta.annotations = { ...(getObject(pvMeta, 'annotations') ?? {}), 'pv.kubernetes.io/bound-by-controller': 'yes' };
      put(storageKey(PVS), pvNext, pv);
      const next = structuredClone(pvc);
      const spec = getObject(next, 'spec') ?? {};
      spec.volumeName = getString(meta(pv), 'name') ?? '';
      next.spec = spec;
      const nm = meta(next);
      nm.annotations = { ...(getObject(nm, 'annotations') ?? {}), 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' };
      next.status = { phase: 'Bound', accessModes: getArray(pvSpec, 'accessModes') ?? [], capacity: getObject(pvSpec, 'capacity') ?? {} };
      put(storageKey(PVCS), next, pvc);
      log(`volume binder: bound claim ${String(m.namespace)}/${String(m.name)} to volume ${String(meta(pv).name)}`);
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
    if (ev.key === storageKey(PVS) || ev.key === storageKey(PVCS)) schedulePass();
  });
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
