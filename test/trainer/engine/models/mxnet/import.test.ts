import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../../../../../trainer/engine/models/model-store.js';
import { preprocessingOf } from '../../../../../trainer/engine/models/preprocessing.js';
import { resolveLayerName } from '../../../../../trainer/engine/models/mxnet/import.js';
import { openSink } from '../../../../../trainer/io/uri.js';
import { IndexedRecordIOWriter } from '../../../../../trainer/data/recordio/indexed-writer.js';
import { packImageRecord } from '../../../../../trainer/data/recordio/image-record.js';
import { encodePng } from '../../../../../trainer/data/image/encode.js';
import { Rng } from '../../../../../trainer/util/rng.js';
import { runTrainerCli } from '../../../../helpers/cli.js';
import { ndarrayListBytes, symbolJson, type GraphNode, type WriteArray, type WriteLayout } from '../../../../helpers/mxnet-checkpoint.js';

// ---------------------------------------------------------------------------------------
// The test network, in MXNet terms (NCHW), input 3 x 13 x 13:
//   bn_data    BatchNorm fix_gamma (its stored gamma is not 1, and must be ignored)
//   conv0      3x3 pad 1, 8 filters, bias          -> 8 x 13 x 13
//   bn0, relu0 BatchNorm (learned gamma, default eps 1e-3), relu
//   conv1      3x3 stride 2 pad 1, 4 groups, no bias -> 8 x 7 x 7
//   leaky0     LeakyReLU slope 0.1
//   pool0      avg 2x2 stride 2, 'full'            -> 8 x 4 x 4 (the last windows overhang)
//   conv2a/b   3x3 pad 1 and 1x1 to 6 channels, added as _plus0
//   concat0    [_plus0, pool0]                     -> 14 x 4 x 4
//   pool1      max 3x3 stride 2 pad 1, 'full'      -> 14 x 3 x 3
//   flatten0, drop0, fc1 (5 outputs), softmax (SoftmaxOutput)
// ---------------------------------------------------------------------------------------

const IN = { c: 3, h: 13, w: 13 };
const STORED = 15; // images are 15x15; predict centre-crops them to 13x13
const MEAN = [120, 110, 100];
const STD = [60, 50, 40];

type Params = Map<string, WriteArray>;

function makeParams(seed: number): Params {
  const rng = new Rng(seed);
  const uniform = (lo: number, hi: number) => Math.fround(lo + (hi - lo) * rng.next());
  const params: Params = new Map();
  const put = (name: string, shape: number[], lo: number, hi: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    params.set(name, { shape, data: Array.from({ length: n }, () => uniform(lo, hi)) });
  };
  const he = (fanIn: number) => Math.sqrt(6 / fanIn);
  const bn = (prefix: string, c: number) => {
    put(`arg:${prefix}_gamma`, [c], 0.5, 1.5);
    put(`arg:${prefix}_beta`, [c], -0.2, 0.2);
    put(`aux:${prefix}_moving_mean`, [c], -0.3, 0.3);
    put(`aux:${prefix}_moving_var`, [c], 0.5, 2);
  };
  bn('bn_data', 3);
  put('arg:conv0_weight', [8, 3, 3, 3], -he(27), he(27));
  put('arg:conv0_bias', [8], -0.1, 0.1);
  bn('bn0', 8);
  put('arg:conv1_weight', [8, 2, 3, 3], -he(18), he(18));
  put('arg:conv2a_weight', [6, 8, 3, 3], -he(72), he(72));
  put('arg:conv2a_bias', [6], -0.1, 0.1);
  put('arg:conv2b_weight', [6, 8, 1, 1], -he(8), he(8));
  put('arg:fc1_weight', [5, 126], -he(126), he(126));
  put('arg:fc1_bias', [5], -0.1, 0.1);
  return params;
}

function graph(): GraphNode[] {
  const v = (name: string): GraphNode => ({ op: 'null', name });
  const bn = (name: string, input: string, attrs: Record<string, string>): GraphNode[] => [
    v(`${name}_gamma`), v(`${name}_beta`), v(`${name}_moving_mean`), v(`${name}_moving_var`),
    { op: 'BatchNorm', name, attrs, inputs: [input, `${name}_gamma`, `${name}_beta`, `${name}_moving_mean`, `${name}_moving_var`] },
  ];
  return [
    v('data'),
    ...bn('bn_data', 'data', { eps: '2e-05', fix_gamma: 'True', momentum: '0.9' }),
    v('conv0_weight'), v('conv0_bias'),
    { op: 'Convolution', name: 'conv0', attrs: { kernel: '(3, 3)', pad: '(1, 1)', stride: '(1, 1)', num_filter: '8', workspace: '256' }, inputs: ['bn_data', 'conv0_weight', 'conv0_bias'] },
    ...bn('bn0', 'conv0', { fix_gamma: 'False' }),
    { op: 'Activation', name: 'relu0', attrs: { act_type: 'relu' }, inputs: ['bn0'] },
    v('conv1_weight'),
    { op: 'Convolution', name: 'conv1', attrs: { kernel: '(3, 3)', stride: '(2, 2)', pad: '(1, 1)', num_filter: '8', num_group: '4', no_bias: 'True' }, inputs: ['relu0', 'conv1_weight'] },
    { op: 'LeakyReLU', name: 'leaky0', attrs: { act_type: 'leaky', slope: '0.1' }, inputs: ['conv1'] },
    { op: 'Pooling', name: 'pool0', attrs: { kernel: '(2, 2)', stride: '(2, 2)', pool_type: 'avg', pooling_convention: 'full' }, inputs: ['leaky0'] },
    v('conv2a_weight'), v('conv2a_bias'),
    { op: 'Convolution', name: 'conv2a', attrs: { kernel: '(3, 3)', pad: '(1, 1)', num_filter: '6' }, inputs: ['pool0', 'conv2a_weight', 'conv2a_bias'] },
    v('conv2b_weight'),
    { op: 'Convolution', name: 'conv2b', attrs: { kernel: '(1, 1)', num_filter: '6', no_bias: 'True' }, inputs: ['pool0', 'conv2b_weight'] },
    { op: 'elemwise_add', name: '_plus0', inputs: ['conv2a', 'conv2b'] },
    { op: 'Concat', name: 'concat0', attrs: { dim: '1', num_args: '2' }, inputs: ['_plus0', 'pool0'] },
    { op: 'Pooling', name: 'pool1', attrs: { kernel: '(3, 3)', stride: '(2, 2)', pad: '(1, 1)', pool_type: 'max', pooling_convention: 'full' }, inputs: ['concat0'] },
    { op: 'Flatten', name: 'flatten0', inputs: ['pool1'] },
    { op: 'Dropout', name: 'drop0', attrs: { p: '0.25' }, inputs: ['flatten0'] },
    v('fc1_weight'), v('fc1_bias'),
    { op: 'FullyConnected', name: 'fc1', attrs: { num_hidden: '5' }, inputs: ['drop0', 'fc1_weight', 'fc1_bias'] },
    v('softmax_label'),
    { op: 'SoftmaxOutput', name: 'softmax', attrs: { grad_scale: '1' }, inputs: ['fc1', 'softmax_label'] },
  ];
}

// ---- the reference: a plain float64 NCHW forward pass, one image at a time ----

interface Map3 {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}
const at = (m: Map3, c: number, y: number, x: number) => m.d[(c * m.h + y) * m.w + x];

function refBatchNorm(x: Map3, p: Params, prefix: string, eps: number, fixGamma: boolean): Map3 {
  const g = p.get(`arg:${prefix}_gamma`)!.data;
  const b = p.get(`arg:${prefix}_beta`)!.data;
  const m = p.get(`aux:${prefix}_moving_mean`)!.data;
  const v = p.get(`aux:${prefix}_moving_var`)!.data;
  const d = new Float64Array(x.d.length);
  for (let c = 0; c < x.c; c++) {
    for (let i = 0; i < x.h * x.w; i++) {
      d[c * x.h * x.w + i] = ((x.d[c * x.h * x.w + i] - m[c]) / Math.sqrt(v[c] + eps)) * (fixGamma ? 1 : g[c]) + b[c];
    }
  }
  return { ...x, d };
}

function refConv(x: Map3, w: ArrayLike<number>, bias: ArrayLike<number> | undefined, o: number, k: number, stride: number, pad: number, groups: number): Map3 {
  const oh = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const perIn = x.c / groups;
  const perOut = o / groups;
  const d = new Float64Array(o * oh * ow);
  for (let f = 0; f < o; f++) {
    const g = Math.floor(f / perOut);
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        let sum = bias ? bias[f] : 0;
        for (let i = 0; i < perIn; i++) {
          for (let r = 0; r < k; r++) {
            for (let s = 0; s < k; s++) {
              const iy = y * stride - pad + r;
              const ix = xx * stride - pad + s;
              if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
              sum += w[((f * perIn + i) * k + r) * k + s] * at(x, g * perIn + i, iy, ix);
            }
          }
        }
        d[(f * oh + y) * ow + xx] = sum;
      }
    }
  }
  return { c: o, h: oh, w: ow, d };
}

/** MXNet pooling, 'full' convention, as pool.h describes it (avg divides by the window clipped to the padded input). */
function refPoolFull(x: Map3, type: 'max' | 'avg', k: number, stride: number, pad: number): Map3 {
  const oh = 1 + Math.ceil((x.h + 2 * pad - k) / stride);
  const ow = 1 + Math.ceil((x.w + 2 * pad - k) / stride);
  const d = new Float64Array(x.c * oh * ow);
  for (let c = 0; c < x.c; c++) {
    for (let py = 0; py < oh; py++) {
      for (let px = 0; px < ow; px++) {
        let hs = py * stride - pad;
        let ws = px * stride - pad;
        let he = Math.min(hs + k, x.h + pad);
        let we = Math.min(ws + k, x.w + pad);
        const poolSize = (he - hs) * (we - ws);
        hs = Math.max(hs, 0);
        ws = Math.max(ws, 0);
        he = Math.min(he, x.h);
        we = Math.min(we, x.w);
        let acc = type === 'max' ? -Infinity : 0;
        for (let y = hs; y < he; y++) for (let xx = ws; xx < we; xx++) acc = type === 'max' ? Math.max(acc, at(x, c, y, xx)) : acc + at(x, c, y, xx);
        d[(c * oh + py) * ow + px] = type === 'max' ? acc : acc / poolSize;
      }
    }
  }
  return { c: x.c, h: oh, w: ow, d };
}

function refForward(p: Params, pixels: Uint8Array): number[] {
  // Centre crop of the stored image, normalised with the model's mean and std, to NCHW.
  const off = (STORED - IN.h) / 2;
  let x: Map3 = { ...IN, d: new Float64Array(IN.c * IN.h * IN.w) };
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < IN.h; y++) for (let xx = 0; xx < IN.w; xx++) x.d[(c * IN.h + y) * IN.w + xx] = (pixels[((y + off) * STORED + xx + off) * 3 + c] - MEAN[c]) / STD[c];
  }
  const w = (name: string) => p.get(`arg:${name}`)!.data;
  x = refBatchNorm(x, p, 'bn_data', 2e-5, true);
  x = refConv(x, w('conv0_weight'), w('conv0_bias'), 8, 3, 1, 1, 1);
  x = refBatchNorm(x, p, 'bn0', 1e-3, false);
  x = { ...x, d: x.d.map((v) => Math.max(0, v)) };
  x = refConv(x, w('conv1_weight'), undefined, 8, 3, 2, 1, 4);
  x = { ...x, d: x.d.map((v) => (v > 0 ? v : 0.1 * v)) };
  const pool0 = refPoolFull(x, 'avg', 2, 2, 0);
  const a = refConv(pool0, w('conv2a_weight'), w('conv2a_bias'), 6, 3, 1, 1, 1);
  const b = refConv(pool0, w('conv2b_weight'), undefined, 6, 1, 1, 0, 1);
  const sum: Map3 = { ...a, d: a.d.map((v, i) => v + b.d[i]) };
  const cat: Map3 = { c: 14, h: 4, w: 4, d: Float64Array.from([...sum.d, ...pool0.d]) };
  const pooled = refPoolFull(cat, 'max', 3, 2, 1);
  const flat = pooled.d; // C, H, W order, as MXNet's Flatten
  const fw = w('fc1_weight');
  const fb = w('fc1_bias');
  const logits = Array.from({ length: 5 }, (_, o) => flat.reduce((s, v, j) => s + v * fw[o * flat.length + j], fb[o]));
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}

// ---- fixtures on disk ----

function writeCheckpoint(dir: string, prefix: string, params: Params, layout: WriteLayout, style: 'attrs' | 'param'): { symbol: string; params: string } {
  mkdirSync(dir, { recursive: true });
  const symbol = join(dir, `${prefix}-symbol.json`);
  const file = join(dir, `${prefix}-0007.params`);
  writeFileSync(symbol, symbolJson(graph(), 'softmax', style));
  writeFileSync(file, ndarrayListBytes(params, layout));
  return { symbol, params: file };
}

interface Images {
  pixels: Uint8Array[];
  labels: number[];
}

/** Random images (or, with `learnable`, images whose brightest channel is the label) as a PNG RecordIO file. */
async function writeRecords(path: string, count: number, seed: number, classes: number, learnable = false): Promise<Images> {
  const rng = new Rng(seed);
  const writer = new IndexedRecordIOWriter(openSink(`${path}.rec`), openSink(`${path}.idx`));
  const out: Images = { pixels: [], labels: [] };
  for (let i = 0; i < count; i++) {
    const label = rng.int(classes);
    const px = new Uint8Array(STORED * STORED * 3).map((_, j) => (learnable ? (j % 3 === label ? 40 + rng.int(216) : rng.int(216)) : rng.int(256)));
    out.pixels.push(px);
    out.labels.push(label);
    await writer.write(i, packImageRecord({ labels: [label], id: i }, encodePng(px, STORED, STORED)));
  }
  await writer.commit();
  return out;
}

interface PredictLine {
  index: number;
  labels: number[];
  probabilities: number[];
}

function parsePredictions(stdout: string): { records: PredictLine[]; summary: Record<string, number> } {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = lines.pop() as { summary: Record<string, number> };
  return { records: lines as unknown as PredictLine[], summary: last.summary };
}

t.test('an MXNet checkpoint imports and predicts what a reference NCHW forward pass computes', async (t) => {
  const dir = t.testdir();
  const params = makeParams(11);
  const data = join(dir, 'data');
  const images = await writeRecords(data, 12, 5, 5);
  const expected = images.pixels.map((px) => refForward(params, px));

  for (const [layout, style] of [['v2', 'attrs'], ['v3', 'attrs'], ['legacy', 'param']] as const) {
    const ckpt = writeCheckpoint(join(dir, layout), 'tiny', params, layout, style);
    const out = join(dir, `model-${layout}`);
    const imported = await runTrainerCli(['import-mxnet', '--symbol', ckpt.symbol, '--params', ckpt.params, '--out', out, '--input-shape', '3,13,13', '--mean', MEAN.join(','), '--std', STD.join(',')]);
    t.equal(imported.code, 0, imported.stderr);
    t.match(imported.stdout, /input 'data' 3,13,13 \(C,H,W\); output 'fc1', 5 values \(softmax 'softmax' dropped/);

    const predicted = await runTrainerCli(['predict', '--model', out, '--data', `${data}.rec`, '--json', '--backend', 'wasm', '--batch-size', '5']);
    t.equal(predicted.code, 0, predicted.stderr);
    const { records, summary } = parsePredictions(predicted.stdout);
    t.same(records.map((r) => r.index), [...images.labels.keys()], `${layout}: one line per record, in order`);
    t.same(records.map((r) => r.labels), images.labels.map((l) => [l]), `${layout}: labels from the records`);
    let worst = 0;
    records.forEach((r, i) => r.probabilities.forEach((p, k) => (worst = Math.max(worst, Math.abs(p - expected[i][k])))));
    t.ok(worst < 1e-4, `${layout}: every probability within 1e-4 of the reference (worst ${worst.toExponential(2)})`);
    const spread = Math.max(...expected.flat()) - Math.min(...expected.flat());
    t.ok(spread > 0.2, `the reference outputs are not all alike (spread ${spread.toFixed(2)}), so the comparison means something`);

    const refCorrect = expected.filter((p, i) => p.indexOf(Math.max(...p)) === images.labels[i]).length;
    const refLoss = expected.reduce((s, p, i) => s - Math.log(p[images.labels[i]]), 0) / expected.length;
    t.equal(summary.records, 12);
    t.equal(summary.correct, refCorrect, `${layout}: accuracy counts the reference's argmax hits`);
    t.ok(Math.abs(summary.accuracy - refCorrect / 12) < 1e-12);
    t.ok(Math.abs(summary.loss - refLoss) < 1e-4, `${layout}: mean loss ${summary.loss} vs reference ${refLoss}`);
  }

  const model = await loadModel(join(dir, 'model-v2'));
  t.same(preprocessingOf(model), { mean: MEAN, std: STD }, 'the preprocessing is stored with the model');
  t.equal(resolveLayerName(model, '_plus0'), 'mx_plus0', 'an MXNet name tfjs cannot use is mapped, and found again');
  t.equal(resolveLayerName(model, 'flatten0'), 'flatten0');
  t.ok(model.layers.some((l) => l.getClassName() === 'GroupedConv2D'), 'the grouped convolution stays grouped');
  t.notOk(model.layers.some((l) => l.name === 'softmax'), 'no softmax layer: the model outputs logits');
  model.dispose();

  const text = await runTrainerCli(['predict', '--model', join(dir, 'model-v2'), '--data', `${data}.rec`, '--backend', 'wasm']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /data: .*12 records, 12 labeled/);
  t.match(text.stdout, /accuracy: +\d+\.\d\d% \(\d+\/12, top-1 against each record's first label\)/);
  t.notMatch(text.stdout, /probabilities/, 'without --json only the summary');
});

t.test('fine-tuning an imported model with --layer-before-fullc flatten0 trains the new head on the model\'s preprocessing', async (t) => {
  const dir = t.testdir();
  const ckpt = writeCheckpoint(join(dir, 'ckpt'), 'tiny', makeParams(3), 'v2', 'attrs');
  const pretrained = join(dir, 'pretrained');
  const imported = await runTrainerCli(['import-mxnet', '--symbol', ckpt.symbol, '--params', ckpt.params, '--out', pretrained, '--input-shape', '3,13,13', '--mean', MEAN.join(','), '--std', STD.join(',')]);
  t.equal(imported.code, 0, imported.stderr);
  await writeRecords(join(dir, 'train'), 96, 1, 3, true);
  await writeRecords(join(dir, 'val'), 24, 2, 3, true);

  const out = join(dir, 'tuned');
  const train = await runTrainerCli([
    'train', '--pretrained', pretrained, '--layer-before-fullc', 'flatten0', '--num-classes', '3', '--image-shape', '3,13,13',
    '--data-train', join(dir, 'train.rec'), '--data-val', join(dir, 'val.rec'), '--epochs', '3', '--batch-size', '16', '--lr', '0.01',
    '--pad', '0', '--backend', 'wasm', '--prefetch-workers', '0', '--progress-interval', '60', '--out', out,
  ]);
  t.equal(train.code, 0, train.stderr);
  t.match(train.stderr, /fine-tuning .*pretrained/);
  t.match(train.stderr, /input normalisation: \(pixel - mean 120,110,100\) \/ std 60,50,40/);

  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { epochs: Array<{ trainLoss: number; validationLoss: number; validationAccuracy: number }> };
  const losses = metrics.epochs.map((e) => e.trainLoss);
  t.ok(losses[losses.length - 1] < losses[0] * 0.8, `training loss goes down: ${losses.map((l) => l.toFixed(3)).join(' -> ')}`);

  const tuned = await loadModel(join(out, 'model'));
  const original = await loadModel(pretrained);
  t.same(preprocessingOf(tuned), { mean: MEAN, std: STD }, 'the fine-tuned model keeps the imported preprocessing');
  t.equal(tuned.getLayer('fc').getWeights()[0].shape.join('x'), '126x3', 'a new 3-class head on flatten0');
  t.notOk(tuned.layers.some((l) => l.name === 'fc1'), 'the old head is gone');
  t.notSame(tuned.getLayer('conv0').getWeights()[0].dataSync(), original.getLayer('conv0').getWeights()[0].dataSync(), 'without --freeze the imported layers train too');
  tuned.dispose();
  original.dispose();

  // predict applies the stored preprocessing as training's validation did: the same loss.
  const predicted = await runTrainerCli(['predict', '--model', join(out, 'model'), '--data', join(dir, 'val.rec'), '--json', '--backend', 'wasm']);
  t.equal(predicted.code, 0, predicted.stderr);
  const { summary } = parsePredictions(predicted.stdout);
  const last = metrics.epochs[metrics.epochs.length - 1];
  t.ok(last.validationLoss > 0.05 && last.validationAccuracy < 1, `validation is not saturated (loss ${last.validationLoss.toFixed(3)}, accuracy ${last.validationAccuracy.toFixed(3)}), so the comparison below can tell normalisations apart`);
  t.ok(Math.abs(summary.loss - last.validationLoss) < 1e-4, `predict's loss ${summary.loss} equals training's validation loss ${last.validationLoss}`);
  t.ok(Math.abs(summary.accuracy - last.validationAccuracy) < 1e-9);
});
