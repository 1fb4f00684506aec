import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../../../trainer/engine/models/model-store.js';
import { runTrainerCli } from '../../../helpers/cli.js';
import { datasetSkip } from '../../../helpers/datasets.js';
import { packedCifar } from '../../../helpers/packed-cifar.js';
import { loadNativeAddon } from '../../../../trainer/engine/backend/native/addon.js';

// The fastest CPU backend built here (native in CI, else wasm); fine-tuning is backend-agnostic.
const BACKEND = loadNativeAddon().addon === null ? 'wasm' : 'native';

interface Metrics {
  model: { name: string; origin: string };
  epochs: Array<{ validationAccuracy: number }>;
}

async function metricsOf(dir: string): Promise<Metrics> {
  return JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as Metrics;
}

function weightsOf(model: tf.LayersModel, layer: string): Float32Array {
  return model.getLayer(layer).getWeights()[0].dataSync() as Float32Array;
}

t.test('fine-tuning a pretrained LeNet: new head, frozen layers stay, and it beats training from scratch early', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const train = await packedCifar('train');
  const test = await packedCifar('test');
  const dir = t.testdir();
  const common = ['--model', 'lenet', '--backend', BACKEND, '--threads', '1', '--batch-size', '64', '--progress-interval', '60', '--data-val', test, '--num-val-examples', '1000'];
  // The "pretrained" network: LeNet trained on the first half of the training set.
  const pre = await runTrainerCli(['train', ...common, '--data-train', train, '--data-part', '0/2', '--num-examples', '6000', '--epochs', '2', '--lr', '0.05', '--out', join(dir, 'pre')]);
  t.equal(pre.code, 0, pre.stderr);

  // Scratch and fine-tune runs see the same 1,024 images of the other half, one epoch.
  const small = ['--data-train', train, '--data-part', '1/2', '--num-examples', '1024', '--epochs', '1', '--lr', '0.02'];
  const scratch = await runTrainerCli(['train', ...common, ...small, '--seed', '9', '--out', join(dir, 'scratch')]);
  t.equal(scratch.code, 0, scratch.stderr);
  const tuned = await runTrainerCli(['train', ...common, ...small, '--seed', '9', '--pretrained', join(dir, 'pre', 'model'), '--out', join(dir, 'tuned')]);
  t.equal(tuned.code, 0, tuned.stderr);
  const frozen = await runTrainerCli(['train', ...common, ...small, '--pretrained', join(dir, 'pre', 'model'), '--layer-before-fullc', 'dense1_tanh', '--freeze', '--out', join(dir, 'frozen')]);
  t.equal(frozen.code, 0, frozen.stderr);

  const scratchAcc = (await metricsOf(join(dir, 'scratch'))).epochs[0].validationAccuracy;
  const tunedMetrics = await metricsOf(join(dir, 'tuned'));
  t.equal(tunedMetrics.model.name, 'lenet-finetune');
  t.equal(tunedMetrics.model.origin, join(dir, 'pre', 'model'));
  const tunedAcc = tunedMetrics.epochs[0].validationAccuracy;
  t.ok(tunedAcc > scratchAcc + 0.05, `fine-tuned ${tunedAcc.toFixed(3)} is well ahead of scratch ${scratchAcc.toFixed(3)} after one epoch`);

  const pretrained = await loadModel(join(dir, 'pre', 'model'));
  const frozenModel = await loadModel(join(dir, 'frozen', 'model'));
  const tunedModel = await loadModel(join(dir, 'tuned', 'model'));
  t.same(weightsOf(frozenModel, 'conv1'), weightsOf(pretrained, 'conv1'), '--freeze leaves the pretrained layers unchanged');
  t.notSame(weightsOf(tunedModel, 'conv1'), weightsOf(pretrained, 'conv1'), 'without --freeze the pretrained layers train too');
  t.notSame(weightsOf(frozenModel, 'fc'), weightsOf(pretrained, 'fc'), 'the head is new and trained');

  const compare = await runTrainerCli(['compare', join(dir, 'scratch'), join(dir, 'tuned'), '--labels', 'scratch,fine-tune', '--out', join(dir, 'compare.svg')]);
  t.equal(compare.code, 0, compare.stderr);
  t.match(compare.stdout, /epoch +scratch +fine-tune/);
  const svg = await readFile(join(dir, 'compare.svg'), 'utf8');
  t.match(svg, /scratch validation/);
  t.match(svg, /fine-tune validation/);
});

t.test('bad fine-tuning requests fail clearly', async (t) => {
  const dir = t.testdir({ 'broken-model': { 'model.json': '{"not":"a model"}' } });
  const common = ['train', '--model', 'lenet', '--data-train', join(dir, 'x.rec'), '--backend', 'cpu'];
  const missing = await runTrainerCli([...common, '--pretrained', join(dir, 'nowhere')]);
  t.not(missing.code, 0);
  t.match(missing.stderr, /nowhere/);
  const freeze = await runTrainerCli(['train', '--data-train', 'x.rec', '--freeze']);
  t.equal(freeze.code, 2);
  t.match(freeze.stderr, /--freeze needs --pretrained URI/);
  const resume = await runTrainerCli(['train', '--data-train', 'x.rec', '--resume']);
  t.match(resume.stderr, /--resume needs --checkpoint URI/);
  const depth = await runTrainerCli(['train', '--data-train', 'x.rec', '--model', 'lenet', '--depth', '20']);
  t.match(depth.stderr, /--depth does not apply to --model lenet/);
  const shape = await runTrainerCli(['train', '--data-train', 'x.rec', '--image-shape', '3,28']);
  t.match(shape.stderr, /--image-shape must be C,H,W/);
  const noData = await runTrainerCli(['train', '--model', 'lenet', '--backend', 'cpu', '--data-train', join(dir, 'missing.rec')]);
  t.equal(noData.code, 1, 'unreadable data is a failure, not a usage error');
  t.match(noData.stderr, /--data-train: .*missing\.rec: cannot open for reading: ENOENT/, 'the failure names the flag and the file');
  const unknown = await runTrainerCli(['train', '--data-train', 'x.rec', '--bogus']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /bogus/);
});
