import * as tf from '@tensorflow/tfjs';
import { errorMessage, UsageError } from '../../util/errors.js';
import { activateBackend } from './activate-backend.js';
import { BackendUnavailableError } from './backend-error.js';
import { describeTensorflowGpu, probeNvidiaGpus, type GpuVisibility } from './gpu-probe.js';
import { loadNativeAddon, type AddonLoad } from './native/addon.js';
import { defaultThreadCount } from './threads.js';
import { NATIVE_BACKEND } from './native/kernel-names.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface SelectedBackend {
  name: BackendName;
  /**
   * What runs the kernels, e.g. 'tfjs-node-gpu (CUDA, 1 GPU visible)', 'native (oneDNN 2.6.3,
   * avx512_core, 2 threads)', 'wasm (SIMD, 1 thread)', 'cpu (pure JS)'.
   */
  detail: string;
  /** Compute threads of this process: --threads for native and tensorflow, 1 for wasm and cpu. */
  threads: number;
}

/** Options, and seams for tests: how packages are imported, how GPUs are found, how the native addon loads. */
export interface SelectBackendDeps {
  /** Compute threads for the native and tensorflow backends (default: the CPU limit, see threads.ts). */
  threads?: number;
  importModule?: (specifier: string) => Promise<unknown>;
  probeGpus?: () => GpuVisibility;
  loadAddon?: () => AddonLoad;
}

const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE = '@tensorflow/tfjs-node';

/**
 * Picks and activates the tfjs backend all of the trainer uses (everything imports tf from
 * '@tensorflow/tfjs'; tfjs-node registers its 'tensorflow' backend on that same engine).
 * 'auto' takes the best that loads, tensorflow, then native, then wasm, then cpu, and logs
 * why it skipped the others; an explicit choice that cannot load throws
 * BackendUnavailableError with the reason. Safe to call again.
 */
export async function selectBackend(
  requested: BackendChoice,
  log: (msg: string) => void,
  deps: SelectBackendDeps = {},
): Promise<SelectedBackend> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(requested)) {
    throw new UsageError(`--backend: '${String(requested)}' is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const importModule = deps.importModule ?? ((specifier: string) => import(specifier) as Promise<unknown>);
  const probeGpus = deps.probeGpus ?? (() => probeNvidiaGpus());
  const threads = deps.threads ?? defaultThreadCount();
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads: ${threads} is not a positive integer`);
  const loaders: Record<BackendName, () => Promise<{ detail: string; threads: number }>> = {
    tensorflow: async () => ({ detail: await loadTensorflow(importModule, probeGpus, log, threads), threads }),
    native: async () => ({ detail: await loadNative(deps.loadAddon ?? (() => loadNativeAddon()), threads), threads }),
    wasm: async () => ({ detail: await loadWasm(), threads: 1 }),
    cpu: async () => ({ detail: await loadCpu(), threads: 1 }),
  };

  if (requested !== 'auto') {
    const got = await loaders[requested]();
    log(`tfjs backend: ${got.detail}`);
    return { name: requested, ...got };
  }
  const skipped: string[] = [];
  for (const name of ['tensorflow', 'native', 'wasm'] as const) {
    try {
      const got = await loaders[name]();
      log(`tfjs backend: ${got.detail} (auto${skipped.length > 0 ? `; ${skipped.join(', ')} not available` : ''})`);
      return { name, ...got };
    } catch (err) {
      const reason = err instanceof BackendUnavailableError ? err.reason : errorMessage(err);
      log(`tfjs backend: ${name} not available, trying the next: ${reason}`);
      skipped.push(name);
    }
  }
  const detail = await loadCpu();
  log(`tfjs backend: ${detail} (auto; ${skipped.join(', ')} not available); training conv nets on it is very slow`);
  return { name: 'cpu', detail, threads: 1 };
}

async function loadTensorflow(
  importModule: (specifier: string) => Promise<unknown>,
  probeGpus: () => GpuVisibility,
  log: (msg: string) => void,
  threads: number,
): Promise<string> {
  // TensorFlow sizes its intra-op pool from this when it starts (its default is every core
  // of the machine, not the pod's limit); a value the user set wins.
  process.env.TF_NUM_INTRAOP_THREADS ??= String(threads);
  const failures: string[] = [];
  for (const pkg of [TFJS_NODE_GPU, TFJS_NODE]) {
    try {
      await importModule(pkg);
    } catch (err) {
      failures.push(`${pkg} did not load (${firstLine(errorMessage(err))})`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      failures.push(`${pkg} loaded but registered no 'tensorflow' backend on this @tensorflow/tfjs ` +
        '(it has its own copy of @tensorflow/tfjs: check `npm ls @tensorflow/tfjs`)');
      continue;
    }
    await activateBackend('tensorflow');
    // A GPU node that quietly falls back to the CPU build must say so.
    if (failures.length > 0) log(`tfjs backend: using ${pkg}; ${failures.join('; ')}`);
    return pkg === TFJS_NODE_GPU ? describeTensorflowGpu(probeGpus()) : 'tfjs-node (CPU)';
  }
  throw new BackendUnavailableError('tensorflow', failures.join('; '));
}

/**
 * The wasm backend runs one thread in Node: tfjs-backend-wasm only uses its threaded binary
 * where browsers' SharedArrayBuffer workers exist (its WASM_HAS_MULTITHREAD_SUPPORT flag is
 * false under Node), so we ask for one thread and use more cores through more replicas.
 */
async function loadWasm(): Promise<string> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  let register: typeof import('./register.js');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
    register = await import('./register.js');
  } catch (err) {
    throw new BackendUnavailableError('wasm', `@tensorflow/tfjs-backend-wasm did not load (${firstLine(errorMessage(err))})`);
  }
  // Read when the backend is created; no effect once it exists. (tf.findBackend would start an initialisation.)
  wasm.setThreadsCount(1);
  await activateBackend('wasm');
  // After initialisation, so that the shipped kernels we replace were set up too (benchmarks compare them).
  register.registerWasmTrainingKernels();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = wasm.getThreadsCount();
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
}

/**
 * The native backend: oneDNN kernels from the addon over the wasm backend's heap (see
 * native/register-native.ts), so it needs the wasm backend too.
 */
async function loadNative(loadAddon: () => AddonLoad, threads: number): Promise<string> {
  const load = loadAddon();
  if (load.addon === null) throw new BackendUnavailableError('native', load.reason);
  try {
    await loadWasm();
  } catch (err) {
    throw new BackendUnavailableError('native', `it runs on the wasm backend's memory, and ${errorMessage(err)}`);
  }
  const { BackendWasm } = await import('@tensorflow/tfjs-backend-wasm');
  const { registerNativeBackend } = await import('./native/register-native.js');
  const wasm = tf.findBackend('wasm');
  if (!(wasm instanceof BackendWasm)) throw new BackendUnavailableError('native', 'the wasm backend initialised but is not a BackendWasm');
  registerNativeBackend(load.addon, wasm);
  load.addon.setThreads(threads);
  await activateBackend(NATIVE_BACKEND);
  const info = load.addon.info();
  return `native (oneDNN ${info.onednn}, ${info.isa}, ${info.threads} thread${info.threads === 1 ? '' : 's'})`;
}

async function loadCpu(): Promise<string> {
  await activateBackend('cpu');
  return 'cpu (pure JS)';
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0];
}
