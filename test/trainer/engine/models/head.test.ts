import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { buildModel } from '../../../../trainer/engine/models/registry.js';
import { HEAD_METADATA_KEY, parameterGroups, replaceHead } from '../../../../trainer/engine/models/head.js';
import { countParams } from '../../../../trainer/engine/models/count.js';
import { loadModel, saveModel } from '../../../../trainer/engine/models/model-store.js';
import { UsageError } from '../../../../trainer/util/errors.js';

await tf.setBackend('cpu');

const lenet = (): tf.LayersModel => buildModel({ name: 'lenet', inputShape: [16, 16, 3], numClasses: 10, seed: 1 });
const resnet = (): tf.LayersModel => buildModel({ name: 'resnet', depth: 8, inputShape: [8, 8, 3], numClasses: 10, seed: 1 });

function snapshot(model: tf.LayersModel): Map<string, number[]> {
  return new Map(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
}

function oneStep(model: tf.LayersModel, size: number, classes: number): void {
  const x = tf.randomNormal([2, size, size, 3], 0, 1, 'float32', 4);
  const y = tf.oneHot(tf.tensor1d([0, 1], 'int32'), classes);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  tf.train.sgd(0.1).minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, false, vars);
}

t.test('default cut: the layer before the last Dense; new fc, pretrained weights shared', async (t) => {
  const model = lenet();
  const before = snapshot(model);
  const tuned = replaceHead(model, { numClasses: 4, seed: 2, freeze: false });
  t.same(tuned.layers.map((l) => l.name).slice(-2), ['dense1_tanh', 'fc']);
  t.same((tuned.predict(tf.zeros([2, 16, 16, 3])) as tf.Tensor).shape, [2, 4], 'new number of classes');
  t.same(tuned.getLayer('fc').getWeights()[0].shape, [500, 4]);
  t.equal(tuned.getLayer('conv1'), model.getLayer('conv1'), 'the same layer object, not a copy');
  for (const name of ['conv1', 'conv2', 'dense1']) {
    tuned.getLayer(name).getWeights().forEach((w, i) => {
      t.same(Array.from(w.dataSync()), before.get(model.getLayer(name).weights[i].originalName), `${name} weight ${i} kept`);
    });
  }
  t.same(tuned.getUserDefinedMetadata(), { [HEAD_METADATA_KEY]: { headLayers: ['fc'], pretrainedModel: 'lenet' } });
  // The head is seeded: the same seed gives the same new classifier.
  const again = replaceHead(model, { numClasses: 4, seed: 2, freeze: false });
  t.same(Array.from(again.getLayer('fc').getWeights()[0].dataSync()), Array.from(tuned.getLayer('fc').getWeights()[0].dataSync()));
});

t.test('named cut; a 4-D cut is flattened first; names never clash', async (t) => {
  const model = resnet();
  const pooled = replaceHead(model, { layerBeforeFullc: 'pool_global', numClasses: 3, seed: 1, freeze: false });
  t.same((pooled.predict(tf.zeros([2, 8, 8, 3])) as tf.Tensor).shape, [2, 3]);
  const early = replaceHead(model, { layerBeforeFullc: 'stage3_block1_out', numClasses: 3, seed: 1, freeze: false });
  t.same(early.layers.map((l) => l.name).slice(-3), ['stage3_block1_out', 'fc_flatten', 'fc']);
  t.same(early.getLayer('fc').getWeights()[0].shape, [2 * 2 * 64, 3]);
  const stacked = replaceHead(model, { layerBeforeFullc: 'fc', numClasses: 3, seed: 1, freeze: false });
  t.same(stacked.layers.map((l) => l.name).slice(-2), ['fc', 'fc_2'], 'keeping the old fc names the new one fc_2');
});

t.test('an unknown layer fails listing the layers', async (t) => {
  t.throws(() => replaceHead(lenet(), { layerBeforeFullc: 'fc7', numClasses: 4, seed: 1, freeze: true }), {
    name: UsageError.name,
    message: /^layer-before-fullc 'fc7' is not a layer of model lenet; its layers are: data, conv1, conv1_tanh, pool1, .*dense1_tanh, fc$/,
  });
  t.throws(() => replaceHead(lenet(), { numClasses: 1, seed: 1, freeze: true }), /numClasses 1 must be an integer of at least 2/);
});

for (const freeze of [true, false]) {
  t.test(`after a training step, pretrained layers ${freeze ? 'are unchanged when frozen' : 'move when not frozen'}`, async (t) => {
    const model = resnet();
    const tuned = replaceHead(model, { numClasses: 3, seed: 1, freeze });
    const before = snapshot(tuned);
    oneStep(tuned, 8, 3);
    const after = snapshot(tuned);
    for (const layer of tuned.layers) {
      // Moving statistics are not trained by the optimiser (see replaceHead); skip them.
      for (const w of layer.weights.filter((v) => !v.originalName.includes('moving_'))) {
        const kept = before.get(w.originalName)?.every((v, i) => v === after.get(w.originalName)?.[i]);
        if (layer.name === 'fc') t.notOk(kept, `head ${w.originalName} trained`);
        else t.equal(kept, freeze, `${w.originalName} ${freeze ? 'unchanged' : 'changed'}`);
      }
    }
  });
}

t.test('parameterGroups: pretrained vs head, weights vs biases and batch-norm parameters', async (t) => {
  const scratch = parameterGroups(resnet());
  t.equal(scratch.pretrained.length, 0, 'a model trained from scratch has no pretrained part');
  t.ok(scratch.head.length > 2);

  const tuned = replaceHead(resnet(), { numClasses: 3, seed: 1, freeze: false });
  const groups = parameterGroups(tuned);
  t.same(groups.head.map((p) => [p.layer, p.kind]), [['fc', 'weight'], ['fc', 'bias']]);
  const kinds = new Map(groups.pretrained.map((p) => [p.variable.name, p.kind]));
  t.equal(kinds.get((tuned.getLayer('stem_conv').weights[0].read() as tf.Variable).name), 'weight');
  t.same(groups.pretrained.filter((p) => p.layer === 'stem_bn').map((p) => p.kind), ['batchnorm', 'batchnorm']);
  t.notOk(groups.pretrained.some((p) => p.kind === 'other'), 'every variable classified');
  t.ok(groups.pretrained.every((p) => p.name === p.variable.name && p.variable.trainable), 'names are the optimizer names');
  const size = (ps: { variable: tf.Variable }[]): number => ps.reduce((s, p) => s + p.variable.size, 0);
  t.equal(size(groups.pretrained) + size(groups.head), countParams(tuned).trainable, 'trainable variables, no moving statistics');

  const frozen = parameterGroups(replaceHead(resnet(), { numClasses: 3, seed: 1, freeze: true }));
  t.equal(frozen.pretrained.length, 0, 'frozen layers are not trainable');
  t.equal(frozen.head.length, 2);
});

t.test('a fine-tuned model saved and loaded keeps its head and its frozen layers', async (t) => {
  const dir = path.join(t.testdir(), 'tuned');
  const tuned = replaceHead(lenet(), { numClasses: 4, seed: 3, freeze: true });
  await saveModel(tuned, dir);
  const loaded = await loadModel(dir);
  t.same(parameterGroups(loaded).head.map((p) => p.layer), ['fc', 'fc']);
  t.equal(loaded.getLayer('conv1').trainable, false, 'frozen after loading');
  const unfrozen = replaceHead(lenet(), { numClasses: 4, seed: 3, freeze: false });
  await saveModel(unfrozen, dir);
  const groups = parameterGroups(await loadModel(dir));
  t.same([...new Set(groups.pretrained.map((p) => p.layer))], ['conv1', 'conv2', 'dense1']);
});
