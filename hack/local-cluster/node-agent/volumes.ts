/**
 * Volumes without mounts. A local process cannot mount anything at /var/run/... or /tmp,
 * so each mounted volume becomes a directory under the pod's state directory, and paths
 * that start with a mountPath are rewritten to that directory (see `mapMountedPath`).
 * Pure: planning and file lists here, writing in materialize.ts.
 */
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { PodConfigError, podRef } from './pod-ref.js';

export type VolumeSource =
  | { kind: 'emptyDir' }
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
  /** Where it really is on this machine. */
  hostDir: string;
  readOnly: boolean;
  source: VolumeSource;
}

/** Kubernetes' default file mode for Secret and ConfigMap volumes. */
export const DEFAULT_VOLUME_MODE = 0o644;

function sourceOf(pod: V1Pod, volumeName: string): VolumeSource {
  const v = (pod.spec?.volumes ?? []).find((x) => x.name === volumeName);
  if (v === undefined) throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volumeMounts: volume "${volumeName}" is not in spec.volumes`, true);
  if (v.emptyDir) return { kind: 'emptyDir' };
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
  throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: volume "${volumeName}": only emptyDir, secret and configMap volumes are supported by the local cluster`, true);
}

function safeRelative(pod: V1Pod, what: string, path: string): string {
  if (path === '' || path.startsWith('/') || path.split('/').includes('..')) {
    throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: ${what}: path ${JSON.stringify(path)} must be relative and must not contain '..'`, true);
  }
  return path;
}

/** One directory per mounted volume under `podDir/volumes`; subPath mounts share their volume's directory. */
export function planMounts(pod: V1Pod, container: V1Container, podDir: string): MountPlan[] {
  return (container.volumeMounts ?? []).map((m) => {
    const volumeDir = join(podDir, 'volumes', safeRelative(pod, `volumeMounts ${m.mountPath}`, m.name));
    return {
      volumeName: m.name,
      mountPath: m.mountPath.replace(/\/+$/, '') || '/',
      hostDir: m.subPath ? join(volumeDir, safeRelative(pod, `volumeMounts ${m.mountPath} subPath`, m.subPath)) : volumeDir,
      readOnly: m.readOnly ?? false,
      source: sourceOf(pod, m.name),
    };
  });
}

/**
 * `value` with a leading mountPath replaced by its directory: the longest matching
 * mountPath wins, and only whole path segments match (/tmpx is not under /tmp).
 */
export function mapMountedPath(value: string, mounts: readonly MountPlan[]): string {
  let best: MountPlan | undefined;
  for (const m of mounts) {
    if (m.mountPath === '/') continue;
    if (value === m.mountPath || value.startsWith(`${m.mountPath}/`)) {
      if (best === undefined || m.mountPath.length > best.mountPath.length) best = m;
    }
  }
  return best === undefined ? value : best.hostDir + value.slice(best.mountPath.length);
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
  if (source.kind === 'emptyDir') return [];
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
