import { clone, deepEqual, getArray, getObject, getString, isObject, metadataOf, type JsonObject, type JsonValue } from './json.js';
import { nameSuffix, newUid, timestamp, validateMetadata } from './metadata.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { applyDefaults, prune } from './prune.js';
import { apiVersionOf, storageKey, type ResourceRegistry, type ResourceType } from './resource-registry.js';
import { matchesFields, matchesLabels, labelsOf, type FieldRequirement, type LabelRequirement } from './selectors.js';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound, unsupportedMediaType, type FieldCause } from './status.js';
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
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

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

  private requireNamespace(t: ResourceType, namespace: string): void {
    if (t.namespaced && !this.store.get(storageKey(NAMESPACES), '', namespace)) throw notFound(NAMESPACES, namespace);
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
    if (t.validator) causes.push(...t.validator(obj));
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
    const warnings = this.admit(t, next, existing, opts.fieldValidation);
    if (!deepEqual(specPart(next), specPart(existing))) meta.generation = (typeof oldMeta.generation === 'number' ? oldMeta.generation : 0) + 1;
    const { resourceVersion: _a, ...newMeta } = meta;
    const { resourceVersion: _b, ...prevMeta } = oldMeta;
    const unchanged = deepEqual({ ...next, metadata: newMeta }, { ...existing, metadata: prevMeta });
    // A no-op write keeps the resourceVersion and sends no event, so controllers do not loop on their own writes.
    if (unchanged || opts.dryRun) return { object: this.render(t, unchanged ? existing : next), warnings, created: false };
    if (meta.deletionTimestamp && (getArray(meta, 'finalizers') ?? []).length === 0) {
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

  /**
   * Deletes at once, unless finalizers remain (then deletionTimestamp is set and the last
   * finalizer's removal deletes). Dependents are left to the garbage collector, or orphaned.
   */
  delete(t: ResourceType, namespace: string, name: string, opts: DeleteOptions): JsonObject {
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
    if (opts.dryRun) return this.render(t, existing);
    if (opts.propagationPolicy === 'Orphan') this.orphanDependents(String(meta.uid));
    if ((getArray(meta, 'finalizers') ?? []).length > 0) {
      if (meta.deletionTimestamp) return this.render(t, existing);
      meta.deletionTimestamp = timestamp();
      meta.deletionGracePeriodSeconds = 0;
      return this.render(t, this.store.put(key, existing));
    }
    const gone = this.store.remove(key, ns, name);
    return this.render(t, gone ?? existing);
  }

  deleteCollection(t: ResourceType, namespace: string | undefined, sel: Selectors, opts: DeleteOptions): JsonObject[] {
    return this.list(t, namespace, sel).items.map((o) => this.delete(t, nsOf(o), nameOf(o), opts));
  }

  private orphanDependents(uid: string): void {
    for (const { key, object } of [...this.store.entries()]) {
      const refs = getArray(getObject(object, 'metadata'), 'ownerReferences');
      if (!refs?.some((r) => isObject(r) && r.uid === uid)) continue;
      const copy = clone(object);
      metadataOf(copy).ownerReferences = refs.filter((r) => !(isObject(r) && r.uid === uid));
      this.store.put(key, copy);
    }
  }
}
