import { clone, deepEqual, isObject, type JsonObject, type JsonValue } from './json.js';

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Decodes an RFC 6901 pointer into its reference tokens. */
function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}: must start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: JsonValue[], token: string, forInsert: boolean, path: string): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index ${JSON.stringify(token)} in ${path}`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) throw new PatchError(`array index ${i} out of bounds in ${path}`);
  return i;
}

/** The container holding the pointer's last token, and that token. */
function parentOf(doc: JsonValue, tokens: string[], path: string): { parent: JsonValue; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new PatchError(`path ${path} does not exist`);
  }
  return { parent: cur, last: tokens[tokens.length - 1] };
}

function getAt(doc: JsonValue, path: string): JsonValue {
  let cur = doc;
  for (const t of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new PatchError(`path ${path} does not exist`);
  }
  return cur;
}

function removeAt(doc: JsonValue, path: string): JsonValue {
  const tokens = pointer(path);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false, path), 1)[0];
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw new PatchError(`path ${path} does not exist`);
}

function addAt(doc: JsonValue, path: string, value: JsonValue, replace: boolean): JsonValue {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, !replace, path);
    parent.splice(i, replace ? 1 : 0, value);
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw new PatchError(`path ${path} does not exist`);
    parent[last] = value;
  } else throw new PatchError(`path ${path} does not exist`);
  return doc;
}

/** RFC 6902 JSON patch, applied to a copy; any failing operation fails the whole patch. */
export function jsonPatch(target: JsonValue, ops: JsonValue): JsonValue {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be a list of operations');
  let doc = clone(target);
  ops.forEach((op, i) => {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new PatchError(`operation ${i}: needs "op" and "path" strings`);
    const path = op.path;
    const from = () => {
      if (typeof op.from !== 'string') throw new PatchError(`operation ${i} (${op.op}): needs "from"`);
      return op.from;
    };
    const value = () => {
      if (!Object.hasOwn(op, 'value')) throw new PatchError(`operation ${i} (${op.op}): needs "value"`);
      return clone(op.value);
    };
    switch (op.op) {
      case 'add':
        doc = addAt(doc, path, value(), false);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'replace':
        doc = addAt(doc, path, value(), true);
        break;
      case 'move': {
        const f = from();
        if (path.startsWith(`${f}/`)) throw new PatchError(`operation ${i}: cannot move ${f} into its own child ${path}`);
        doc = addAt(doc, path, removeAt(doc, f), false);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, clone(getAt(doc, from())), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), value())) throw new PatchError(`operation ${i}: test failed at ${path}`);
        break;
      default:
        throw new PatchError(`operation ${i}: unknown op ${JSON.stringify(op.op)}`);
    }
  });
  return doc;
}

/**
 * Merge keys of the built-in list fields that kubectl's client-side apply sends as
 * strategic merge patches. Lookup is by field name (the schema-free approximation this
 * server documents); the first key present in the patch element wins (`ports` of a
 * container use containerPort, of a Service use port).
 */
const MERGE_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  ports: ['containerPort', 'port'],
  ownerReferences: ['uid'],
  conditions: ['type'],
  hostAliases: ['ip'],
  readinessGates: ['conditionType'],
  topologySpreadConstraints: ['topologyKey'],
  resourceClaims: ['name'],
  secrets: ['name'],
};

/** Primitive lists whose strategy is merge (set union) rather than replace. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, elements: JsonValue[]): string | undefined {
  const candidates = MERGE_KEYS[field];
  if (!candidates) return undefined;
  for (const c of candidates) if (elements.some((e) => isObject(e) && e[c] !== undefined)) return c;
  return candidates[0];
}

function mergeList(field: string, target: JsonValue[] | undefined, patch: JsonValue[]): JsonValue[] {
  if (patch.some((e) => isObject(e) && e.$patch === 'replace')) return patch.filter((e) => !(isObject(e) && e.$patch === 'replace')).map((e) => clone(e));
  const base = target ? clone(target) : [];
  if (MERGED_PRIMITIVE_LISTS.has(field) && patch.every((e) => !isObject(e))) {
    for (const e of patch) if (!base.some((b) => deepEqual(b, e))) base.push(clone(e));
    return base;
  }
  const key = mergeKeyFor(field, patch);
  if (!key) return patch.map((e) => clone(e));
  for (const e of patch) {
    if (!isObject(e)) continue;
    const idx = base.findIndex((b) => isObject(b) && deepEqual(b[key], e[key]));
    if (e.$patch === 'delete') {
      if (idx >= 0) base.splice(idx, 1);
    } else if (idx >= 0) base[idx] = strategicMergePatch(base[idx], e);
    else base.push(strategicMergePatch(undefined, e));
  }
  return base;
}

function reorder(list: JsonValue[], order: JsonValue[], field: string): JsonValue[] {
  const key = mergeKeyFor(field, order);
  const id = (e: JsonValue) => (key && isObject(e) ? e[key] : e);
  const ranked = order.map((o) => id(o));
  const pos = (e: JsonValue) => {
    const i = ranked.findIndex((r) => deepEqual(r, id(e)));
    return i < 0 ? ranked.length : i;
  };
  return [...list].sort((a, b) => pos(a) - pos(b));
}

/**
 * Strategic merge patch without Go type metadata: maps merge as in a merge patch, known
 * list fields merge by key, and the directives kubectl emits ($patch, $retainKeys,
 * $setElementOrder/…, $deleteFromPrimitiveList/…) are honoured.
 */
export function strategicMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'delete') return {};
  const replace = patch.$patch === 'replace';
  const out: JsonObject = isObject(target) && !replace ? clone(target) : {};
  const orders: Array<[string, JsonValue[]]> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      if (Array.isArray(v)) orders.push([k.slice('$setElementOrder/'.length), v]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((e) => !v.some((d) => deepEqual(d, e)));
      continue;
    }
    if (v === null) delete out[k];
    else if (isObject(v) && v.$patch === 'delete') delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(k, Array.isArray(out[k]) ? (out[k] as JsonValue[]) : undefined, v);
    else out[k] = strategicMergePatch(out[k], v);
  }
  for (const [field, order] of orders) {
    const cur = out[field];
    if (Array.isArray(cur)) out[field] = reorder(cur, order, field);
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}
