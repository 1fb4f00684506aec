import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasetSkip } from '../../../../helpers/datasets.js';
import { packedCifar } from '../../../../helpers/packed-cifar.js';
import { startTrainer } from '../../../../helpers/trainer-process.js';

// Where the addon cannot be built (no libdnnl-dev): the trainer still trains, on wasm, and an
// explicit --backend native fails saying why. CIFAR_NATIVE_ADDON at a missing file stands in
// for such a machine.
const noAddon = { CIFAR_NATIVE_ADDON: '/nonexistent/cifar_native.node' };

t.test('without the addon, --backend native is an error naming why', async (t) => {
  const dir = t.testdir();
  const run = await startTrainer(['train', '--model', 'lenet', '--data-train', join(dir, 'absent.rec'), '--backend', 'native'], noAddon).done;
  t.not(run.code, 0);
  t.match(run.stderr, /backend 'native' is not available: the native addon is not built \(looked for \/nonexistent\/cifar_native\.node; run `npm run build:native`/);
});

t.test('without the addon, --backend auto trains on wasm and logs why native was skipped', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const train = await packedCifar('train');
  const dir = t.testdir();
  const run = await startTrainer(['train', '--model', 'lenet', '--data-train', train, '--num-examples', '128', '--epochs', '1', '--batch-size', '32',
    '--out', join(dir, 'out'), '--prefetch-workers', '0'], noAddon).done;
  t.equal(run.code, 0, run.stderr.slice(-600));
  t.match(run.stderr, /native not available, trying the next: the native addon is not built/);
  const metrics = JSON.parse(await readFile(join(dir, 'out', 'metrics.json'), 'utf8')) as { backend: string; backendDetail: string };
  t.equal(metrics.backend, 'wasm');
  t.match(metrics.backendDetail, /^wasm \(/);
});
