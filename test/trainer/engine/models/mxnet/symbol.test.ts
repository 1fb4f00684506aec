import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { parseSymbolJson } from '../../../../../trainer/engine/models/mxnet/symbol.js';
import { Attrs } from '../../../../../trainer/engine/models/mxnet/attrs.js';
import { convertSymbol } from '../../../../../trainer/engine/models/mxnet/convert.js';
import { parseNDArrayList } from '../../../../../trainer/engine/models/mxnet/ndarray-list.js';
import { ndarrayListBytes, symbolJson, type GraphNode, type WriteArray } from '../../../../helpers/mxnet-checkpoint.js';

const v = (name: string): GraphNode => ({ op: 'null', name });

function convert(nodes: GraphNode[], head: string, arrays: [string, WriteArray][], inputShape: [number, number, number] = [2, 4, 4]) {
  const symbol = parseSymbolJson(symbolJson(nodes, head), 'net-symbol.json');
  const params = parseNDArrayList(ndarrayListBytes(arrays, 'v2'), 'net.params');
  return convertSymbol(symbol, params, { inputShape, modelName: 'net' });
}

const conv = (name: string, attrs: Record<string, string>, input = 'data'): GraphNode[] => [
  v(`${name}_weight`),
  { op: 'Convolution', name, attrs: { no_bias: 'True', ...attrs }, inputs: [input, `${name}_weight`] },
];
const ones = (shape: number[]): WriteArray => ({ shape, data: new Array(shape.reduce((a, b) => a * b, 1)).fill(1) });

t.test('symbol JSON: MXNet 1.x attrs and the older param/attr keys, edges with and without a version', async (t) => {
  const nodes: GraphNode[] = [v('data'), { op: 'Activation', name: 'act', attrs: { act_type: 'relu' }, inputs: ['data'] }];
  for (const style of ['attrs', 'param'] as const) {
    const symbol = parseSymbolJson(symbolJson(nodes, 'act', style), 's.json');
    t.same(symbol.nodes[1].attrs.act_type, 'relu', `${style}: parameters found`);
    t.same(symbol.nodes[1].inputs, [{ node: 0, output: 0 }]);
    t.same(symbol.heads, [{ node: 1, output: 0 }]);
  }
  t.throws(() => parseSymbolJson('{"nodes": [', 's.json'), /s\.json: not JSON/);
  t.throws(() => parseSymbolJson('{"heads": []}', 's.json'), /s\.json: has no 'nodes' list/);
  t.throws(() => parseSymbolJson('{"nodes": [{"op": "null", "name": "a", "inputs": [[1, 0]]}, {"op":"null","name":"b"}], "heads": [[0,0]]}', 's.json'), /node 0 'a' \(null\) input 0 refers to node 1, which does not come before it/);
  t.throws(() => parseSymbolJson('{"nodes": [{"op": "null", "name": "a"}], "heads": []}', 's.json'), /has no 'heads'/);
});

t.test('attribute values in the forms MXNet writes them', async (t) => {
  const node = { id: 0, op: 'X', name: 'x', inputs: [], attrs: { a: '(3, 3)', b: '[2,2]', c: '(3L, 3L)', d: '5', e: '()', f: 'True', g: '0', h: '1e-05', i: 'None', __lr_mult__: '2' } };
  const a = new Attrs(node, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  t.same([a.shape('a'), a.shape('b'), a.shape('c'), a.shape('d'), a.shape('e')], [[3, 3], [2, 2], [3, 3], [5], []]);
  t.same([a.bool('f', false), a.bool('g', true), a.float('h'), a.int('d')], [true, false, 1e-5, 5]);
  t.equal(a.int('i', 7), 7, "'None' means the default");
  t.throws(() => a.int('a'), /node 'x' \(X\): attribute 'a' = '\(3, 3\)' is not an integer/);
  t.throws(() => a.int('missing'), /node 'x' \(X\): attribute 'missing' is required/);
  t.throws(() => new Attrs(node, ['a']), /node 'x' \(X\): attribute 'b' \(= '\[2,2\]'\) is not supported/);
});

t.test('what cannot be imported is an error naming the node', async (t) => {
  const w = ['conv_weight', ones([2, 2, 3, 3])] as [string, WriteArray];
  const cases: Array<[string, GraphNode[], string, [string, WriteArray][], RegExp]> = [
    ['unknown operator', [v('data'), { op: 'Deconvolution', name: 'deconv0', attrs: { kernel: '(2, 2)', num_filter: '2' }, inputs: ['data'] }], 'deconv0', [], /node 'deconv0' \(Deconvolution\): operator 'Deconvolution' is not supported/],
    ['unknown attribute', [v('data'), ...conv('conv', { kernel: '(3, 3)', num_filter: '2', mystery: '1' })], 'conv', [w], /node 'conv' \(Convolution\): attribute 'mystery' \(= '1'\) is not supported/],
    ['NHWC layout', [v('data'), ...conv('conv', { kernel: '(3, 3)', num_filter: '2', layout: 'NHWC' })], 'conv', [w], /node 'conv' \(Convolution\): layout 'NHWC' is not supported/],
    ['3-D kernel', [v('data'), ...conv('conv', { kernel: '(3, 3, 3)', num_filter: '2' })], 'conv', [w], /node 'conv' \(Convolution\): kernel \(3, 3, 3\) is not 2-D/],
    ['missing weight', [v('data'), ...conv('conv', { kernel: '(3, 3)', num_filter: '2' })], 'conv', [['arg:other', ones([1])]], /variables 'conv_weight', 'data' have no value|node 'conv' \(Convolution\): its weight 'conv_weight' has no value/],
    ['wrong weight shape', [v('data'), ...conv('conv', { kernel: '(3, 3)', num_filter: '2' })], 'conv', [['arg:conv_weight', ones([2, 2, 5, 5])]], /node 'conv' \(Convolution\): its weight 'conv_weight' has shape \(2, 2, 5, 5\), expected \(2, 2, 3, 3\)/],
    ['lp pooling', [v('data'), { op: 'Pooling', name: 'pool', attrs: { kernel: '(2, 2)', pool_type: 'lp' }, inputs: ['data'] }], 'pool', [], /node 'pool' \(Pooling\): pool_type 'lp' is not supported/],
    ['same convention', [v('data'), { op: 'Pooling', name: 'pool', attrs: { kernel: '(2, 2)', pooling_convention: 'same' }, inputs: ['data'] }], 'pool', [], /node 'pool' \(Pooling\): pooling_convention 'same' is not supported/],
    ['mid-network softmax', [v('data'), { op: 'softmax', name: 'sm', inputs: ['data'] }, { op: 'Activation', name: 'act', attrs: { act_type: 'relu' }, inputs: ['sm'] }], 'act', [], /node 'sm' \(softmax\): a softmax is supported only as the output/],
    ['bad activation', [v('data'), { op: 'Activation', name: 'act', attrs: { act_type: 'swish' }, inputs: ['data'] }], 'act', [], /node 'act' \(Activation\): attribute 'act_type' = 'swish' is not one of relu, sigmoid, tanh, softrelu, softsign/],
    ['dropout at inference', [v('data'), { op: 'Dropout', name: 'drop', attrs: { mode: 'always' }, inputs: ['data'] }], 'drop', [], /node 'drop' \(Dropout\): mode 'always'/],
    ['spatial output', [v('data'), { op: 'Activation', name: 'act', attrs: { act_type: 'relu' }, inputs: ['data'] }], 'act', [], /node 'act' \(Activation\): the output is a 4x4 feature map, not one vector per image/],
  ];
  for (const [what, nodes, head, arrays, error] of cases) t.throws(() => convert(nodes, head, arrays), error, what);
});

t.test('convolution variants, a dense layer on a 4-D input, prelu and global pooling compute what MXNet would', async (t) => {
  // data 2x4x4 -> dilated 3x3 conv (dilate 2, pad 2) -> prelu -> 1x1 conv stride 2 pad 1 -> global avg pool -> fc
  const nodes: GraphNode[] = [
    v('data'),
    ...conv('dil', { kernel: '(3, 3)', num_filter: '2', dilate: '(2, 2)', pad: '(2, 2)' }),
    v('pr_gamma'),
    { op: 'LeakyReLU', name: 'pr', attrs: { act_type: 'prelu' }, inputs: ['dil', 'pr_gamma'] },
    ...conv('s2', { kernel: '(1, 1)', num_filter: '3', stride: '(2, 2)', pad: '(1, 1)' }, 'pr'),
    { op: 'Pooling', name: 'gp', attrs: { kernel: '(1, 1)', global_pool: 'True', pool_type: 'avg' }, inputs: ['s2'] },
    v('fc_weight'),
    { op: 'FullyConnected', name: 'fc', attrs: { num_hidden: '2', no_bias: 'True' }, inputs: ['gp', 'fc_weight'] },
  ];
  const dil = Array.from({ length: 2 * 2 * 9 }, (_, i) => ((i * 7) % 11) / 10 - 0.5);
  const s2 = [0.5, -1, 2, 0.25, 1, -0.5];
  const fc = [1, 2, -1, 0.5, 0.25, 3];
  const converted = convert(nodes, 'fc', [
    ['arg:dil_weight', { shape: [2, 2, 3, 3], data: dil }],
    ['arg:pr_gamma', { shape: [2], data: [0.1, 0.3] }],
    ['arg:s2_weight', { shape: [3, 2, 1, 1], data: s2 }],
    ['arg:fc_weight', { shape: [2, 3], data: fc }],
  ]);
  const x = Array.from({ length: 32 }, (_, i) => Math.sin(i) * 2); // NCHW 2x4x4
  // Reference, NCHW.
  const dilOut = [0, 1].map((o) => Array.from({ length: 16 }, (_, p) => {
    const [y, xx] = [Math.floor(p / 4), p % 4];
    let s = 0;
    for (let i = 0; i < 2; i++) for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) {
      const iy = y - 2 + 2 * r;
      const ix = xx - 2 + 2 * q;
      if (iy >= 0 && iy < 4 && ix >= 0 && ix < 4) s += dil[((o * 2 + i) * 3 + r) * 3 + q] * x[(i * 4 + iy) * 4 + ix];
    }
    return s > 0 ? s : [0.1, 0.3][o] * s;
  }));
  // 1x1 stride 2 pad 1 on 4x4: output 3x3 at input positions -1, 1, 3 (zeros outside).
  const s2Out = [0, 1, 2].map((o) => {
    let sum = 0;
    for (const iy of [-1, 1, 3]) for (const ix of [-1, 1, 3]) {
      if (iy < 0 || ix < 0) continue;
      sum += s2[o * 2] * dilOut[0][iy * 4 + ix] + s2[o * 2 + 1] * dilOut[1][iy * 4 + ix];
    }
    return sum / 9;
  });
  const expected = [0, 1].map((u) => s2Out.reduce((s, val, j) => s + val * fc[u * 3 + j], 0));
  const nhwc = tf.tidy(() => tf.transpose(tf.tensor4d(x, [1, 2, 4, 4]), [0, 2, 3, 1]));
  const got = (converted.model.predict(nhwc) as tf.Tensor).dataSync();
  for (let u = 0; u < 2; u++) t.ok(Math.abs(got[u] - expected[u]) < 1e-4, `output ${u}: ${got[u]} vs ${expected[u]}`);
  nhwc.dispose();
  converted.model.dispose();
});
