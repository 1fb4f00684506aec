import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { MxBatchNorm, MxPooling2D, pooledLength, type PoolType, type PoolingConvention } from '../../../../../trainer/engine/models/mxnet/layers.js';

/** MXNet's pooling of one H x W channel, as pool.h loops over it. */
function refPool(x: number[], h: number, w: number, type: PoolType, k: number, s: number, p: number, convention: PoolingConvention, countIncludePad: boolean): number[] {
  const oh = pooledLength(h, k, s, p, convention);
  const ow = pooledLength(w, k, s, p, convention);
  const out: number[] = [];
  for (let py = 0; py < oh; py++) {
    for (let px = 0; px < ow; px++) {
      let hs = py * s - p;
      let ws = px * s - p;
      let he = Math.min(hs + k, h + p);
      let we = Math.min(ws + k, w + p);
      let size = (he - hs) * (we - ws);
      hs = Math.max(hs, 0);
      ws = Math.max(ws, 0);
      he = Math.min(he, h);
      we = Math.min(we, w);
      if (!countIncludePad) size = (he - hs) * (we - ws);
      let acc = type === 'max' ? -Infinity : 0;
      for (let y = hs; y < he; y++) for (let xx = ws; xx < we; xx++) acc = type === 'max' ? Math.max(acc, x[y * w + xx]) : acc + x[y * w + xx];
      out.push(type === 'avg' ? acc / size : acc);
    }
  }
  return out;
}

t.test('MxPooling2D matches MXNet pooling for both conventions, padding and divisors', async (t) => {
  const h = 7;
  const w = 6;
  const x = Array.from({ length: h * w }, (_, i) => Math.cos(i * 1.7) * 3 - 0.5);
  const configs: Array<[PoolType, number, number, number, PoolingConvention, boolean]> = [
    ['max', 3, 2, 0, 'valid', true],
    ['max', 3, 2, 1, 'full', true],
    ['max', 2, 2, 0, 'full', true],
    ['avg', 2, 2, 0, 'full', true],
    ['avg', 3, 2, 1, 'full', true],
    ['avg', 3, 2, 1, 'full', false],
    ['avg', 3, 1, 1, 'valid', true],
    ['sum', 3, 2, 1, 'full', true],
  ];
  for (const [type, k, s, p, convention, countIncludePad] of configs) {
    const layer = new MxPooling2D({ poolType: type, kernel: [k, k], stride: [s, s], pad: [p, p], convention, countIncludePad, global: false });
    const got = tf.tidy(() => (layer.apply(tf.tensor4d(x, [1, h, w, 1])) as tf.Tensor).dataSync());
    const expected = refPool(x, h, w, type, k, s, p, convention, countIncludePad);
    const label = `${type} k${k} s${s} p${p} ${convention}${countIncludePad ? '' : ' exclude-pad'}`;
    t.equal(got.length, expected.length, `${label}: output size`);
    t.ok(expected.every((e, i) => Math.abs(e - got[i]) < 1e-5), `${label}: values`);
  }
  const past = new MxPooling2D({ name: 'past', poolType: 'avg', kernel: [2, 2], stride: [3, 3], pad: [1, 1], convention: 'full', countIncludePad: true, global: false });
  t.throws(() => past.apply(tf.input({ shape: [7, 7, 1] })), /past: the last full window starts past the input \(size 7, kernel 2, stride 3, pad 1\)/, 'a window with no pixel in it is refused, not averaged to 0');
  t.equal(pooledLength(7, 2, 2, 0, 'full'), 4);
  t.equal(pooledLength(7, 2, 2, 0, 'valid'), 3);
  const global = new MxPooling2D({ poolType: 'avg', kernel: [1, 1], stride: [1, 1], pad: [0, 0], convention: 'valid', countIncludePad: true, global: true });
  const mean = tf.tidy(() => (global.apply(tf.tensor4d(x, [1, h, w, 1])) as tf.Tensor).dataSync()[0]);
  t.ok(Math.abs(mean - x.reduce((a, b) => a + b, 0) / x.length) < 1e-5, 'global average');
});

t.test('MxBatchNorm: fix_gamma trains without a scale, use_global_stats keeps the moving statistics', async (t) => {
  const x = tf.tensor4d(Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i * 0.5 - 2), [2, 2, 2, 3]);
  const make = (useGlobalStats: boolean) => {
    const layer = new MxBatchNorm({ epsilon: 1e-3, momentum: 0.9, scale: false, useGlobalStats });
    layer.apply(tf.input({ shape: [2, 2, 3] }));
    layer.setWeights([tf.tensor1d([0.1, 0.2, 0.3]), tf.tensor1d([1, 0, -1]), tf.tensor1d([2, 2, 2])]);
    return layer;
  };
  const moving = (layer: MxBatchNorm) => layer.getWeights().slice(1).map((w) => [...w.dataSync()]);

  const frozen = make(true);
  const inference = tf.tidy(() => [...(frozen.apply(x, { training: false }) as tf.Tensor).dataSync()]);
  const training = tf.tidy(() => [...(frozen.apply(x, { training: true }) as tf.Tensor).dataSync()]);
  t.same(training, inference, 'use_global_stats: training normalises with the moving statistics');
  t.same(moving(frozen), [[1, 0, -1], [2, 2, 2]], 'use_global_stats: the moving statistics do not move');
  const v0 = x.dataSync()[0];
  t.ok(Math.abs(inference[0] - ((v0 - 1) / Math.sqrt(2 + 1e-3) + 0.1)) < 1e-5, 'no scale: gamma is 1');

  const live = make(false);
  const { grads } = tf.variableGrads(() => tf.sum(tf.square(live.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, live.trainableWeights.map((w) => w.read() as tf.Variable));
  t.equal(Object.keys(grads).length, 1, 'only beta is trainable');
  const [mean0] = tf.tidy(() => tf.moments(x, [0, 1, 2]).mean.dataSync());
  t.ok(Math.abs(moving(live)[0][0] - (0.9 * 1 + 0.1 * mean0)) < 1e-5, 'training updates the moving mean with momentum 0.9');
  tf.dispose([x, ...Object.values(grads)]);
});
