import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { buildModel, type ModelSpec } from '../../../../trainer/engine/models/registry.js';
import { Rng } from '../../../../trainer/util/rng.js';

await tf.setBackend('cpu');

const STEPS = 4;
// LeNet has no batch norm, and its saturating tanh units overshoot at the resnets' rate.
const specs: [ModelSpec, number][] = [
  [{ name: 'lenet', inputShape: [16, 16, 3], numClasses: 10, seed: 1 }, 0.01],
  [{ name: 'resnet', depth: 8, inputShape: [16, 16, 3], numClasses: 10, seed: 1 }, 0.05],
  [{ name: 'resnext', depth: 11, cardinality: 2, width: 4, baseChannels: 8, inputShape: [16, 16, 3], numClasses: 10, seed: 1 }, 0.05],
];

function batch(spec: ModelSpec): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const rng = new Rng(9);
  const shape: [number, number, number, number] = [2, ...spec.inputShape];
  const x = tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  return { x, y: tf.oneHot(tf.tensor1d([3, 7], 'int32'), spec.numClasses) as tf.Tensor2D };
}

for (const [spec, learningRate] of specs) {
  t.test(`${spec.name}: a few SGD steps on one tiny batch reduce the loss`, async (t) => {
    const model = buildModel(spec);
    const { x, y } = batch(spec);
    const optimizer = tf.train.sgd(learningRate);
    const loss = (): tf.Scalar => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
    const losses: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const cost = optimizer.minimize(loss, true);
      if (cost === null) throw new Error('minimize returned no cost');
      losses.push(cost.dataSync()[0]);
      cost.dispose();
    }
    losses.push(tf.tidy(loss).dataSync()[0]);
    t.ok(losses.every(Number.isFinite), `losses are finite: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    t.ok(losses[losses.length - 1] < 0.9 * losses[0], `loss fell from ${losses[0].toFixed(3)} to ${losses[losses.length - 1].toFixed(3)}`);
  });
}
