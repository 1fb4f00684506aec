/**
 * Checks the operator makes before it creates anything for a job, each naming the spec
 * field to fix. The CRD's CEL rules refuse most of these at `kubectl apply`; the operator
 * checks again because a cluster may still serve an older CRD (Helm never upgrades crds/)
 * and because some rules depend on the operator's own settings (its default trainer image).
 *
 * Local paths: a pod sees only its image and its volumes, so a `/path` or `file:///path`
 * in data, checkpoint, output or pretrained must lie under one of spec.volumeMounts.
 */
import { posix } from 'node:path';
import type { Volume, VolumeMount } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';
import { processesPerReplica } from './gang-size.js';
import { trainerImage, type OperatorDefaults } from './operator-defaults.js';
import { PEER_KEY_MOUNT_PATH } from './pod-env.js';

export interface SpecIssue {
  /** Where in the manifest, e.g. spec.data.train. */
  field: string;
  message: string;
}

/** Volume names and mount paths the operator itself uses in every trainer pod. */
export const RESERVED_VOLUME_NAMES: readonly string[] = ['scratch', 'peer-key'];
/** The pod's own scratch directory: the operator mounts an emptyDir there in every trainer pod. */
export const POD_SCRATCH_MOUNT_PATH = '/tmp';
export const RESERVED_MOUNT_PATHS: readonly string[] = [POD_SCRATCH_MOUNT_PATH, posix.dirname(PEER_KEY_MOUNT_PATH)];

const VOLUME_SOURCES = ['persistentVolumeClaim', 'nfs', 'hostPath', 'emptyDir', 'configMap', 'secret'] as const;

/** The path a location names on the pod's file system, or undefined for a remote URI (s3://, http(s)://). */
export function localPath(uri: string): string | undefined {
  if (uri.startsWith('file://')) return uri.slice('file://'.length);
  return uri.startsWith('/') ? uri : undefined;
}

function isUnder(path: string, mountPath: string): boolean {
  return path === mountPath || path.startsWith(mountPath === '/' ? '/' : `${mountPath}/`);
}

/** A clean absolute path: no empty, `.` or `..` segments (a prefix check must not be fooled by /data/../etc). */
function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (path !== '/' && path.endsWith('/')) return 'must not end with /';
  const segments = path.split('/').slice(1);
  if (path !== '/' && segments.some((s) => s === '' || s === '.' || s === '..')) return 'must not contain empty, . or .. segments';
  return undefined;
}

function volumeIssues(volumes: readonly Volume[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  volumes.forEach((volume, i) => {
    const field = `spec.volumes[${i}]`;
    if (RESERVED_VOLUME_NAMES.includes(volume.name)) issues.push({ field: `${field}.name`, message: `${volume.name} is used by the operator itself; choose another name` });
    if (seen.has(volume.name)) issues.push({ field: `${field}.name`, message: `${volume.name} is declared twice` });
    seen.add(volume.name);
    const sources = VOLUME_SOURCES.filter((s) => volume[s] !== undefined);
    if (sources.length !== 1) issues.push({ field, message: `needs exactly one of ${VOLUME_SOURCES.join(', ')}; found ${sources.length === 0 ? 'none' : sources.join(', ')}` });
  });
  return issues;
}

function mountIssues(mounts: readonly VolumeMount[], volumes: readonly Volume[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  mounts.forEach((mount, i) => {
    const field = `spec.volumeMounts[${i}]`;
    if (!volumes.some((v) => v.name === mount.name)) issues.push({ field: `${field}.name`, message: `${mount.name} is not one of spec.volumes (${volumes.map((v) => v.name).join(', ') || 'none declared'})` });
    const problem = pathProblem(mount.mountPath);
    if (problem !== undefined) issues.push({ field: `${field}.mountPath`, message: `${mount.mountPath} ${problem}` });
    const reserved = RESERVED_MOUNT_PATHS.find((r) => isUnder(mount.mountPath, r) || isUnder(r, mount.mountPath));
    if (reserved !== undefined) issues.push({ field: `${field}.mountPath`, message: `${mount.mountPath} overlaps ${reserved}, which the operator mounts itself` });
    if (seen.has(mount.mountPath)) issues.push({ field: `${field}.mountPath`, message: `${mount.mountPath} is mounted twice` });
    seen.add(mount.mountPath);
  });
  return issues;
}

function isReadOnly(mount: VolumeMount, volumes: readonly Volume[]): boolean {
  const volume = volumes.find((v) => v.name === mount.name);
  return mount.readOnly === true || volume?.persistentVolumeClaim?.readOnly === true || volume?.nfs?.readOnly === true || volume?.configMap !== undefined || volume?.secret !== undefined;
}

/** Every local location must lie under a declared mount; the ones the trainer writes, under a writable one. */
function locationIssues(spec: DefaultedSpec, mounts: readonly VolumeMount[], volumes: readonly Volume[]): SpecIssue[] {
  const locations: Array<{ field: string; uri: string | undefined; writes: boolean }> = [
    { field: 'spec.data.train', uri: spec.data.train, writes: false },
    { field: 'spec.data.validation', uri: spec.data.validation, writes: false },
    { field: 'spec.checkpoint.uri', uri: spec.checkpoint.uri, writes: true },
    { field: 'spec.output.uri', uri: spec.output?.uri, writes: true },
    { field: 'spec.pretrained.uri', uri: spec.pretrained?.uri, writes: false },
  ];
  const issues: SpecIssue[] = [];
  for (const { field, uri, writes } of locations) {
    if (uri === undefined) continue;
    const path = localPath(uri);
    if (path === undefined) continue;
    const problem = pathProblem(path);
    if (problem !== undefined) {
      issues.push({ field, message: `${uri}: the path ${problem}` });
      continue;
    }
    const mount = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length).find((m) => isUnder(path, m.mountPath));
    if (mount === undefined) {
      const declared = mounts.map((m) => m.mountPath).join(', ');
      issues.push({ field, message: `${uri} is not under any of spec.volumeMounts (${declared || 'none declared'}): a trainer pod sees only its image and its volumes; mount the storage that holds it, or use s3://` });
    } else if (writes && isReadOnly(mount, volumes)) {
      issues.push({ field, message: `${uri} is under ${mount.mountPath}, which is mounted read-only (volume ${mount.name}); the trainer writes there` });
    }
  }
  return issues;
}

export function validateJobSpec(spec: DefaultedSpec, defaults: OperatorDefaults): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (trainerImage(spec, defaults) === undefined) {
    issues.push({ field: 'spec.image', message: 'is unset and the operator has no --default-trainer-image (Helm value trainer.image); set the trainer image your nodes pull' });
  }
  const volumes = spec.volumes ?? [];
  const mounts = spec.volumeMounts ?? [];
  issues.push(...volumeIssues(volumes), ...mountIssues(mounts, volumes), ...locationIssues(spec, mounts, volumes));
  const ppr = processesPerReplica(spec);
  if (spec.gpusPerReplica > 0 && spec.gpusPerReplica % ppr !== 0) {
    issues.push({ field: 'spec.processesPerReplica', message: `${ppr} does not divide gpusPerReplica ${spec.gpusPerReplica}: each process gets its own GPUs` });
  }
  const policy = spec.runPolicy.schedulingPolicy;
  if (policy?.gangScheduler === 'kueue' && policy.queue === undefined) {
    issues.push({ field: 'spec.runPolicy.schedulingPolicy.queue', message: 'is required with gangScheduler kueue: the name of the LocalQueue the pods are submitted to' });
  }
  return issues;
}

export function describeIssues(issues: readonly SpecIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}
