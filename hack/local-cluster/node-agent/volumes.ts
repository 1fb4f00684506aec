/**
 * A pod's volumes: where each one's data lives on this machine (a directory under the
 * pod's state directory for emptyDir, Secret and ConfigMap volumes, the host path for
 * hostPath), to be bind-mounted at its mountPath inside the pod's sandbox (sandbox.ts).
 * Pure: planning and file lists here, writing and hostPath checks in materialize.ts.
 */
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { PodConfigError, podRef } from './pod-ref.js';

/** kubelet's hostPath types (pkg/volume/hostpath): checked, or created for *OrCreate. */
export type HostPathType = '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice';

export type VolumeSource =
  | { kind: 'emptyDir' }
  | { kind: 'hostPath'; path: string; type: HostPathType }
  | { kind: 'secret'; name: string; optional: boolean; defaultMode: number; items?: KeyToPath[] }
  | { kind: 'configMap'; name: string; optional: boolean; defaultMode: number; items?: KeyToPath[] };

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface MountPlan {
  volumeName: string;
  /** Where the container expects it, e.g. /var/run/cifar-operator/peer. */
  mountPath: string;
  /** Where it really is on this machine (the bind mount's source). */
  hostDir: string;
  /** Secret and ConfigMap volumes are always read-only, as the kubelet mounts them. */
  readOnly: boolean;
  source: VolumeSource;
}

/** Kubernetes' default file mode for Secret and ConfigMap volumes. */
export const DEFAULT_VOLUME_MODE = 0o644;

/** The host directory behind a bound PersistentVolumeClaim (its volume's hostPath or local path). */
export interface ClaimedPath {
  path: string;
  type: HostPathType;
  readOnly: boolean;
}

function sourceOf(pod: V1Pod, volumeName: string, claims: ReadonlyMap<string, ClaimedPath>): VolumeSource {
  const v = (pod.spec?.volumes ?? []).find((x) => x.name === volumeName);
  if (v === undefined) throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volumeMounts: volume "${volumeName}" is not in spec.volumes`, true);
  if (v.emptyDir) return { kind: 'emptyDir' };
  if (v.persistentVolumeClaim) {
    const claimed = claims.get(v.persistentVolumeClaim.claimName);
    if (!claimed) throw new PodConfigError('ContainerCreating', `pod ${podRef(pod)}: volume "${volumeName}": persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" is not resolved`);
    return { kind: 'hostPath', path: claimed.path, type: claimed.type };
  }
  if (v.hostPath) {
    const path = v.hostPath.path;
    if (!path.startsWith('/')) throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volume "${volumeName}": hostPath.path ${JSON.stringify(path)} must be absolute`, true);
    return { kind: 'hostPath', path, type: (v.hostPath.type ?? '') as HostPathType };
  }
  if (v.secret) {
    return {
      kind: 'secret',
      name: v.secret.secretName ?? '',
      optional: v.secret.optional ?? false,
      defaultMode: v.secret.defaultMode ?? DEFAULT_VOLUME_MODE,
      ...(v.secret.items ? { items: v.secret.items.map((i) => ({ key: i.key, path: i.path, ...(i.mode === undefined ? {} : { mode: i.mode }) })) } : {}),
    };
  }
  if (v.configMap) {
    return {
      kind: 'configMap',
      name: v.configMap.name ?? '',
      optional: v.configMap.optional ?? false,
      defaultMode: v.configMap.defaultMode ?? DEFAULT_VOLUME_MODE,
      ...(v.configMap.items ? { items: v.configMap.items.map((i) => ({ key: i.key, path: i.path, ...(i.mode === undefined ? {} : { mode: i.mode }) })) } : {}),
    };
  }
  throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volume "${volumeName}": only emptyDir, hostPath, persistentVolumeClaim, secret and configMap volumes are supported by the local cluster`, true);
}

function safeRelative(pod: V1Pod, what: string, path: string): string {
  if (path === '' || path.startsWith('/') || path.split('/').includes('..')) {
    throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: ${what}: path ${JSON.stringify(path)} must be relative and must not contain '..'`, true);
  }
  return path;
}

/**
 * Where each mount's data is: a directory per volume under `podDir/volumes` (subPath
 * mounts share it), or the host path itself. The mountPath must be absolute and not /.
 */
export function planMounts(pod: V1Pod, container: V1Container, podDir: string, claims: ReadonlyMap<string, ClaimedPath> = new Map()): MountPlan[] {
  return (container.volumeMounts ?? []).map((m) => {
    const mountPath = m.mountPath.replace(/\/+$/, '');
    if (!mountPath.startsWith('/') || mountPath.split('/').includes('..')) {
      throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volumeMounts ${JSON.stringify(m.mountPath)}: must be an absolute path without '..', and not /`, true);
    }
    const source = sourceOf(pod, m.name, claims);
    const claimName = (pod.spec?.volumes ?? []).find((x) => x.name === m.name)?.persistentVolumeClaim?.claimName;
    const claimReadOnly = claimName !== undefined && (claims.get(claimName)?.readOnly ?? false);
    const volumeDir = source.kind === 'hostPath' ? source.path : join(podDir, 'volumes', safeRelative(pod, `volumeMounts ${m.mountPath}`, m.name));
    return {
      volumeName: m.name,
      mountPath,
      hostDir: m.subPath ? join(volumeDir, safeRelative(pod, `volumeMounts ${m.mountPath} subPath`, m.subPath)) : volumeDir,
      readOnly: source.kind === 'secret' || source.kind === 'configMap' || claimReadOnly ? true : (m.readOnly ?? false),
      source,
    };
  });
}

export interface VolumeFile {
  /** Relative to the volume's directory. */
  path: string;
  content: Buffer;
  mode: number;
}

/**
 * The files a Secret or ConfigMap volume holds: every key, or only the listed items.
 * `data` is undefined when the object does not exist.
 */
export function volumeFiles(pod: V1Pod, plan: MountPlan, data: Readonly<Record<string, Buffer>> | undefined): VolumeFile[] {
  const source = plan.source;
  if (source.kind === 'emptyDir' || source.kind === 'hostPath') return [];
  const kind = source.kind === 'secret' ? 'secret' : 'configmap';
  if (data === undefined) {
    if (source.optional) return [];
    throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volume "${plan.volumeName}": ${kind} "${source.name}" not found`);
  }
  const items: KeyToPath[] = source.items ?? Object.keys(data).sort().map((key) => ({ key, path: key }));
  const files: VolumeFile[] = [];
  for (const item of items) {
    const content = data[item.key];
    if (content === undefined) {
      if (source.optional) continue;
      throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volume "${plan.volumeName}": key ${item.key} not found in ${kind} "${source.name}"`);
    }
    files.push({ path: safeRelative(pod, `volume "${plan.volumeName}" item ${item.key}`, item.path), content, mode: item.mode ?? source.defaultMode });
  }
  return files;
}
