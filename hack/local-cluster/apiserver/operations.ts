import { deleteDuringUpdate, newFinalizerCauses, planDelete, supportsGracefulDeletion, type PropagationPolicy } from './deletion.js';
import { clone, deepEqual, getObject, getString, isObject, metadataOf, type JsonObject, type JsonValue } from './json.js';
import { nameSuffix, newUid, timestamp, validateMetadata } from './metadata.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { applyDefaults, prune } from './prune.js';
import { apiVersionOf, storageKey, type ResourceRegistry, type ResourceType } from './resource-registry.js';
import { matchesFields, matchesLabels, labelsOf, type FieldRequirement, type LabelRequirement } from './selectors.js';
import { ApiError, alreadyExists, badRequest, conflict, forbidden, invalid, notFound, unsupportedMediaType, type FieldCause } from './status.js';
import type { Store } from './store.js';
import { validate } from './validation.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun: boolean;
  fieldValidation: FieldValidation;
}

export interface WriteResult {
  object: JsonObject;
  /** Sent back as `Warning` headers (unknown fields under fieldValidation=Warn). */
  warnings: string[];
  created: boolean;
}

export interface DeleteOptions {
  dryRun: boolean;
  propagationPolicy?: PropagationPolicy;
  /** Deprecated boolean form of propagationPolicy, still honoured by the real server. */
  orphanDependents?: boolean;
  /** Pods only: overrides spec.terminationGracePeriodSeconds; 0 removes at once. */
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  object: JsonObject;
  /** False while a grace period or finalizers keep the object (the handler may answer 202). */
  deleted: boolean;
}

/** Namespaces the NamespaceLifecycle admission plugin refuses to delete. */
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export interface Selectors {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

const NAMESPACES = { group: '', plural: 'namespaces' };
const NAME_ATTEMPTS = 8;

function nsOf(obj: JsonObject): string {
  return getString(getObject(obj, 'metadata'), 'namespace') ?? '';
}

function nameOf(obj: JsonObject): string {
  return getString(getObject(obj, 'metadata'), 'name') ?? '';
}

/** Everything but metadata and status: what the generation counts. */
function specPart(obj: JsonObject): JsonObject {
  const { metadata: _m, status: _s, resourceVersion: _rv, ...rest } = obj;
  return rest;
}

/**
 * The API semantics over the store: names, uids, generations, resourceVersion
 * preconditions, the status subresource, schemas and CEL rules, patches, deletion.
 */
export class Operations {
  constructor(
    readonly store: Store,
    readonly registry: ResourceRegistry,
  ) {}

  /** The object as served in `t`'s version (all versions share storage, without conversion). */
  render(t: ResourceType, obj: JsonObject): JsonObject {
    const { apiVersion: _v, kind: _k, ...rest } = obj;
    return { apiVersion: apiVersionOf(t), kind: t.kind, ...rest };
  }

  get(t: ResourceType, namespace: string, name: string): JsonObject {
    const obj = this.store.get(storageKey(t), t.namespaced ? namespace : '', name);
    if (!obj) throw notFound(t, name);
    return this.render(t, obj);
  }

  list(t: ResourceType, namespace: string | undefined, sel: Selectors): { items: JsonObject[]; resourceVersion: string } {
    const resourceVersion = String(this.store.resourceVersion);
    const items = this.store
      .list(storageKey(t), t.namespaced ? namespace : undefined)
      .filter((o) => matchesLabels(sel.labels, labelsOf(o)) && matchesFields(sel.fields, o))
      .map((o) => this.render(t, o));
    return { items, resourceVersion };
  }

  /** The namespace must exist and not be terminating (NamespaceLifecycle admission). */
  private requireNamespace(t: ResourceType, namespace: string): void {
    if (!t.namespaced) return;
    const ns = this.store.get(storageKey(NAMESPACES), '', namespace);
    if (!ns) throw notFound(NAMESPACES, namespace);
    if (getObject(ns, 'metadata')?.deletionTimestamp) {
      throw forbidden(t, '', `unable to create new content in namespace ${namespace} because it is being terminated`, { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' });
    }
  }

  /** Body checks shared by create and update: kind, apiVersion and namespace agree with the URL. */
  private normalise(t: ResourceType, namespace: string, body: JsonValue): JsonObject {
    if (!isObject(body)) throw badRequest(`the body of the request must be a ${t.kind} object`);
    const obj = clone(body);
    if (obj.kind !== undefined && obj.kind !== t.kind) throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${t.kind})`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(t)) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(t)})`);
    }
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    const meta = metadataOf(obj);
    if (t.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else delete meta.namespace;
    return obj;
  }

  /** Pruning, defaults, schema, CEL and built-in checks; throws 400 or 422, returns warnings. */
  private admit(t: ResourceType, obj: JsonObject, old: JsonObject | undefined, fieldValidation: FieldValidation): string[] {
    const warnings: string[] = [];
    if (t.schema) {
      const unknown = prune(obj, t.schema);
      if (unknown.length > 0 && fieldValidation === 'Strict') {
        throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
      }
      if (fieldValidation === 'Warn') warnings.push(...unknown.map((u) => `unknown field "${u}"`));
      applyDefaults(obj, t.schema);
    }
    t.defaulter?.(obj);
    const meta = metadataOf(obj);
    const causes: FieldCause[] = validateMetadata(meta, t.plural === 'namespaces');
    if (t.schema) validate(obj, t.schema, '', causes, old, true);
    if (t.validator) causes.push(...t.validator(obj, old));
    if (causes.length > 0) throw invalid(t.kind, t.group, typeof meta.name === 'string' ? meta.name : '', causes);
    return warnings;
  }

  create(t: ResourceType, namespace: string, body: JsonValue, opts: WriteOptions): WriteResult {
    const obj = this.normalise(t, namespace, body);
    this.requireNamespace(t, namespace);
    const meta = metadataOf(obj);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') throw badRequest('resourceVersion should not be set on objects to be created');
    const key = storageKey(t);
    const ns = t.namespaced ? namespace : '';
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
      for (let i = 0; i < NAME_ATTEMPTS; i++) {
        const candidate = `${meta.generateName}${nameSuffix()}`;
        if (!this.store.get(key, ns, candidate)) {
          meta.name = candidate;
          break;
        }
      }
    }
    // The status of a resource with a status subresource is the controller's, never the creator's.
    if (t.statusSubresource) delete obj.status;
    meta.uid = newUid();
    meta.creationTimestamp = timestamp();
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    const warnings = this.admit(t, obj, undefined, opts.fieldValidation);
    const name = String(meta.name);
    if (this.store.get(key, ns, name)) throw alreadyExists(t, name);
    if (opts.dryRun) return { object: this.render(t, obj), warnings, created: true };
    return { object: this.render(t, this.store.put(key, obj)), warnings, created: true };
  }

  /** PUT of the object or of its status subresource. */
  update(t: ResourceType, namespace: string, name: string, body: JsonValue, opts: WriteOptions, subresource?: 'status'): WriteResult {
    const obj = this.normalise(t, namespace, body);
    const bodyName = metadataOf(obj).name;
    if (bodyName !== undefined && bodyName !== name) throw badRequest(`the name of the object (${String(bodyName)}) does not match the name on the URL (${name})`);
    metadataOf(obj).name = name;
    const existing = this.store.get(storageKey(t), t.namespaced ? namespace : '', name);
    if (!existing) throw notFound(t, name);
    return this.replace(t, existing, obj, opts, subresource);
  }

  private replace(t: ResourceType, existing: JsonObject, incoming: JsonObject, opts: WriteOptions, subresource?: 'status'): WriteResult {
    const name = nameOf(existing);
    const oldMeta = metadataOf(existing);
    const inMeta = metadataOf(incoming);
    if (inMeta.resourceVersion !== undefined && inMeta.resourceVersion !== '' && inMeta.resourceVersion !== oldMeta.resourceVersion) throw conflict(t, name);
    if (inMeta.uid !== undefined && inMeta.uid !== '' && inMeta.uid !== oldMeta.uid) {
      throw conflict(t, name, `Precondition failed: UID in precondition: ${String(inMeta.uid)}, UID in object meta: ${String(oldMeta.uid)}`);
    }
    let next: JsonObject;
    if (subresource === 'status') {
      next = clone(existing);
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
    } else {
      next = incoming;
      if (t.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = clone(existing.status);
      }
    }
    const meta = metadataOf(next);
    // Identity and bookkeeping fields belong to the server.
    for (const k of ['uid', 'creationTimestamp', 'namespace', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'resourceVersion']) {
      if (oldMeta[k] === undefined) delete meta[k];
      else meta[k] = oldMeta[k];
    }
    const finalizerCauses = newFinalizerCauses(next, existing);
    if (finalizerCauses.length > 0) throw invalid(t.kind, t.group, name, finalizerCauses);
    const warnings = this.admit(t, next, existing, opts.fieldValidation);
    if (!deepEqual(specPart(next), specPart(existing))) meta.generation = (typeof oldMeta.generation === 'number' ? oldMeta.generation : 0) + 1;
    const { resourceVersion: _a, ...newMeta } = meta;
    const { resourceVersion: _b, ...prevMeta } = oldMeta;
    const unchanged = deepEqual({ ...next, metadata: newMeta }, { ...existing, metadata: prevMeta });
    // A no-op write keeps the resourceVersion and sends no event, so controllers do not loop on their own writes.
    if (unchanged || opts.dryRun) return { object: this.render(t, unchanged ? existing : next), warnings, created: false };
    if (deleteDuringUpdate(next, existing)) {
      this.store.remove(storageKey(t), nsOf(next), name);
      return { object: this.render(t, next), warnings, created: false };
    }
    return { object: this.render(t, this.store.put(storageKey(t), next)), warnings, created: false };
  }

  patch(t: ResourceType, namespace: string, name: string, contentType: string, patchBody: JsonValue, opts: WriteOptions, subresource?: 'status'): WriteResult {
    const existing = this.store.get(storageKey(t), t.namespaced ? namespace : '', name);
    if (!existing) throw notFound(t, name);
    const current = this.render(t, existing);
    let patched: JsonValue;
    try {
      switch (contentType) {
        case 'application/merge-patch+json':
          patched = mergePatch(current, patchBody);
          break;
        case 'application/json-patch+json':
          patched = jsonPatch(current, patchBody);
          break;
        case 'application/strategic-merge-patch+json':
          if (t.custom) throw unsupportedMediaType(contentType);
          patched = strategicMergePatch(current, patchBody);
          break;
        default:
          throw unsupportedMediaType(contentType);
      }
    } catch (err) {
      if (err instanceof PatchError) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`);
      throw err;
    }
    const obj = this.normalise(t, namespace, patched);
    if (metadataOf(obj).name !== name) throw badRequest(`the name of the object (${String(metadataOf(obj).name)}) does not match the name on the URL (${name})`);
    return this.replace(t, existing, obj, opts, subresource);
  }

  /** The deleted (or now terminating) object, as DELETE answers it. */
  delete(t: ResourceType, namespace: string, name: string, opts: DeleteOptions): JsonObject {
    return this.remove(t, namespace, name, opts).object;
  }

  /**
   * DELETE as the generic registry store does it (see deletion.ts): pods get a grace
   * period (deletionTimestamp in the future, removed when their kubelet deletes them with
   * grace 0), finalizers hold any object, Orphan and Foreground add the garbage
   * collector's finalizers. A namespace turns Terminating until its contents are gone.
   */
  remove(t: ResourceType, namespace: string, name: string, opts: DeleteOptions): DeleteResult {
    const key = storageKey(t);
    const ns = t.namespaced ? namespace : '';
    const existing = this.store.get(key, ns, name);
    if (!existing) throw notFound(t, name);
    const meta = metadataOf(existing);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== meta.uid) throw conflict(t, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta.uid)}`);
    if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
      throw conflict(t, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`);
    }
    if (storageKey(t) === storageKey(NAMESPACES)) return this.removeNamespace(t, existing, opts);
    const outcome = planDelete(existing, supportsGracefulDeletion(t.group, t.plural), opts);
    if (outcome.action === 'pending') return { object: this.render(t, existing), deleted: false };
    if (outcome.action === 'update') {
      if (opts.dryRun || deepEqual(outcome.object, existing)) return { object: this.render(t, opts.dryRun ? outcome.object : existing), deleted: false };
      return { object: this.render(t, this.store.put(key, outcome.object)), deleted: false };
    }
    if (opts.dryRun) return { object: this.render(t, existing), deleted: true };
    const gone = this.store.remove(key, ns, name);
    return { object: this.render(t, gone ?? existing), deleted: true };
  }

  /** Namespace deletion: phase Terminating; the namespace controller (gc.ts) empties and removes it. */
  private removeNamespace(t: ResourceType, existing: JsonObject, opts: DeleteOptions): DeleteResult {
    const name = nameOf(existing);
    if (PROTECTED_NAMESPACES.has(name)) throw forbidden(t, name, 'this namespace may not be deleted');
    const next = clone(existing);
    const meta = metadataOf(next);
    if (typeof meta.deletionTimestamp === 'string') return { object: this.render(t, existing), deleted: false };
    meta.deletionTimestamp = timestamp();
    meta.deletionGracePeriodSeconds = 0;
    next.status = { ...(getObject(next, 'status') ?? {}), phase: 'Terminating' };
    if (opts.dryRun) return { object: this.render(t, next), deleted: false };
    return { object: this.render(t, this.store.put(storageKey(t), next)), deleted: false };
  }

  /**
   * POST pods/{name}/binding, as the scheduler binds (pkg/registry/core/pod/storage
   * BindingREST): sets spec.nodeName once, merges the binding's annotations and sets
   * PodScheduled=True. A bound or terminating pod answers 409 Conflict.
   */
  bind(podType: ResourceType, namespace: string, name: string, body: JsonValue, opts: WriteOptions): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request must be a Binding object');
    const bmeta = getObject(body, 'metadata') ?? {};
    const target = getObject(body, 'target') ?? {};
    const bindingName = getString(bmeta, 'name') ?? name;
    if (bindingName !== name) throw badRequest(`the name of the object (${bindingName}) does not match the name on the URL (${name})`);
    const causes: FieldCause[] = [];
    const kind = getString(target, 'kind') ?? '';
    if (kind !== '' && kind !== 'Node' && kind !== 'Minion') causes.push({ reason: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: ${JSON.stringify(kind)}: supported values: "Node", "Minion"` });
    const node = getString(target, 'name') ?? '';
    if (node === '') causes.push({ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' });
    if (causes.length > 0) throw invalid('Binding', '', name, causes);
    const key = storageKey(podType);
    const pod = this.store.get(key, namespace, name);
    if (!pod) throw notFound(podType, name);
    const meta = metadataOf(pod);
    const bindingConflict = (why: string) => conflict({ group: '', plural: 'pods/binding' }, name, why);
    const uid = getString(bmeta, 'uid');
    if (uid && uid !== meta.uid) throw bindingConflict(`the UID in the bind request (${uid}) does not match the UID of the pod (${String(meta.uid)})`);
    if (meta.deletionTimestamp) throw bindingConflict(`pod ${name} is being deleted, cannot be assigned to a host`);
    const spec = getObject(pod, 'spec') ?? {};
    const current = getString(spec, 'nodeName') ?? '';
    if (current !== '') throw bindingConflict(`pod ${name} is already assigned to node ${JSON.stringify(current)}`);
    spec.nodeName = node;
    pod.spec = spec;
    const annotations = getObject(bmeta, 'annotations');
    if (annotations) meta.annotations = { ...(getObject(meta, 'annotations') ?? {}), ...annotations };
    const status = getObject(pod, 'status') ?? {};
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(isObject);
    const scheduled = conditions.find((c) => c.type === 'PodScheduled');
    const now = timestamp();
    if (scheduled) {
      if (scheduled.status !== 'True') scheduled.lastTransitionTime = now;
      scheduled.status = 'True';
      delete scheduled.reason;
      delete scheduled.message;
    } else conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now });
    status.conditions = conditions;
    pod.status = status;
    if (!opts.dryRun) this.store.put(key, pod);
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  }

  /**
   * A controller's metadata update (garbage collector, namespace controller): `change`
   * edits the current metadata; removing the last finalizer deletes as an update would.
   */
  updateMetadata(t: ResourceType, namespace: string, name: string, uid: string, change: (meta: JsonObject) => void): void {
    const key = storageKey(t);
    const ns = t.namespaced ? namespace : '';
    const existing = this.store.get(key, ns, name);
    if (!existing) throw notFound(t, name);
    if (uid !== '' && metadataOf(existing).uid !== uid) throw conflict(t, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(metadataOf(existing).uid)}`);
    const next = clone(existing);
    change(metadataOf(next));
    if (deepEqual(next, existing)) return;
    if (deleteDuringUpdate(next, existing)) this.store.remove(key, ns, name);
    else this.store.put(key, next);
  }

  deleteCollection(t: ResourceType, namespace: string | undefined, sel: Selectors, opts: DeleteOptions): JsonObject[] {
    return this.list(t, namespace, sel).items.map((o) => this.delete(t, nsOf(o), nameOf(o), opts));
  }
}
