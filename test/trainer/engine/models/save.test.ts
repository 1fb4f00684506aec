import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildModel, type ModelSpec } from '../../../../trainer/engine/models/registry.js';
import { loadModel, saveModel, MODEL_JSON_NAME as MODEL_JSON, WEIGHTS_NAME as WEIGHTS_BIN } from '../../../../trainer/engine/models/model-store.js';
import { Rng } from '../../../../trainer/util/rng.js';

await tf.setBackend('cpu');

function randomImages(seed: number, shape: [number, number, number, number]): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
}

const specs: ModelSpec[] = [
  { name: 'lenet', inputShape: [16, 16, 3], numClasses: 10, seed: 1 },
  { name: 'resnet', depth: 8, inputShape: [8, 8, 3], numClasses: 10, seed: 1 },
  { name: 'resnext', depth: 11, cardinality: 2, width: 4, baseChannels: 8, inputShape: [8, 8, 3], numClasses: 10, seed: 1 },
];

for (const spec of specs) {
  t.test(`${spec.name}: saved to a directory and loaded back, it predicts the same`, async (t) => {
    const dir = path.join(t.testdir(), 'model');
    const model = buildModel(spec);
    const x = randomImages(2, [2, ...spec.inputShape]);
    const fresh = (model.predict(x) as tf.Tensor).dataSync();
    // Loading re-runs the seeded initialisers, so move the weights away from them:
    // only a working weights file can then give the same predictions.
    model.setWeights(model.getWeights().map((w, i) => w.mul(tf.randomUniform(w.shape, 1, 1.5, 'float32', i + 1))));
    const before = (model.predict(x) as tf.Tensor).dataSync();
    t.notSame(Array.from(before), Array.from(fresh), 'weights moved away from the initial ones');
    await saveModel(model, dir);
    t.ok((await readFile(path.join(dir, WEIGHTS_BIN))).length > 0, 'weights written');

    const json = JSON.parse(await readFile(path.join(dir, MODEL_JSON), 'utf8')) as { format: string; weightsManifest: { paths: string[] }[] };
    t.equal(json.format, 'layers-model', 'TensorFlow.js layers format');
    t.same(json.weightsManifest[0].paths, [WEIGHTS_BIN]);

    const loaded = await loadModel(dir);
    t.same(loaded.layers.map((l) => l.name), model.layers.map((l) => l.name), 'same layers by name');
    t.same(loaded.layers.map((l) => l.getClassName()), model.layers.map((l) => l.getClassName()), 'same layer classes');
    const after = (loaded.predict(x) as tf.Tensor).dataSync();
    t.same(Array.from(after), Array.from(before), 'identical predictions');
    if (spec.name === 'resnext') {
      t.equal(loaded.getLayer('stage1_block1_conv2').getClassName(), 'GroupedConv2D', 'custom layer restored');
      t.equal(loaded.getLayer('stage1_block1_conv2').getConfig().groups, 2);
    }
  });
}

t.test('damaged files fail naming the file', async (t) => {
  const dir = t.testdir();
  const model = buildModel(specs[1]);
  await saveModel(model, dir);
  const weights = await readFile(path.join(dir, WEIGHTS_BIN));
  await writeFile(path.join(dir, WEIGHTS_BIN), weights.subarray(0, weights.length - 8));
  await t.rejects(loadModel(dir), {
    name: 'DataFormatError',
    message: new RegExp(`model\\.json: weights are ${weights.length - 8} bytes but model.json describes ${weights.length}`),
  });
  await writeFile(path.join(dir, MODEL_JSON), '{"modelTopology": ');
  await t.rejects(loadModel(dir), { name: 'DataFormatError', message: /model\.json: not JSON/ });
  const json = { modelTopology: {}, weightsManifest: [{ paths: ['../elsewhere.bin'], weights: [] }] };
  await writeFile(path.join(dir, MODEL_JSON), JSON.stringify(json));
  await t.rejects(loadModel(dir), { message: /weights path '\.\.\/elsewhere\.bin' is not a file next to model\.json/ });
  await t.rejects(loadModel(path.join(dir, 'missing')), { message: /missing\/model\.json: cannot open for reading: ENOENT/ });
});
