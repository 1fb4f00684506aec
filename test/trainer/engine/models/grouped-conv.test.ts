import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { GroupedConv2D } from '../../../../trainer/engine/models/grouped-conv2d.js';
import { Rng } from '../../../../trainer/util/rng.js';

await tf.setBackend('cpu');

function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => rng.normal()), shape);
}

/** The dense [kh, kw, cin, cout] kernel equal to a grouped one: zero outside the diagonal blocks. */
function blockDiagonal(grouped: number[][][][], cin: number, groups: number): number[][][][] {
  return grouped.map((row) => row.map((cell) => {
    const perIn = cell.length;
    const cout = cell[0].length;
    const perOut = cout / groups;
    return Array.from({ length: cin }, (_, i) => Array.from({ length: cout }, (_, o) => {
      const g = Math.floor(i / perIn);
      return Math.floor(o / perOut) === g ? cell[i - g * perIn][o] : 0;
    }));
  }));
}

const cases = [
  { groups: 2, cin: 4, filters: 6, kernel: 3, strides: 1, padding: 'same' as const },
  { groups: 4, cin: 8, filters: 8, kernel: 3, strides: 2, padding: 'same' as const },
  { groups: 3, cin: 6, filters: 3, kernel: 2, strides: 1, padding: 'valid' as const },
];

for (const c of cases) {
  t.test(`equals a dense conv with a block-diagonal kernel (${JSON.stringify(c)})`, async (t) => {
    const rng = new Rng(11 + c.groups);
    const layer = new GroupedConv2D({
      name: 'g', filters: c.filters, kernelSize: c.kernel, strides: c.strides, padding: c.padding,
      groups: c.groups, useBias: true, kernelSeed: 5,
    });
    const x = randomTensor(rng, [2, 7, 7, c.cin]) as tf.Tensor4D;
    layer.apply(x);
    const [kernel] = layer.getWeights();
    t.same(kernel.shape, [c.kernel, c.kernel, c.cin / c.groups, c.filters], 'kernel holds only the groups');
    const bias = randomTensor(rng, [c.filters]);
    layer.setWeights([kernel, bias]);
    const y = layer.apply(x) as tf.Tensor;

    const dense = tf.tensor4d(blockDiagonal(kernel.arraySync() as number[][][][], c.cin, c.groups));
    const expected = tf.conv2d(x, dense, c.strides, c.padding).add(bias);
    t.same(y.shape, expected.shape);
    t.same(layer.computeOutputShape([null, 7, 7, c.cin]), [null, ...expected.shape.slice(1)], 'computeOutputShape agrees');
    const maxDiff = tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0];
    t.ok(maxDiff < 1e-4, `max difference ${maxDiff} < 1e-4`);
    // Every input channel seeing every output (no mask) must give something else,
    // or the comparison above could not tell grouped from dense.
    const unmasked = tf.tile(kernel, [1, 1, c.groups, 1]) as tf.Tensor4D;
    const denseOut = tf.conv2d(x, unmasked, c.strides, c.padding).add(bias);
    const gap = tf.max(tf.abs(tf.sub(y, denseOut))).dataSync()[0];
    t.ok(gap > 1e-3, `differs from the unmasked dense conv by ${gap}`);
  });
}

t.test('gradients flow to every group of the kernel', async (t) => {
  const layer = new GroupedConv2D({ name: 'g', filters: 4, kernelSize: 3, padding: 'same', groups: 2, kernelSeed: 3 });
  const x = randomTensor(new Rng(2), [1, 5, 5, 4]);
  layer.apply(x);
  const kernel = layer.trainableWeights[0].read() as tf.Variable;
  const { grads } = tf.variableGrads(() => (layer.apply(x) as tf.Tensor).square().sum() as tf.Scalar, [kernel]);
  const perGroup = tf.split(tf.abs(grads[kernel.name]), 2, 3).map((g) => g.sum().dataSync()[0]);
  t.ok(perGroup.every((s) => s > 0), `each group has a non-zero gradient (${perGroup.join(', ')})`);
});

t.test('config round-trips and bad shapes are named', async (t) => {
  const layer = new GroupedConv2D({ name: 'gc', filters: 8, kernelSize: [3, 1], strides: 2, padding: 'same', groups: 4, useBias: false, kernelSeed: 9 });
  const config = layer.getConfig();
  t.match(config, { name: 'gc', filters: 8, kernelSize: [3, 1], strides: [2, 2], padding: 'same', groups: 4, useBias: false, kernelSeed: 9 });
  const copy = GroupedConv2D.fromConfig(GroupedConv2D, config) as GroupedConv2D;
  t.same([copy.groups, copy.kernelSize, copy.useBias], [4, [3, 1], false]);
  t.throws(() => new GroupedConv2D({ name: 'bad', filters: 6, kernelSize: 3, groups: 4, kernelSeed: 1 }),
    /GroupedConv2D bad: filters 6 is not divisible by groups 4/);
  const odd = new GroupedConv2D({ name: 'odd', filters: 4, kernelSize: 3, groups: 2, kernelSeed: 1 });
  t.throws(() => odd.apply(tf.zeros([1, 4, 4, 3])), /GroupedConv2D odd: input channels 3 are not divisible by groups 2/);
});
