import { typesFromCrd } from './crd.js';
import { getObject, getString, type JsonObject } from './json.js';
import type { ResourceRegistry } from './resource-registry.js';
import type { Store, StoreEvent } from './store.js';

export const CRD_KEY = 'apiextensions.k8s.io/customresourcedefinitions';

function groupPlural(crd: JsonObject): { group: string; plural: string } {
  const spec = getObject(crd, 'spec');
  return { group: getString(spec, 'group') ?? '', plural: getString(getObject(spec, 'names'), 'plural') ?? '' };
}

/**
 * Keeps the registry in step with stored CRDs. It runs synchronously inside the store
 * write, so a custom resource can be created the moment its CRD's POST has returned.
 * Deleting a CRD deletes its custom resources, as the real server does.
 */
export function syncCrds(store: Store, registry: ResourceRegistry): () => void {
  const onEvent = (ev: StoreEvent) => {
    if (ev.key !== CRD_KEY) return;
    if (ev.previous) {
      const before = groupPlural(ev.previous);
      registry.unregister(before.group, before.plural);
    }
    const { group, plural } = groupPlural(ev.object);
    registry.unregister(group, plural);
    if (ev.type === 'DELETED') {
      const key = `${group}/${plural}`;
      for (const o of store.list(key)) {
        const meta = getObject(o, 'metadata');
        store.remove(key, getString(meta, 'namespace') ?? '', getString(meta, 'name') ?? '');
      }
      return;
    }
    for (const t of typesFromCrd(ev.object)) registry.register(t);
  };
  return store.subscribe(onEvent);
}
