import t from 'tap';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../../trainer/engine/models/registry.js';
import { saveModel } from '../../../trainer/engine/models/model-store.js';
import { setPreprocessing } from '../../../trainer/engine/models/preprocessing.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../../../trainer/data/pipeline/normalize.js';
import { openSink } from '../../../trainer/io/uri.js';
import { IndexedRecordIOWriter } from '../../../trainer/data/recordio/indexed-writer.js';
import { packImageRecord } from '../../../trainer/data/recordio/image-record.js';
import { encodePng } from '../../../trainer/data/image/encode.js';
import { Rng } from '../../../trainer/util/rng.js';
import { runTrainerCli } from '../../helpers/cli.js';

interface Line {
  index: number;
  labels: number[];
  probabilities: number[];
}

const SIZE = 18;
const CROP = 16;

async function writeRecords(path: string, labels: number[][], size = SIZE): Promise<Uint8Array[]> {
  const rng = new Rng(7);
  const writer = new IndexedRecordIOWriter(openSink(`${path}.rec`), openSink(`${path}.idx`));
  const images: Uint8Array[] = [];
  for (const [i, l] of labels.entries()) {
    const px = new Uint8Array(size * size * 3).map(() => rng.int(256));
    images.push(px);
    await writer.write(i, packImageRecord({ labels: l, id: i }, encodePng(px, size, size)));
  }
  await writer.commit();
  return images;
}

/** What the model says about the centre 16x16 of each 18x18 image, normalised with mean/std. */
function direct(model: tf.LayersModel, images: Uint8Array[], mean: readonly number[], std: readonly number[]): number[][] {
  return tf.tidy(() => {
    const x = new Float32Array(images.length * CROP * CROP * 3);
    images.forEach((px, n) => {
      for (let y = 0; y < CROP; y++) for (let xx = 0; xx < CROP; xx++) for (let c = 0; c < 3; c++) x[((n * CROP + y) * CROP + xx) * 3 + c] = (px[((y + 1) * SIZE + xx + 1) * 3 + c] - mean[c]) / std[c];
    });
    const probs = tf.softmax(model.predict(tf.tensor4d(x, [images.length, CROP, CROP, 3])) as tf.Tensor2D);
    return probs.arraySync() as number[][];
  });
}

t.test('predict --json: one line per record in order, the softmax of the model, then a summary', async (t) => {
  const dir = t.testdir();
  const model = buildModel({ name: 'lenet', inputShape: [CROP, CROP, 3], numClasses: 4, seed: 3 });
  await saveModel(model, join(dir, 'model'));
  // Record 2 has two labels (only the first is scored); record 4's label is not a class of the model.
  const labels = [[0], [1], [2, 3], [3], [12], [1], [0]];
  const images = await writeRecords(join(dir, 'data'), labels);
  const { code, stdout, stderr } = await runTrainerCli(['predict', '--model', join(dir, 'model'), '--data', join(dir, 'data.rec'), '--json', '--batch-size', '3', '--backend', 'wasm']);
  t.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = (lines.pop() as { summary: Record<string, number | null> }).summary;
  const records = lines as unknown as Line[];
  t.same(records.map((r) => Object.keys(r)), records.map(() => ['index', 'labels', 'probabilities']), 'exactly the documented fields');
  t.same(records.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6]);
  t.same(records.map((r) => r.labels), labels, 'every label of every record, multi-label kept');

  // A model saved without stored preprocessing was trained here, on the CIFAR-10 statistics.
  const expected = direct(model, images, CIFAR10_MEAN, CIFAR10_STD);
  const worst = Math.max(...records.flatMap((r, i) => r.probabilities.map((p, k) => Math.abs(p - expected[i][k]))));
  t.ok(worst < 1e-5, `probabilities are the model's softmax on the centre crop (worst ${worst.toExponential(2)})`);
  for (const r of records) t.ok(Math.abs(r.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-9, `record ${r.index}: probabilities sum to 1`);

  const scored = records.filter((r) => r.labels[0] < 4);
  const correct = scored.filter((r) => r.probabilities.indexOf(Math.max(...r.probabilities)) === r.labels[0]).length;
  t.equal(summary.records, 7);
  t.equal(summary.labeled, 6, 'the record labeled 12 is not scored');
  t.equal(summary.correct, correct);
  t.equal(summary.accuracy, correct / 6);
  const loss = scored.reduce((s, r) => s - Math.log(r.probabilities[r.labels[0]]), 0) / 6;
  t.ok(Math.abs((summary.loss as number) - loss) < 1e-6, 'loss is the mean cross-entropy of the first labels');
  t.equal(summary.classes, 4);

  // Stored preprocessing wins over the default.
  setPreprocessing(model, { mean: [0, 0, 0], std: [255, 255, 255] });
  await saveModel(model, join(dir, 'scaled'));
  const scaled = await runTrainerCli(['predict', '--model', join(dir, 'scaled'), '--data', join(dir, 'data.rec'), '--json', '--backend', 'wasm']);
  const first = JSON.parse(scaled.stdout.split('\n')[0]) as Line;
  const expectedScaled = direct(model, images.slice(0, 1), [0, 0, 0], [255, 255, 255])[0];
  t.ok(first.probabilities.every((p, k) => Math.abs(p - expectedScaled[k]) < 1e-5), 'the model\'s stored mean and std are applied');
  model.dispose();
});

t.test('predict fails clearly on bad input', async (t) => {
  const dir = t.testdir();
  const model = buildModel({ name: 'lenet', inputShape: [20, 20, 3], numClasses: 3, seed: 1 });
  await saveModel(model, join(dir, 'model'));
  model.dispose();
  await writeRecords(join(dir, 'small'), [[0], [1]]);
  const run = (args: string[]) => runTrainerCli(['predict', ...args, '--backend', 'wasm']);

  const noModel = await run(['--data', 'x.rec']);
  t.equal(noModel.code, 2);
  t.match(noModel.stderr, /predict: --model DIR is required/);
  const missing = await run(['--model', join(dir, 'nowhere'), '--data', join(dir, 'small.rec')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--model .*nowhere: cannot read model/);
  const small = await run(['--model', join(dir, 'model'), '--data', join(dir, 'small.rec')]);
  t.equal(small.code, 1);
  t.match(small.stderr, /small\.rec: at byte offset 0: image is 18x18, smaller than the model's 20x20 input/);
  const batch = await run(['--model', join(dir, 'model'), '--data', join(dir, 'small.rec'), '--batch-size', '0']);
  t.match(batch.stderr, /--batch-size must be between 1 and 65536/);
});
