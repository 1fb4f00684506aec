import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { buildModel, type ModelSpec } from '../../../../trainer/engine/models/registry.js';
import { layerSeed, SeedSequence } from '../../../../trainer/engine/models/init.js';

await tf.setBackend('cpu');

const specs: ModelSpec[] = [
  { name: 'lenet', inputShape: [16, 16, 3], numClasses: 10, seed: 0 },
  { name: 'resnet', depth: 8, inputShape: [8, 8, 3], numClasses: 10, seed: 0 },
  { name: 'resnext', depth: 11, cardinality: 2, width: 4, baseChannels: 8, inputShape: [8, 8, 3], numClasses: 10, seed: 0 },
];

// tap's deep equality formats every element; on 400k-value kernels that takes minutes.
function sameValues(a: ArrayLike<number> | undefined, b: ArrayLike<number>): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function weightsByName(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

for (const spec of specs) {
  t.test(`${spec.name}: same seed gives identical weights, another seed different kernels`, async (t) => {
    const a = weightsByName(buildModel({ ...spec, seed: 42 }));
    const b = weightsByName(buildModel({ ...spec, seed: 42 }));
    const c = weightsByName(buildModel({ ...spec, seed: 43 }));
    t.same([...a.keys()], [...b.keys()]);
    for (const [name, values] of a) {
      t.ok(sameValues(b.get(name), values), `${name} identical for seed 42`);
      if (name.endsWith('kernel')) t.notOk(sameValues(c.get(name), values), `${name} differs for seed 43`);
    }
  });
}

t.test('a layer seed depends only on the model seed and its position', async (t) => {
  const seq = new SeedSequence(7);
  const drawn = [seq.next(), seq.next(), seq.next()];
  t.same(drawn, [layerSeed(7, 0), layerSeed(7, 1), layerSeed(7, 2)]);
  t.equal(new Set(drawn).size, 3, 'positions get distinct seeds');
  t.ok(drawn.every((s) => Number.isInteger(s) && s > 0), 'seeds are positive, so tfjs does not treat them as unseeded');
  // Deeper nets share the stem's initial weights: earlier positions do not move.
  const shallow = buildModel({ name: 'resnet', depth: 8, inputShape: [8, 8, 3], numClasses: 10, seed: 5 });
  const deeper = buildModel({ name: 'resnet', depth: 14, inputShape: [8, 8, 3], numClasses: 10, seed: 5 });
  t.ok(sameValues(deeper.getLayer('stem_conv').getWeights()[0].dataSync(), shallow.getLayer('stem_conv').getWeights()[0].dataSync()),
    'stem weights equal across depths');
  t.throws(() => new SeedSequence(1.5), /model seed must be an integer/);
});

t.test('kernels are He-normal: std sqrt(2 / fanIn), mean 0; biases zero', async (t) => {
  const model = buildModel({ name: 'lenet', inputShape: [28, 28, 3], numClasses: 10, seed: 3 });
  const check = (layer: string, fanIn: number): void => {
    const [kernel, bias] = model.getLayer(layer).getWeights();
    const { mean, variance } = tf.moments(kernel);
    const std = Math.sqrt(variance.dataSync()[0]);
    const want = Math.sqrt(2 / fanIn);
    t.ok(Math.abs(std / want - 1) < 0.05, `${layer}: std ${std.toFixed(4)} vs ${want.toFixed(4)}`);
    t.ok(Math.abs(mean.dataSync()[0]) < 0.1 * want, `${layer}: mean near 0`);
    t.equal(tf.max(tf.abs(bias)).dataSync()[0], 0, `${layer}: bias zero`);
  };
  check('conv2', 5 * 5 * 20);
  check('dense1', 4 * 4 * 50);
  const resnext = buildModel({ ...specs[2], seed: 3 });
  const grouped = resnext.getLayer('stage3_block1_conv2').getWeights()[0];
  // Fan-in of a grouped conv counts one group's input channels: 3 * 3 * (32 / 2).
  const std = Math.sqrt(tf.moments(grouped).variance.dataSync()[0]);
  t.ok(Math.abs(std / Math.sqrt(2 / (9 * 16)) - 1) < 0.05, `grouped conv std ${std.toFixed(4)}`);
});
