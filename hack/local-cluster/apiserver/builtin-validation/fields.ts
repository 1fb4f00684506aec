/**
 * The fields a built-in kind has, as a typeless structural schema (types are checked by
 * openapi.ts, with the real server's decode errors), so the server prunes unknown fields of
 * pods, services, secrets, events and leases exactly as it does for custom resources:
 * dropped with a warning by default, refused under fieldValidation=Strict (the real server's
 * strict JSON decoding into its Go types). The field lists are the Kubernetes OpenAPI models
 * generated into @kubernetes/client-node.
 */
import type { Schema } from '../schema.js';

interface Attribute {
  baseName: string;
  type: string;
}

type Model = { attributeTypeMap?: Attribute[] } | undefined;

export const MODEL_ROOTS = ['V1Pod', 'V1Service', 'V1Secret', 'CoreV1Event', 'V1Lease', 'V1EndpointSlice'];

/**
 * Loads the model classes the roots reach, one file each: importing the whole client (or its
 * `all.js`) would add seconds to the server's start.
 */
async function loadModels(roots: string[]): Promise<Map<string, Model>> {
  const models = new Map<string, Model>();
  let frontier = roots;
  while (frontier.length > 0) {
    const loaded = await Promise.all(
      frontier.map(async (name): Promise<[string, Model]> => {
        try {
          const mod = (await import(`@kubernetes/client-node/dist/gen/models/${name}.js`)) as Record<string, Model>;
          return [name, mod[name]];
        } catch {
          return [name, undefined];
        }
      }),
    );
    const next = new Set<string>();
    for (const [name, model] of loaded) {
      models.set(name, model);
      for (const a of model?.attributeTypeMap ?? []) {
        for (const ref of a.type.match(/[A-Z][A-Za-z0-9]+/g) ?? []) if (!models.has(ref) && /^(V\d|Core|Events)/.test(ref)) next.add(ref);
      }
    }
    frontier = [...next].filter((n) => !models.has(n));
  }
  return models;
}

const models = await loadModels(MODEL_ROOTS);
const built = new Map<string, Schema>();

/** The schema of one model type string: `V1PodSpec`, `Array<V1Container>`, `{ [key: string]: string; }`, scalars. */
function schemaOfType(type: string): Schema {
  const list = /^Array<(.+)>$/.exec(type);
  if (list) return { items: schemaOfType(list[1]), source: {} };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { additionalProperties: schemaOfType(map[1]), source: {} };
  if (type === 'any' || type === 'object') return { preserveUnknownFields: true, source: {} };
  const attributes = models.get(type)?.attributeTypeMap;
  if (!attributes) return { source: {} };
  let s = built.get(type);
  if (!s) {
    // Registered before its properties are filled so recursive types terminate.
    s = { properties: {}, source: {} };
    built.set(type, s);
    for (const a of attributes) (s.properties as Record<string, Schema>)[a.baseName] = schemaOfType(a.type);
  }
  return s;
}

/** The pruning schema of a built-in kind (`V1Pod`, `V1Lease`, `CoreV1Event`). */
export function fieldSchema(modelClass: string): Schema {
  if (!models.get(modelClass)?.attributeTypeMap) throw new Error(`fieldSchema: @kubernetes/client-node has no model ${modelClass}`);
  return schemaOfType(modelClass);
}
