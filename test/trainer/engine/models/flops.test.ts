import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { forwardFlopsPerImage } from '../../../../trainer/engine/models/flops.js';
import { buildModel } from '../../../../trainer/engine/models/registry.js';

await tf.setBackend('cpu');

t.test('FLOPs of a conv + dense model are counted from kernels and output sizes', async (t) => {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c' }).apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, name: 'd' }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  // conv: 3*3*3*4 weights at 8*8 positions; dense: 256*10 weights.
  t.equal(forwardFlopsPerImage(model), 2 * (3 * 3 * 3 * 4 * 64 + 256 * 10));
});

t.test('ResNet-20 is about 41 MFLOPs (multiply-adds x2) per 32x32 image', async (t) => {
  const model = buildModel({ name: 'resnet', depth: 20, inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  const flops = forwardFlopsPerImage(model);
  // He et al. report 41M multiply-adds for ResNet-20; the projection shortcuts add a little.
  t.ok(flops > 2 * 40e6 && flops < 2 * 43e6, `ResNet-20: ${(flops / 2e6).toFixed(1)}M multiply-adds`);
  model.dispose();
});
