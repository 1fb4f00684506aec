import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../../trainer/engine/backend/select-backend.js';
import { shippedWasmKernel } from '../../../../trainer/engine/backend/register.js';
import { Rng } from '../../../../trainer/util/rng.js';

t.test('BatchMatMul with transposed operands on wasm equals the cpu backend', async (t) => {
  await selectBackend('wasm', () => undefined);
  t.ok(shippedWasmKernel('BatchMatMul'), 'the shipped kernel is kept for reference');
  const rng = new Rng(3);
  const cases: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [4, 6], b: [5, 6], ta: false, tb: true },
    { a: [6, 4], b: [5, 6], ta: true, tb: true },
    { a: [2, 3, 4], b: [2, 3, 5], ta: true, tb: false },
    { a: [3, 4], b: [4, 2], ta: false, tb: false },
  ];
  for (const c of cases) {
    const av = Float32Array.from({ length: c.a.reduce((x, y) => x * y, 1) }, () => rng.normal());
    const bv = Float32Array.from({ length: c.b.reduce((x, y) => x * y, 1) }, () => rng.normal());
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const a: tf.Tensor = tf.tensor(av, c.a);
        const b: tf.Tensor = tf.tensor(bv, c.b);
        return Array.from(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, c.ta, c.tb).dataSync());
      });
    };
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    const maxDiff = Math.max(...wasm.map((v, i) => Math.abs(v - cpu[i])));
    t.ok(maxDiff < 1e-4, `${JSON.stringify(c)}: max difference ${maxDiff.toExponential(2)}`);
  }
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  tf.tidy(() => tf.matMul(tf.ones([3, 2]), tf.ones([3, 4]), true, false).dataSync());
  t.equal(tf.memory().numTensors, before, 'no tensors leak');
});
