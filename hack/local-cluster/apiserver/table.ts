import { isObject, type JsonObject, type JsonValue } from './json.js';
import type { Column, ResourceType } from './resource-registry.js';

/** Media type parameters kubectl sends to ask for server-side printing. */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /;\s*as=Table/.test(part) && /;\s*g=meta\.k8s\.io/.test(part));
}

/** Kubernetes' short human durations: 45s, 3m12s, 5h, 2d3h, 400d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

export function age(obj: JsonObject, now: number): string {
  const ts = isObject(obj.metadata) ? obj.metadata.creationTimestamp : undefined;
  return typeof ts === 'string' ? humanDuration(now - Date.parse(ts)) : '<unknown>';
}

/**
 * Evaluates the simple JSONPaths of additionalPrinterColumns: `.a.b`, `.a[0].b`,
 * `.a[*].b` and `.a[?(@.type=="Ready")].status`. Several matches are joined with commas.
 */
export function evalJsonPath(obj: JsonValue, path: string): JsonValue | undefined {
  const tokens = path.replace(/^\{|\}$/g, '').trim().match(/\.[A-Za-z0-9_-]+|\[[^\]]*\]/g) ?? [];
  let cur: JsonValue[] = [obj];
  for (const tok of tokens) {
    const next: JsonValue[] = [];
    for (const v of cur) {
      if (tok.startsWith('.')) {
        if (isObject(v) && v[tok.slice(1)] !== undefined) next.push(v[tok.slice(1)]);
      } else if (Array.isArray(v)) {
        const inner = tok.slice(1, -1);
        const filter = /^\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)$/.exec(inner);
        if (inner === '*') next.push(...v);
        else if (filter) next.push(...v.filter((x) => isObject(x) && String(x[filter[1]]) === filter[2]));
        else if (/^-?\d+$/.test(inner)) {
          const i = Number(inner);
          const x = v[i < 0 ? v.length + i : i];
          if (x !== undefined) next.push(x);
        }
      } else if (isObject(v)) {
        const key = tok.slice(1, -1).replace(/^['"]|['"]$/g, '');
        if (v[key] !== undefined) next.push(v[key]);
      }
    }
    cur = next;
  }
  if (cur.length === 0) return undefined;
  if (cur.length === 1) return cur[0];
  return cur.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',');
}

/** A printer column from a CRD's additionalPrinterColumns entry. */
export function crdColumn(spec: JsonObject): Column | undefined {
  const { name, jsonPath } = spec;
  if (typeof name !== 'string' || typeof jsonPath !== 'string') return undefined;
  const type = typeof spec.type === 'string' && ['string', 'integer', 'number', 'boolean', 'date'].includes(spec.type) ? (spec.type as Column['type']) : 'string';
  return {
    name,
    type,
    format: typeof spec.format === 'string' ? spec.format : '',
    description: typeof spec.description === 'string' ? spec.description : '',
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    cell(obj, now) {
      const v = evalJsonPath(obj, jsonPath);
      if (v === undefined) return null;
      // The server renders dates as ages, which is what `kubectl get` shows.
      if (type === 'date' && typeof v === 'string' && !Number.isNaN(Date.parse(v))) return humanDuration(now - Date.parse(v));
      return v;
    },
  };
}

export const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: age,
};

function partialMetadata(obj: JsonObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: isObject(obj.metadata) ? obj.metadata : {} };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** A meta.k8s.io/v1 Table of the given objects: Name first, then the type's columns. */
export function toTable(t: ResourceType, objects: JsonObject[], listMeta: JsonObject, include: IncludeObject, withDefinitions = true): JsonObject {
  const now = Date.now();
  const columns = t.columns;
  const nameColumn = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withDefinitions ? [nameColumn, ...columns.map((c) => ({ name: c.name, type: c.type, format: c.format, description: c.description, priority: c.priority }))] : [],
    rows: objects.map((o) => {
      const row: JsonObject = { cells: [isObject(o.metadata) && typeof o.metadata.name === 'string' ? o.metadata.name : '', ...columns.map((c) => c.cell(o, now))] };
      if (include === 'Object') row.object = o;
      else if (include === 'Metadata') row.object = partialMetadata(o);
      return row;
    }),
  };
}
