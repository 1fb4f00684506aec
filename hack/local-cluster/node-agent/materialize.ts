/**
 * Writes a pod's directories: one per mounted volume, Secret and ConfigMap keys as files
 * with their modes, and the scratch directory. The I/O half of volumes.ts.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MountPlan, VolumeFile } from './volumes.js';

export async function materializeVolume(plan: MountPlan, files: readonly VolumeFile[]): Promise<void> {
  await mkdir(plan.hostDir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    const path = join(plan.hostDir, f.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, f.content, { mode: f.mode });
    // writeFile's mode is filtered by the umask; the volume's mode is what the pod asked for.
    await chmod(path, f.mode);
  }
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}
