import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../../util/errors.js';

/**
 * The N-API addon built from ./src by `npm run build:native` (node-gyp, oneDNN from
 * Debian's libdnnl-dev). Every kernel takes the wasm backend's heap and a Float64Array of
 * sizes, attributes and byte offsets into that heap, in the order src/*.cc documents, and
 * writes its output into memory the caller allocated on the same heap.
 */
export interface NativeAddon {
  setThreads(threads: number): void;
  info(): { onednn: string; isa: string; threads: number };
  conv2d(heap: ArrayBuffer, params: Float64Array): void;
  conv2dBackpropInput(heap: ArrayBuffer, params: Float64Array): void;
  conv2dBackpropFilter(heap: ArrayBuffer, params: Float64Array): void;
  matMul(heap: ArrayBuffer, params: Float64Array): void;
  binary(heap: ArrayBuffer, params: Float64Array): void;
  unary(heap: ArrayBuffer, params: Float64Array): void;
  unaryGrad(heap: ArrayBuffer, params: Float64Array): void;
  reduce(heap: ArrayBuffer, params: Float64Array): void;
  batchNormTrain(heap: ArrayBuffer, params: Float64Array): void;
  batchNormTrainGrad(heap: ArrayBuffer, params: Float64Array): void;
  batchNormInfer(heap: ArrayBuffer, params: Float64Array): void;
  maxPool(heap: ArrayBuffer, params: Float64Array): void;
  maxPoolGrad(heap: ArrayBuffer, params: Float64Array): void;
  sgdMomentum(heap: ArrayBuffer, params: Float64Array): void;
}

export type AddonLoad = { addon: NativeAddon; path: string } | { addon: null; reason: string };

const ADDON_FILE = 'cifar_native.node';
/** Where node-gyp puts the build, relative to the project root. */
export const ADDON_BUILD_DIR = join('trainer', 'engine', 'backend', 'native', 'build', 'Release');
/** Environment variable naming the addon file explicitly (the CPU trainer image sets it). */
export const ADDON_ENV = 'CIFAR_NATIVE_ADDON';

/**
 * Places to look: $CIFAR_NATIVE_ADDON, else the build directory beside this source file,
 * else the one under any parent directory (running from dist/ finds the source tree's build).
 */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env, here = dirname(fileURLToPath(import.meta.url))): string[] {
  const explicit = env[ADDON_ENV];
  if (explicit !== undefined && explicit !== '') return [resolve(explicit)];
  const found = [join(here, 'build', 'Release', ADDON_FILE)];
  for (let dir = here; ; dir = dirname(dir)) {
    found.push(join(dir, ADDON_BUILD_DIR, ADDON_FILE));
    if (dirname(dir) === dir) break;
  }
  return [...new Set(found)];
}

const REQUIRED: readonly (keyof NativeAddon)[] = [
  'setThreads', 'info', 'conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'matMul', 'binary', 'unary',
  'unaryGrad', 'reduce', 'batchNormTrain', 'batchNormTrainGrad', 'batchNormInfer', 'maxPool', 'maxPoolGrad', 'sgdMomentum',
];

let cached: AddonLoad | undefined;

/** Loads the addon once; when it cannot, says why (not built, or the .node file failed to load). */
export function loadNativeAddon(candidates = addonCandidates()): AddonLoad {
  if (cached !== undefined) return cached;
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    cached = {
      addon: null,
      reason: `the native addon is not built (looked for ${candidates.length === 1 ? candidates[0] : `${ADDON_BUILD_DIR}/${ADDON_FILE}`}; ` +
        'run `npm run build:native`, which needs libdnnl-dev, g++ and make)',
    };
    return cached;
  }
  // OpenMP's threads otherwise spin at every barrier; when the process shares its cores (a pod
  // at its CPU quota, other work on the node) a spinning thread holds up the one with work,
  // and a step took 10x longer here (measured: ResNet-20, 2 threads, on a loaded machine).
  // Read by libgomp when it loads, i.e. with the addon; a value the user set wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    const loaded = createRequire(import.meta.url)(path) as Partial<NativeAddon>;
    const missing = REQUIRED.filter((k) => typeof loaded[k] !== 'function');
    if (missing.length > 0) throw new Error(`it lacks ${missing.join(', ')} (an older build? run \`npm run build:native\`)`);
    cached = { addon: loaded as NativeAddon, path };
  } catch (err) {
    cached = { addon: null, reason: `${path} did not load: ${errorMessage(err).split('\n', 1)[0]}` };
  }
  return cached;
}
