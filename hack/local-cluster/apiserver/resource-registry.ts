import type { JsonObject, JsonValue } from './json.js';
import type { Schema } from './schema.js';
import type { FieldCause } from './status.js';

/** A column of the Table the server returns to `kubectl get`. */
export interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
  cell(obj: JsonObject, now: number): JsonValue;
}

/** Everything the server knows about one served resource in one group version. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** With a status subresource the main endpoint ignores status and /status ignores the rest. */
  statusSubresource: boolean;
  /** Custom resources: strategic merge patch is refused with 415, as the real server does. */
  custom: boolean;
  /** Structural schema of custom resources: pruning, defaults, validation and CEL rules. */
  schema?: Schema;
  /** Schema served in OpenAPI v3; a permissive one when absent. */
  openapiSchema?: JsonObject;
  columns: Column[];
  /** Subresources besides status (pods/binding, pods/log), listed in discovery. */
  subresources?: Array<{ name: string; kind: string; verbs: string[] }>;
  /** Field selectors beyond metadata.name and metadata.namespace. */
  fieldSelectors: string[];
  defaulter?: (obj: JsonObject) => void;
  /** `old` is the stored object on update (immutable fields, transition checks). */
  validator?: (obj: JsonObject, old?: JsonObject) => FieldCause[];
}

/** All versions of one resource share one storage, keyed by group and plural. */
export function storageKey(t: { group: string; plural: string }): string {
  return `${t.group}/${t.plural}`;
}

export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/**
 * Orders versions as Kubernetes does: GA before beta before alpha, higher numbers
 * first, anything that does not look like a Kubernetes version last, alphabetically.
 */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) return pb[0] - pa[0] || pb[1] - pa[1] || pb[2] - pa[2];
  if (pa) return -1;
  if (pb) return 1;
  return a.localeCompare(b);
}

export interface GroupInfo {
  name: string;
  versions: string[];
}

/** The served resources, changed at run time as CRDs come and go. */
export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  private static key(group: string, version: string, plural: string): string {
    return `${group}/${version}/${plural}`;
  }

  register(t: ResourceType): void {
    this.types.set(ResourceRegistry.key(t.group, t.version, t.plural), t);
  }

  /** Removes every version of a group's resource (a deleted or replaced CRD). */
  unregister(group: string, plural: string): void {
    for (const [k, t] of this.types) if (t.group === group && t.plural === plural) this.types.delete(k);
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(ResourceRegistry.key(group, version, plural));
  }

  /** Resource types by Kind in a group version (ownerReferences name Kinds). */
  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    for (const t of this.types.values()) if (apiVersionOf(t) === apiVersion && t.kind === kind) return t;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  resourcesIn(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.version === version);
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.all().some((t) => t.group === group && t.version === version);
  }

  /** Named groups with their versions, preferred version first. */
  groups(): GroupInfo[] {
    const byGroup = new Map<string, Set<string>>();
    for (const t of this.types.values()) {
      if (t.group === '') continue;
      const set = byGroup.get(t.group) ?? new Set<string>();
      set.add(t.version);
      byGroup.set(t.group, set);
    }
    return [...byGroup.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, versions]) => ({ name, versions: [...versions].sort(compareVersions) }));
  }
}
