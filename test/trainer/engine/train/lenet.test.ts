import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTrainerCli } from '../../../helpers/cli.js';
import { datasetSkip } from '../../../helpers/datasets.js';
import { packedCifar } from '../../../helpers/packed-cifar.js';
import { loadNativeAddon } from '../../../../trainer/engine/backend/native/addon.js';

// The fastest CPU backend built here (native in CI, else wasm): the accuracy check is about
// the training pipeline on real data, not a backend; each backend's own tests cover it.
const BACKEND = loadNativeAddon().addon === null ? 'wasm' : 'native';

t.test('LeNet on 10,000 CIFAR-10 images for 2 epochs is clearly above chance', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const train = await packedCifar('train');
  const test = await packedCifar('test');
  const out = join(t.testdir(), 'run');
  const { code, stdout, stderr } = await runTrainerCli([
    'train', '--model', 'lenet', '--data-train', train, '--data-val', test,
    '--num-examples', '10000', '--num-val-examples', '2000',
    '--epochs', '2', '--batch-size', '128', '--lr', '0.05', '--backend', BACKEND, '--threads', '1',
    '--out', out, '--progress-interval', '30',
  ]);
  t.equal(code, 0, stderr);
  const summary = JSON.parse(stdout.trim()) as { finalValidationAccuracy: number; backend: string };
  t.equal(summary.backend, BACKEND);
  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as {
    weightsSha256: string;
    epochs: Array<{ epoch: number; trainLoss: number; trainAccuracy: number; validationLoss: number; validationAccuracy: number; imagesPerSecond: number; seconds: number }>;
  };
  t.equal(metrics.epochs.length, 2);
  t.match(metrics.weightsSha256, /^[0-9a-f]{64}$/);
  t.ok(metrics.epochs[1].trainLoss < metrics.epochs[0].trainLoss, `train loss falls (${metrics.epochs[0].trainLoss.toFixed(3)} -> ${metrics.epochs[1].trainLoss.toFixed(3)})`);
  const accuracy = metrics.epochs[1].validationAccuracy;
  t.ok(accuracy >= 0.35, `validation accuracy ${accuracy.toFixed(3)} >= 0.35 (chance is 0.10)`);
  t.equal(summary.finalValidationAccuracy, accuracy);
  const svg = await readFile(join(out, 'accuracy.svg'), 'utf8');
  t.match(svg, /<svg[^>]+>/);
  t.match(svg, /lenet validation/);
  const modelJson = JSON.parse(await readFile(join(out, 'model', 'model.json'), 'utf8')) as { modelTopology: unknown };
  t.ok(modelJson.modelTopology, 'final model saved in the layers format');
});
