/**
 * PersistentVolumes (cluster-scoped) and PersistentVolumeClaims (namespaced), core/v1,
 * with the columns `kubectl get pv,pvc` prints. The local cluster binds claims to volumes
 * (volume-binder.ts); a node agent mounts a bound claim's hostPath or local directory.
 */
import { getArray, getObject, getString, type JsonObject, type JsonValue } from './json.js';
import type { Column, ResourceType } from './resource-registry.js';
import { ageColumn } from './table.js';

function column(name: string, cell: (o: JsonObject) => JsonValue, priority = 0): Column {
  return { name, type: 'string', format: '', description: name, priority, cell };
}

const MODES: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

/** kubectl's short access modes: RWO,ROX,RWX,RWOP. */
function accessModes(o: JsonObject, from: 'spec' | 'status'): string {
  const modes = (getArray(getObject(o, from), 'accessModes') ?? []).filter((m): m is string => typeof m === 'string');
  return modes.map((m) => MODES[m] ?? m).join(',');
}

function claimOf(pv: JsonObject): string {
  const ref = getObject(getObject(pv, 'spec'), 'claimRef');
  return ref ? `${getString(ref, 'namespace') ?? ''}/${getString(ref, 'name') ?? ''}` : '';
}

function base(kind: string, plural: string, singular: string, namespaced: boolean, shortName: string): Omit<ResourceType, 'columns'> {
  return { group: '', version: 'v1', kind, listKind: `${kind}List`, plural, singular, namespaced, shortNames: [shortName], categories: [], statusSubresource: true, custom: false, fieldSelectors: [] };
}

export function storageResourceTypes(): ResourceType[] {
  return [
    {
      ...base('PersistentVolume', 'persistentvolumes', 'persistentvolume', false, 'pv'),
      defaulter: (pv) => {
        const spec = getObject(pv, 'spec') ?? {};
        spec.persistentVolumeReclaimPolicy ??= 'Retain';
        spec.volumeMode ??= 'Filesystem';
        pv.spec = spec;
        const status = getObject(pv, 'status') ?? {};
        status.phase ??= 'Pending';
        pv.status = status;
      },
      columns: [
        column('Capacity', (o) => getString(getObject(getObject(o, 'spec'), 'capacity'), 'storage') ?? ''),
        column('Access Modes', (o) => accessModes(o, 'spec')),
        column('Reclaim Policy', (o) => getString(getObject(o, 'spec'), 'persistentVolumeReclaimPolicy') ?? ''),
        column('Status', (o) => getString(getObject(o, 'status'), 'phase') ?? ''),
        column('Claim', claimOf),
        column('StorageClass', (o) => getString(getObject(o, 'spec'), 'storageClassName') ?? ''),
        column('VolumeAttributesClass', () => '<unset>'),
        column('Reason', (o) => getString(getObject(o, 'status'), 'reason') ?? ''),
        ageColumn,
      ],
    },
    {
      ...base('PersistentVolumeClaim', 'persistentvolumeclaims', 'persistentvolumeclaim', true, 'pvc'),
      defaulter: (pvc) => {
        const spec = getObject(pvc, 'spec') ?? {};
        spec.volumeMode ??= 'Filesystem';
        pvc.spec = spec;
        const status = getObject(pvc, 'status') ?? {};
        status.phase ??= 'Pending';
        pvc.status = status;
      },
      columns: [
        column('Status', (o) => getString(getObject(o, 'status'), 'phase') ?? ''),
        column('Volume', (o) => getString(getObject(o, 'spec'), 'volumeName') ?? ''),
        column('Capacity', (o) => getString(getObject(getObject(o, 'status'), 'capacity'), 'storage') ?? ''),
        column('Access Modes', (o) => accessModes(o, 'status')),
        column('StorageClass', (o) => getString(getObject(o, 'spec'), 'storageClassName') ?? ''),
        column('VolumeAttributesClass', () => '<unset>'),
        ageColumn,
      ],
    },
  ];
}
