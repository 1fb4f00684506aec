import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type SelectBackendDeps } from '../../../../trainer/engine/backend/select-backend.js';
import { activateBackend } from '../../../../trainer/engine/backend/activate-backend.js';
import { BackendUnavailableError } from '../../../../trainer/engine/backend/backend-error.js';
import { UsageError } from '../../../../trainer/util/errors.js';
import type { AddonLoad } from '../../../../trainer/engine/backend/native/addon.js';

/** Stands in for tfjs-node's 'tensorflow' backend; no op runs on it. */
class FakeTensorflowBackend extends tf.KernelBackend {
  override dispose(): void {}
}

/** An importer where only the named packages load; loading one registers a fake 'tensorflow' backend. */
function importer(loadable: string[], registers = true): SelectBackendDeps['importModule'] {
  return async (specifier: string) => {
    if (!loadable.includes(specifier)) throw new Error(`Cannot find package '${specifier}'\n    at resolve (node:internal)`);
    if (registers && tf.findBackendFactory('tensorflow') === null) tf.registerBackend('tensorflow', () => new FakeTensorflowBackend(), 0);
    return {};
  };
}

const noTensorflow = importer([]);
/** The native addon as on a machine without libdnnl-dev. */
const noAddon = (): AddonLoad => ({ addon: null, reason: 'the native addon is not built (test)' });

t.afterEach(async () => {
  await tf.setBackend('cpu');
  if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
});

t.test('auto without tfjs-node and without the native addon picks wasm and logs why it skipped the others', async (t) => {
  const logs: string[] = [];
  const got = await selectBackend('auto', (m) => logs.push(m), { importModule: noTensorflow, loadAddon: noAddon, threads: 2 });
  t.equal(got.name, 'wasm');
  t.match(got.detail, /^wasm \((SIMD|no SIMD), 1 thread\)$/);
  t.equal(got.threads, 1, 'wasm runs one thread whatever --threads says');
  t.equal(tf.getBackend(), 'wasm');
  t.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'training kernels registered');
  t.match(logs.join('\n'), /tensorflow not available.*@tensorflow\/tfjs-node-gpu did not load \(Cannot find package.*\).*@tensorflow\/tfjs-node did not load/);
  t.match(logs.join('\n'), /native not available, trying the next: the native addon is not built \(test\)/);
  t.notMatch(logs.join('\n'), /at resolve/, 'only the first line of an import error is logged');
  t.match(logs[logs.length - 1], /wasm .*auto; tensorflow, native not available/);
});

t.test('asking for native when the addon cannot load fails with the reason', async (t) => {
  const err = await selectBackend('native', () => {}, { loadAddon: noAddon }).catch((e: unknown) => e);
  t.type(err, BackendUnavailableError);
  t.match((err as Error).message, /backend 'native' is not available: the native addon is not built \(test\)/);
});

t.test('the real native addon either gives the native backend with its thread count or says why not', async (t) => {
  const logs: string[] = [];
  const got = await selectBackend('auto', (m) => logs.push(m), { importModule: noTensorflow, threads: 2 });
  if (got.name === 'native') {
    t.match(got.detail, /^native \(oneDNN \d+\.\d+\.\d+, \w+, 2 threads\)$/);
    t.equal(got.threads, 2);
    t.equal(tf.getBackend(), 'native');
  } else {
    t.equal(got.name, 'wasm', 'without the addon, auto goes on to wasm');
    t.match(logs.join('\n'), /native not available, trying the next: .*(not built|did not load)/);
  }
});

t.test('asking for tensorflow when it cannot load fails with both import errors', async (t) => {
  const err = await selectBackend('tensorflow', () => {}, { importModule: noTensorflow }).catch((e: unknown) => e);
  t.type(err, BackendUnavailableError);
  t.match((err as Error).message, /backend 'tensorflow' is not available: @tensorflow\/tfjs-node-gpu did not load .*; @tensorflow\/tfjs-node did not load/);
});

t.test('the real import of tfjs-node either gives the tensorflow backend or says why not', async (t) => {
  const got = await selectBackend('tensorflow', () => {}).then((r) => r, (e: unknown) => e);
  if (got instanceof BackendUnavailableError) {
    t.match(got.reason, /@tensorflow\/tfjs-node-gpu did not load/);
  } else {
    t.match(got, { name: 'tensorflow' });
  }
});

t.test('tfjs-node-gpu, when it loads, is used and says how many GPUs CUDA sees', async (t) => {
  const got = await selectBackend('auto', () => {}, {
    importModule: importer(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']),
    probeGpus: () => ({ driverGpus: 4, visible: 2 }),
  });
  t.same(got, { name: 'tensorflow', detail: 'tfjs-node-gpu (CUDA, 2 GPUs visible)', threads: got.threads });
  t.equal(tf.getBackend(), 'tensorflow');
});

t.test('tfjs-node is the fallback when the GPU build does not load, and the log says so', async (t) => {
  const logs: string[] = [];
  const got = await selectBackend('tensorflow', (m) => logs.push(m), { importModule: importer(['@tensorflow/tfjs-node']) });
  t.same(got, { name: 'tensorflow', detail: 'tfjs-node (CPU)', threads: got.threads });
  t.match(logs.join('\n'), /using @tensorflow\/tfjs-node; @tensorflow\/tfjs-node-gpu did not load/);
});

t.test('a tfjs-node that registers on another @tensorflow/tfjs copy is reported', async (t) => {
  const err = await selectBackend('tensorflow', () => {}, { importModule: importer(['@tensorflow/tfjs-node'], false) }).catch((e: unknown) => e);
  t.match((err as Error).message, /@tensorflow\/tfjs-node loaded but registered no 'tensorflow' backend.*npm ls @tensorflow\/tfjs/);
});

t.test('explicit cpu and wasm, and selecting twice', async (t) => {
  t.same(await selectBackend('cpu', () => {}), { name: 'cpu', detail: 'cpu (pure JS)', threads: 1 });
  t.equal(tf.getBackend(), 'cpu');
  const first = await selectBackend('wasm', () => {});
  const second = await selectBackend('wasm', () => {});
  t.same(second, first);
  t.equal(tf.getBackend(), 'wasm');
  const y = tf.tidy(() => tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same').sum());
  t.equal(y.dataSync()[0], 100, 'the backend computes after a second selection');
  y.dispose();
});

t.test('an unknown choice is a usage error naming the flag', async (t) => {
  await t.rejects(selectBackend('gpu' as 'auto', () => {}), UsageError);
  await t.rejects(selectBackend('gpu' as 'auto', () => {}), /--backend: 'gpu' is not one of auto, tensorflow, native, wasm, cpu/);
});

t.test('a backend whose initialisation fails is detected, not silently replaced', async (t) => {
  await tf.setBackend('cpu');
  tf.registerBackend('broken-sync', () => {
    throw new Error('binary missing');
  });
  tf.registerBackend('broken-async', async () => {
    throw new Error('wasm fetch failed');
  });
  const warn = console.warn;
  console.warn = () => {}; // tfjs warns about the failed initialisation
  try {
    await t.rejects(activateBackend('broken-sync'), /backend 'broken-sync' is not available: initialisation failed \(tf.setBackend\('broken-sync'\) returned false/);
    t.equal(tf.getBackend(), 'cpu', 'the previous backend is active again');
    await t.rejects(activateBackend('broken-async'), BackendUnavailableError);
    await t.rejects(activateBackend('nonesuch'), /no backend named 'nonesuch' is registered/);
  } finally {
    console.warn = warn;
  }
  t.equal(tf.getBackend(), 'cpu');
});

t.test('a thread count that is not a positive integer is a usage error naming --threads', async (t) => {
  await t.rejects(selectBackend('cpu', () => {}, { threads: 0 }), /--threads: 0 is not a positive integer/);
  await t.rejects(selectBackend('cpu', () => {}, { threads: 1.5 }), UsageError);
});
