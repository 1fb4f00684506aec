import { readdirSync } from 'node:fs';

/** What the NVIDIA driver shows this process, for the tfjs-node-gpu backend's description. */
export interface GpuVisibility {
  /** GPUs the driver lists (null when the driver's /proc entry is absent). */
  driverGpus: number | null;
  /** GPUs left after CUDA_VISIBLE_DEVICES (null when unknown). */
  visible: number | null;
}

/**
 * tfjs-node-gpu has no API that lists devices, and TensorFlow silently runs on the CPU
 * when CUDA finds no GPU. The driver's /proc/driver/nvidia/gpus (one entry per GPU) and
 * CUDA_VISIBLE_DEVICES are what decide what CUDA will see, so read those.
 */
export function probeNvidiaGpus(
  env: NodeJS.ProcessEnv = process.env,
  gpusDir = '/proc/driver/nvidia/gpus',
): GpuVisibility {
  let driverGpus: number | null;
  try {
    driverGpus = readdirSync(gpusDir).length;
  } catch {
    driverGpus = null;
  }
  const mask = env.CUDA_VISIBLE_DEVICES;
  if (mask === undefined) return { driverGpus, visible: driverGpus };
  const entries = mask.split(',').map((s) => s.trim()).filter((s) => s !== '');
  // CUDA stops at the first invalid entry, and '-1' is the usual way to hide every GPU.
  const firstInvalid = entries.findIndex((s) => s.startsWith('-'));
  const listed = firstInvalid < 0 ? entries.length : firstInvalid;
  return { driverGpus, visible: driverGpus === null ? null : Math.min(listed, driverGpus) };
}

/** A short description of the tfjs-node-gpu backend, e.g. 'tfjs-node-gpu (CUDA, 2 GPUs visible)'. */
export function describeTensorflowGpu(v: GpuVisibility): string {
  if (v.visible === null) return 'tfjs-node-gpu (CUDA; no NVIDIA driver found: TensorFlow may run on the CPU)';
  if (v.visible === 0) return 'tfjs-node-gpu (CUDA, but no GPU visible: TensorFlow runs on the CPU)';
  return `tfjs-node-gpu (CUDA, ${v.visible} GPU${v.visible === 1 ? '' : 's'} visible)`;
}
