/**
 * Prepares a pod's volumes on this machine: one directory per emptyDir, Secret and
 * ConfigMap volume (keys written as files with their modes), and the hostPath checks the
 * kubelet makes (pkg/volume/hostpath: *OrCreate creates, the others must already be of
 * that type). The I/O half of volumes.ts.
 */
import { chmod, mkdir, open, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PodConfigError } from './pod-ref.js';
import type { MountPlan, VolumeFile } from './volumes.js';

/** What was mounted: a directory, or a single file (a file hostPath or subPath). */
export interface Materialized {
  file: boolean;
}

async function kindOf(path: string): Promise<'missing' | 'directory' | 'file' | 'socket' | 'char' | 'block' | 'other'> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) return 'directory';
    if (s.isFile()) return 'file';
    if (s.isSocket()) return 'socket';
    if (s.isCharacterDevice()) return 'char';
    if (s.isBlockDevice()) return 'block';
    return 'other';
  } catch {
    return 'missing';
  }
}

async function hostPath(plan: MountPlan & { source: { kind: 'hostPath' } }, podRef: string): Promise<Materialized> {
  const path = plan.hostDir;
  const failed = (why: string) => new PodConfigError('ContainerCreating', `pod ${podRef}: MountVolume.SetUp failed for volume "${plan.volumeName}" : hostPath type check failed: ${why}`);
  let kind = await kindOf(path);
  switch (plan.source.type) {
    case 'DirectoryOrCreate':
      if (kind === 'missing') {
        await mkdir(path, { recursive: true, mode: 0o755 });
        kind = 'directory';
      }
      if (kind !== 'directory') throw failed(`${path} is not a directory`);
      break;
    case 'FileOrCreate':
      if (kind === 'missing') {
        await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        await (await open(path, 'a', 0o644)).close();
        kind = 'file';
      }
      if (kind !== 'file') throw failed(`${path} is not a file`);
      break;
    case 'Directory':
      if (kind !== 'directory') throw failed(`${path} is not a directory`);
      break;
    case 'File':
      if (kind !== 'file') throw failed(`${path} is not a file`);
      break;
    case 'Socket':
      if (kind !== 'socket') throw failed(`${path} is not a socket file`);
      break;
    case 'CharDevice':
      if (kind !== 'char') throw failed(`${path} is not a character device`);
      break;
    case 'BlockDevice':
      if (kind !== 'block') throw failed(`${path} is not a block device`);
      break;
    default:
      // No type: no check, but a bind mount needs something to bind.
      if (kind === 'missing') throw new PodConfigError('ContainerCreating', `pod ${podRef}: MountVolume.SetUp failed for volume "${plan.volumeName}" : ${path} does not exist`);
  }
  return { file: kind !== 'directory' };
}

export async function materializeVolume(plan: MountPlan, files: readonly VolumeFile[], podRef = ''): Promise<Materialized> {
  if (plan.source.kind === 'hostPath') return hostPath(plan as MountPlan & { source: { kind: 'hostPath' } }, podRef);
  await mkdir(plan.hostDir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    const path = join(plan.hostDir, f.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, f.content, { mode: f.mode });
    // writeFile's mode is filtered by the umask; the volume's mode is what the pod asked for.
    await chmod(path, f.mode);
  }
  // An emptyDir is writable by whoever the pod runs as.
  if (plan.source.kind === 'emptyDir') await chmod(plan.hostDir, 0o777);
  return { file: false };
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}
