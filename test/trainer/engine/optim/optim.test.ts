import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { learningRateAt, parseStepEpochs } from '../../../../trainer/engine/optim/lr-schedule.js';
import { Sgd } from '../../../../trainer/engine/optim/sgd.js';
import { softmaxCrossEntropy, countCorrect } from '../../../../trainer/engine/loss.js';

await tf.setBackend('cpu');

t.test('step schedule follows MXNet lr-step-epochs semantics', async (t) => {
  const s = { kind: 'step' as const, baseLr: 0.05, stepEpochs: [2, 4], factor: 0.1, warmupEpochs: 0 };
  t.equal(learningRateAt(s, 0), 0.05);
  t.equal(learningRateAt(s, 1.99), 0.05);
  t.ok(Math.abs(learningRateAt(s, 2) - 0.005) < 1e-12);
  t.ok(Math.abs(learningRateAt(s, 3.5) - 0.005) < 1e-12);
  t.ok(Math.abs(learningRateAt(s, 4) - 0.0005) < 1e-12);
});

t.test('linear warm-up ramps to the scheduled rate', async (t) => {
  const s = { kind: 'constant' as const, baseLr: 1, warmupEpochs: 2 };
  t.ok(Math.abs(learningRateAt(s, 0) - 0.1) < 1e-12, 'starts at a tenth');
  t.ok(Math.abs(learningRateAt(s, 1) - 0.55) < 1e-12, 'half-way');
  t.equal(learningRateAt(s, 2), 1, 'reaches the base rate');
});

t.test('cosine schedule goes from base to min', async (t) => {
  const s = { kind: 'cosine' as const, baseLr: 0.1, totalEpochs: 10, minLr: 0.001, warmupEpochs: 0 };
  t.equal(learningRateAt(s, 0), 0.1);
  t.ok(Math.abs(learningRateAt(s, 5) - (0.001 + 0.099 * 0.5)) < 1e-12);
  t.ok(Math.abs(learningRateAt(s, 10) - 0.001) < 1e-12);
});

t.test('step epochs parse and reject bad values', async (t) => {
  t.same(parseStepEpochs('30, 60,90'), [30, 60, 90]);
  t.same(parseStepEpochs(undefined), []);
  t.throws(() => parseStepEpochs('3,x'), /'x' is not a positive integer/);
  t.throws(() => parseStepEpochs('6,3'), /strictly increasing/);
});

t.test('SGD matches the hand-computed momentum, nesterov and weight-decay update', async (t) => {
  for (const nesterov of [false, true]) {
    const w = tf.variable(tf.tensor1d([1, -2]), true, `w_${nesterov}`);
    const b = tf.variable(tf.tensor1d([0.5]), true, `b_${nesterov}`);
    const sgd = new Sgd(
      [
        { variable: w, decay: true, lrMultiplier: 1 },
        { variable: b, decay: false, lrMultiplier: 0.5 },
      ],
      { momentum: 0.9, nesterov, weightDecay: 0.1 },
    );
    let vw = [0, 0];
    let vb = 0;
    let ew = [1, -2];
    let eb = 0.5;
    const lr = 0.1;
    for (let step = 0; step < 3; step++) {
      const gw = [0.3, -0.1];
      const gb = 0.2;
      sgd.apply({ [w.name]: tf.tensor1d(gw), [b.name]: tf.tensor1d([gb]) }, lr);
      const gwd = gw.map((g, i) => g + 0.1 * ew[i]);
      vw = vw.map((v, i) => 0.9 * v + gwd[i]);
      vb = 0.9 * vb + gb;
      const stepW = nesterov ? gwd.map((g, i) => g + 0.9 * vw[i]) : vw;
      const stepB = nesterov ? gb + 0.9 * vb : vb;
      ew = ew.map((x, i) => x - lr * stepW[i]);
      eb = eb - lr * 0.5 * stepB;
    }
    const got = Array.from(w.dataSync());
    got.forEach((g, i) => t.ok(Math.abs(g - ew[i]) < 1e-6, `nesterov=${nesterov} w[${i}] ${g} ~ ${ew[i]}`));
    t.ok(Math.abs(b.dataSync()[0] - eb) < 1e-6, `nesterov=${nesterov} bias without decay, half lr`);
    sgd.dispose();
    w.dispose();
    b.dispose();
  }
});

t.test('SGD state round-trips so a resumed run continues identically', async (t) => {
  const make = (name: string) => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, name);
    return { w, sgd: new Sgd([{ variable: w, decay: true, lrMultiplier: 1 }], { momentum: 0.9, nesterov: false, weightDecay: 1e-4 }) };
  };
  const a = make('wa');
  const grad = () => ({ wa: tf.tensor1d([0.1, -0.2, 0.3]), wb: tf.tensor1d([0.1, -0.2, 0.3]) });
  a.sgd.apply(grad(), 0.1);
  const saved = a.sgd.state();
  const b = make('wb');
  b.w.assign(a.w);
  // State is keyed by variable name; copy a's buffer under b's name.
  b.sgd.restore({ momentum: { wb: saved.momentum.wa } });
  a.sgd.apply(grad(), 0.1);
  b.sgd.apply(grad(), 0.1);
  t.same(Array.from(b.w.dataSync()), Array.from(a.w.dataSync()));
  t.throws(() => b.sgd.restore({ momentum: {} }), /no momentum for variable 'wb'/);
});

t.test('cross-entropy and accuracy', async (t) => {
  const logits = tf.tensor2d([
    [2, 0, 0],
    [0, 0, 3],
  ]);
  const labels = tf.tensor1d([0, 1], 'int32');
  const expected = (() => {
    const l0 = -(2 - Math.log(Math.exp(2) + 2));
    const l1 = -(0 - Math.log(2 + Math.exp(3)));
    return (l0 + l1) / 2;
  })();
  t.ok(Math.abs(softmaxCrossEntropy(logits, labels).dataSync()[0] - expected) < 1e-5);
  const smoothed = softmaxCrossEntropy(logits, labels, 0.3).dataSync()[0];
  t.ok(smoothed !== expected && Number.isFinite(smoothed), 'label smoothing changes the loss');
  t.equal(countCorrect(logits, labels), 1);
});
