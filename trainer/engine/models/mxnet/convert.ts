import * as tf from '@tensorflow/tfjs';
import { GroupedConv2D } from '../grouped-conv2d.js';
import { Attrs, UnsupportedError } from './attrs.js';
import { MxBatchNorm, MxPooling2D, type PoolType, type PoolingConvention } from './layers.js';
import type { NDArray, NDArrayList } from './ndarray-list.js';
import type { MxSymbol, SymbolNode } from './symbol.js';

/**
 * Turns an MXNet symbol and its parameters into a tfjs layers model that computes the
 * same function. MXNet is NCHW and tfjs here NHWC, so:
 * - feature maps are held NHWC; convolution kernels go from (out, in, kh, kw) to
 *   (kh, kw, in, out), batch norm, concat and pooling use the channel axis last;
 * - a Flatten of an H x W x C map yields its features in NHWC order, where MXNet's are in
 *   C, H, W order: the value remembers that, and a FullyConnected layer it feeds gets its
 *   weight columns reordered to match (anything else that needs MXNet's order, such as the
 *   model's output, gets the features reordered by a reshape-permute-flatten instead).
 * The final SoftmaxOutput / softmax is dropped: like every model of this trainer the
 * result outputs logits, and predict applies the softmax.
 */

export interface ConvertOptions {
  /** Network input, MXNet order [channels, height, width]. */
  inputShape: [number, number, number];
  modelName: string;
}

export interface ConvertedModel {
  model: tf.LayersModel;
  /** MXNet node name -> the tfjs layer whose output is that node's value. */
  layerNames: Record<string, string>;
  /** The MXNet variable that became the input. */
  inputName: string;
  /** The node whose value is the output (the softmax's input when a softmax was dropped). */
  outputName: string;
  /** The softmax head that was dropped, if any. */
  droppedSoftmax?: string;
}

type Spatial = { kind: 'spatial'; t: tf.SymbolicTensor };
/** `nchw`: the features are an [h, w, c] map flattened NHWC, which MXNet orders C, H, W. */
type Flat = { kind: 'flat'; t: tf.SymbolicTensor; nchw?: [number, number, number] };
type Value = Spatial | Flat;

const ACTIVATIONS = { relu: 'relu', sigmoid: 'sigmoid', tanh: 'tanh', softrelu: 'softplus', softsign: 'softsign' } as const;
const ADD_OPS = new Set(['elemwise_add', '_plus', '_Plus', '_add', 'broadcast_add', 'broadcast_plus']);
const SOFTMAX_OPS = new Set(['SoftmaxOutput', 'Softmax', 'softmax']);
const TF_NAME = /^[A-Za-z0-9][-A-Za-z0-9._]*$/;

export function convertSymbol(symbol: MxSymbol, params: NDArrayList, options: ConvertOptions): ConvertedModel {
  return new Converter(symbol, params).run(options);
}

class Converter {
  private readonly values = new Map<number, Value>();
  private readonly layerNames: Record<string, string> = {};
  private readonly taken = new Set<string>();
  private inputId = -1;

  constructor(
    private readonly symbol: MxSymbol,
    private readonly params: NDArrayList,
  ) {}

  run(options: ConvertOptions): ConvertedModel {
    const { nodes, heads } = this.symbol;
    if (heads.length !== 1) throw new UnsupportedError(nodes[heads[0].node], `the symbol has ${heads.length} outputs; import needs exactly one`);
    let head = nodes[heads[0].node];
    let droppedSoftmax: string | undefined;
    if (SOFTMAX_OPS.has(head.op)) {
      this.checkSoftmax(head);
      droppedSoftmax = head.name;
      head = nodes[head.inputs[0].node];
    }
    const reachable = this.reachableFrom(head.id);
    this.inputId = this.findInput(reachable);
    const inputNode = nodes[this.inputId];
    const [c, h, w] = options.inputShape;
    const input = tf.input({ shape: [h, w, c], name: this.tfName(inputNode.name) });
    this.values.set(this.inputId, { kind: 'spatial', t: input });
    this.layerNames[inputNode.name] = input.sourceLayer.name;

    for (const node of nodes) {
      if (!reachable.has(node.id) || node.op === 'null') continue;
      const value = this.convert(node);
      this.values.set(node.id, value);
      this.layerNames[node.name] = value.t.sourceLayer.name;
    }
    let out = this.values.get(head.id) as Value;
    if (out.kind === 'spatial') {
      const [, oh, ow] = out.t.shape;
      if (oh !== 1 || ow !== 1) throw new UnsupportedError(head, `the output is a ${oh}x${ow} feature map, not one vector per image`);
      out = { kind: 'flat', t: this.apply(tf.layers.flatten({ name: this.tfName(`${head.name}_flatten`) }), out.t) };
    }
    const logits = this.mxOrder(out, head.name).t;
    const model = tf.model({ inputs: input, outputs: logits, name: this.tfName(options.modelName) });
    return { model, layerNames: this.layerNames, inputName: inputNode.name, outputName: head.name, ...(droppedSoftmax ? { droppedSoftmax } : {}) };
  }

  private reachableFrom(id: number): Set<number> {
    const seen = new Set<number>();
    const stack = [id];
    while (stack.length > 0) {
      const n = stack.pop() as number;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const ref of this.symbol.nodes[n].inputs) stack.push(ref.node);
    }
    return seen;
  }

  /** The one variable that is neither a parameter nor a label: the network's input. */
  private findInput(reachable: Set<number>): number {
    const candidates = [...reachable].filter((id) => this.symbol.nodes[id].op === 'null' && this.lookup(this.symbol.nodes[id].name) === undefined);
    if (candidates.length === 1) return candidates[0];
    const names = candidates.map((id) => `'${this.symbol.nodes[id].name}'`).join(', ');
    if (candidates.length === 0) throw new UnsupportedError(this.symbol.nodes[0], 'no input variable: every variable has a value in the params file');
    throw new UnsupportedError(this.symbol.nodes[candidates[1]], `variables ${names} have no value in the params file; only the input may lack one`);
  }

  private lookup(name: string): NDArray | undefined {
    return this.params.get(`arg:${name}`) ?? this.params.get(`aux:${name}`) ?? this.params.get(name);
  }

  private convert(node: SymbolNode): Value {
    switch (node.op) {
      case 'Convolution':
        return this.convolution(node);
      case 'BatchNorm':
        return this.batchNorm(node);
      case 'Activation':
        return this.activation(node);
      case 'LeakyReLU':
        return this.leakyRelu(node);
      case 'Pooling':
        return this.pooling(node);
      case 'FullyConnected':
        return this.fullyConnected(node);
      case 'Flatten':
      case 'flatten':
        return this.flatten(node);
      case 'Concat':
      case 'concat':
        return this.concat(node);
      case 'Dropout':
        return this.dropout(node);
      default:
        if (ADD_OPS.has(node.op)) return this.add(node);
        if (SOFTMAX_OPS.has(node.op)) throw new UnsupportedError(node, 'a softmax is supported only as the output of the network');
        throw new UnsupportedError(node, `operator '${node.op}' is not supported (supported: Convolution, BatchNorm, Activation, LeakyReLU, Pooling, FullyConnected, Flatten, Concat, Dropout, elemwise_add/_Plus/broadcast_add, SoftmaxOutput/softmax)`);
    }
  }

  // ---- graph plumbing ----

  /** The value flowing into input `k` of `node` (an operator's output or the network input). */
  private input(node: SymbolNode, k: number): Value {
    const ref = node.inputs[k];
    if (ref === undefined) throw new UnsupportedError(node, `has no input ${k}`);
    const from = this.symbol.nodes[ref.node];
    if (ref.output !== 0) throw new UnsupportedError(node, `reads output ${ref.output} of '${from.name}'; only the first output of an operator is supported`);
    const value = this.values.get(ref.node);
    if (value === undefined) throw new UnsupportedError(node, `input '${from.name}' is a parameter, not data`);
    return value;
  }

  private spatialInput(node: SymbolNode, k = 0): tf.SymbolicTensor {
    const value = this.input(node, k);
    if (value.kind !== 'spatial') throw new UnsupportedError(node, `needs a 4-D (N, C, H, W) input, got a 2-D (N, ${value.t.shape[1]}) one`);
    return value.t;
  }

  /** The parameter array behind input `k`, checked against `shape`. */
  private param(node: SymbolNode, k: number, what: string, shape: number[]): Float32Array {
    const ref = node.inputs[k];
    if (ref === undefined) throw new UnsupportedError(node, `has no ${what} input (input ${k})`);
    const variable = this.symbol.nodes[ref.node];
    const array = variable.op === 'null' ? this.lookup(variable.name) : undefined;
    if (array === undefined) throw new UnsupportedError(node, `its ${what} '${variable.name}' has no value in the params file (looked for arg:${variable.name} and aux:${variable.name})`);
    const size = shape.reduce((a, b) => a * b, 1);
    const same = array.shape.length === shape.length && array.shape.every((d, i) => d === shape[i]);
    // A 1-D parameter may be stored with singleton dimensions around it.
    if (!same && !(shape.length === 1 && array.data.length === size)) {
      throw new UnsupportedError(node, `its ${what} '${variable.name}' has shape (${array.shape.join(', ')}), expected (${shape.join(', ')})`);
    }
    return array.data;
  }

  private tfName(mxName: string): string {
    let base = mxName.replace(/[^-A-Za-z0-9._]/g, '_');
    if (!TF_NAME.test(base)) base = `mx${base}`;
    let name = base;
    for (let i = 2; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }

  private apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
    return layer.apply(x) as tf.SymbolicTensor;
  }

  private setWeights(layer: tf.layers.Layer, arrays: { data: Float32Array; shape: number[] }[]): void {
    const tensors = arrays.map((a) => tf.tensor(a.data, a.shape, 'float32'));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }

  /** A flat value in MXNet's feature order: NHWC-flattened maps are put back in C, H, W order. */
  private mxOrder(value: Flat, name: string): Flat {
    if (value.nchw === undefined) return value;
    const [h, w, c] = value.nchw;
    let t = this.apply(tf.layers.reshape({ targetShape: [h, w, c], name: this.tfName(`${name}_hwc`) }), value.t);
    t = this.apply(tf.layers.permute({ dims: [3, 1, 2], name: this.tfName(`${name}_chw`) }), t);
    t = this.apply(tf.layers.flatten({ name: this.tfName(`${name}_nchw`) }), t);
    return { kind: 'flat', t };
  }

  private flattenMap(x: tf.SymbolicTensor, name: string): Flat {
    const [, h, w, c] = x.shape as number[];
    const t = this.apply(tf.layers.flatten({ name: this.tfName(name) }), x);
    return h * w === 1 ? { kind: 'flat', t } : { kind: 'flat', t, nchw: [h, w, c] };
  }

  // ---- operators ----

  private pair(node: SymbolNode, a: Attrs, key: string, fallback: [number, number]): [number, number] {
    const v = a.shape(key, fallback);
    if (v.length === 0) return fallback;
    if (v.length !== 2) throw new UnsupportedError(node, `${key} (${v.join(', ')}) is not 2-D; only 2-D operators are supported`);
    return [v[0], v[1]];
  }

  private checkLayout(node: SymbolNode, a: Attrs): void {
    if (a.has('layout') && node.attrs.layout !== 'NCHW') throw new UnsupportedError(node, `layout '${node.attrs.layout}' is not supported (only NCHW)`);
  }

  private convolution(node: SymbolNode): Value {
    const a = new Attrs(node, ['kernel', 'stride', 'dilate', 'pad', 'num_filter', 'num_group', 'no_bias', 'workspace', 'cudnn_tune', 'cudnn_off', 'layout']);
    this.checkLayout(node, a);
    const kernel = this.pair(node, a, 'kernel', [0, 0]);
    const stride = this.pair(node, a, 'stride', [1, 1]);
    const dilate = this.pair(node, a, 'dilate', [1, 1]);
    const pad = this.pair(node, a, 'pad', [0, 0]);
    const filters = a.int('num_filter');
    const groups = a.int('num_group', 1);
    const noBias = a.bool('no_bias', false);
    const x = this.spatialInput(node);
    const [, h, w, channels] = x.shape as number[];
    if (!(kernel[0] > 0 && kernel[1] > 0 && filters > 0 && groups > 0 && stride.every((s) => s > 0) && dilate.every((d) => d > 0))) {
      throw new UnsupportedError(node, 'kernel, num_filter, num_group, stride and dilate must be positive');
    }
    if (channels % groups !== 0 || filters % groups !== 0) throw new UnsupportedError(node, `num_group ${groups} does not divide ${channels} input channels and ${filters} filters`);
    const dilated = dilate[0] > 1 || dilate[1] > 1;
    if (dilated && groups > 1) throw new UnsupportedError(node, 'a dilated grouped convolution is not supported');
    if (dilated && (stride[0] > 1 || stride[1] > 1)) throw new UnsupportedError(node, 'dilate and stride both above 1 are not supported (tfjs computes one or the other)');
    const weight = this.param(node, 1, 'weight', [filters, channels / groups, kernel[0], kernel[1]]);
    const bias = noBias ? undefined : this.param(node, 2, 'bias', [filters]);

    // 'same' in tfjs pads symmetrically only at stride 1 with an odd kernel; otherwise pad explicitly.
    const same = stride[0] === 1 && stride[1] === 1 && [0, 1].every((d) => kernel[d] % 2 === 1 && pad[d] === (dilate[d] * (kernel[d] - 1)) / 2);
    let input = x;
    if (!same && (pad[0] > 0 || pad[1] > 0)) {
      input = this.apply(tf.layers.zeroPadding2d({ padding: [[pad[0], pad[0]], [pad[1], pad[1]]], name: this.tfName(`${node.name}_pad`) }), x);
    }
    const common = { name: this.tfName(node.name), filters, kernelSize: kernel, strides: stride, padding: same ? ('same' as const) : ('valid' as const), useBias: !noBias };
    const layer = groups > 1
      ? new GroupedConv2D({ ...common, groups, kernelSeed: 1 })
      : tf.layers.conv2d({ ...common, dilationRate: dilate, kernelInitializer: 'zeros' });
    const y = this.apply(layer, input);
    const expected = [0, 1].map((d) => Math.floor(([h, w][d] + 2 * pad[d] - dilate[d] * (kernel[d] - 1) - 1) / stride[d]) + 1);
    if (y.shape[1] !== expected[0] || y.shape[2] !== expected[1]) {
      throw new Error(`node '${node.name}': converted output is ${y.shape[1]}x${y.shape[2]}, MXNet's is ${expected[0]}x${expected[1]}`);
    }
    const [kh, kw, perGroup] = [kernel[0], kernel[1], channels / groups];
    // (out, in, kh, kw) -> (kh, kw, in, out)
    const hwio = new Float32Array(weight.length);
    for (let o = 0; o < filters; o++) {
      for (let i = 0; i < perGroup; i++) {
        for (let r = 0; r < kh; r++) {
          for (let s = 0; s < kw; s++) hwio[((r * kw + s) * perGroup + i) * filters + o] = weight[((o * perGroup + i) * kh + r) * kw + s];
        }
      }
    }
    this.setWeights(layer, [{ data: hwio, shape: [kh, kw, perGroup, filters] }, ...(bias ? [{ data: bias, shape: [filters] }] : [])]);
    return { kind: 'spatial', t: y };
  }

  private batchNorm(node: SymbolNode): Value {
    const a = new Attrs(node, ['eps', 'momentum', 'fix_gamma', 'use_global_stats', 'output_mean_var', 'axis', 'cudnn_off', 'min_calib_range', 'max_calib_range']);
    const eps = a.float('eps', 1e-3);
    const momentum = a.float('momentum', 0.9);
    const fixGamma = a.bool('fix_gamma', true);
    const globalStats = a.bool('use_global_stats', false);
    if (a.bool('output_mean_var', false)) throw new UnsupportedError(node, 'output_mean_var is not supported');
    if (a.has('min_calib_range') || a.has('max_calib_range')) throw new UnsupportedError(node, 'quantization calibration ranges are not supported');
    const value = this.input(node, 0);
    const x = value.kind === 'flat' ? this.mxOrder(value, `${node.name}_in`).t : value.t;
    const rank = x.shape.length;
    const axis = a.int('axis', 1);
    if (axis !== 1 && axis !== 1 - rank) throw new UnsupportedError(node, `axis ${axis} is not supported; only the channel axis 1`);
    const channels = x.shape[rank - 1] as number;
    // With fix_gamma the stored gamma is never read, so it need not be there.
    const gamma = fixGamma ? undefined : this.param(node, 1, 'gamma', [channels]);
    const beta = this.param(node, 2, 'beta', [channels]);
    const mean = this.param(node, 3, 'moving mean', [channels]);
    const variance = this.param(node, 4, 'moving variance', [channels]);
    const name = this.tfName(node.name);
    // fix_gamma: MXNet uses a scale of 1 whatever the stored gamma says. tfjs's own layer
    // serves the common case; MxBatchNorm the two it cannot train.
    const layer = fixGamma || globalStats
      ? new MxBatchNorm({ name, epsilon: eps, momentum, scale: !fixGamma, useGlobalStats: globalStats })
      : tf.layers.batchNormalization({ name, axis: -1, epsilon: eps, momentum });
    const y = this.apply(layer, x);
    const shape = [channels];
    this.setWeights(layer, [...(gamma ? [{ data: gamma, shape }] : []), { data: beta, shape }, { data: mean, shape }, { data: variance, shape }]);
    return rank === 4 ? { kind: 'spatial', t: y } : { kind: 'flat', t: y };
  }

  /** Elementwise: the layout of the input carries over, including a pending NCHW order. */
  private elementwise(node: SymbolNode, layer: tf.layers.Layer): Value {
    const value = this.input(node, 0);
    return { ...value, t: this.apply(layer, value.t) };
  }

  private activation(node: SymbolNode): Value {
    const a = new Attrs(node, ['act_type']);
    const act = a.choice('act_type', Object.keys(ACTIVATIONS) as (keyof typeof ACTIVATIONS)[]);
    return this.elementwise(node, tf.layers.activation({ activation: ACTIVATIONS[act], name: this.tfName(node.name) }));
  }

  private leakyRelu(node: SymbolNode): Value {
    const a = new Attrs(node, ['act_type', 'slope', 'lower_bound', 'upper_bound']);
    const act = a.choice('act_type', ['leaky', 'elu', 'selu', 'prelu', 'rrelu', 'gelu'] as const, 'leaky');
    const slope = a.float('slope', 0.25);
    const name = this.tfName(node.name);
    switch (act) {
      case 'leaky':
        return this.elementwise(node, tf.layers.leakyReLU({ alpha: slope, name }));
      case 'elu':
        return this.elementwise(node, tf.layers.elu({ alpha: slope, name }));
      case 'selu':
        return this.elementwise(node, tf.layers.activation({ activation: 'selu', name }));
      case 'prelu': {
        const value = this.input(node, 0);
        const x = value.kind === 'flat' ? this.mxOrder(value, `${node.name}_in`).t : value.t;
        const channels = x.shape[x.shape.length - 1] as number;
        const stored = this.lookupParamSize(node, 1);
        const gamma = this.param(node, 1, 'gamma', [stored === 1 ? 1 : channels]);
        const spatial = x.shape.length === 4;
        const layer = tf.layers.prelu({ name, ...(spatial ? { sharedAxes: [1, 2] } : {}) });
        const y = this.apply(layer, x);
        const alpha = stored === 1 ? new Float32Array(channels).fill(gamma[0]) : gamma;
        this.setWeights(layer, [{ data: alpha, shape: spatial ? [1, 1, channels] : [channels] }]);
        return spatial ? { kind: 'spatial', t: y } : { kind: 'flat', t: y };
      }
      default:
        throw new UnsupportedError(node, `act_type '${act}' is not supported (leaky, elu, selu and prelu are)`);
    }
  }

  private lookupParamSize(node: SymbolNode, k: number): number | undefined {
    const ref = node.inputs[k];
    return ref === undefined ? undefined : this.lookup(this.symbol.nodes[ref.node].name)?.data.length;
  }

  private pooling(node: SymbolNode): Value {
    const a = new Attrs(node, ['kernel', 'pool_type', 'global_pool', 'cudnn_off', 'pooling_convention', 'stride', 'pad', 'p_value', 'count_include_pad', 'layout']);
    this.checkLayout(node, a);
    const poolType = a.choice('pool_type', ['max', 'avg', 'sum', 'lp'] as const, 'max');
    if (poolType === 'lp') throw new UnsupportedError(node, "pool_type 'lp' is not supported (max, avg and sum are)");
    const global = a.bool('global_pool', false);
    const convention = a.choice('pooling_convention', ['valid', 'full', 'same'] as const, 'valid');
    if (convention === 'same') throw new UnsupportedError(node, "pooling_convention 'same' is not supported (valid and full are)");
    const kernel = global ? this.pair(node, a, 'kernel', [1, 1]) : this.pair(node, a, 'kernel', [0, 0]);
    const stride = this.pair(node, a, 'stride', [1, 1]);
    const pad = this.pair(node, a, 'pad', [0, 0]);
    if (!global) {
      if (!(kernel.every((k) => k > 0) && stride.every((s) => s > 0) && pad.every((p) => p >= 0))) throw new UnsupportedError(node, 'kernel and stride must be positive, pad non-negative');
      if (pad[0] >= kernel[0] || pad[1] >= kernel[1]) throw new UnsupportedError(node, `pad (${pad.join(', ')}) must be smaller than the kernel (${kernel.join(', ')})`);
    }
    const x = this.spatialInput(node);
    const layer = new MxPooling2D({
      name: this.tfName(node.name),
      poolType: poolType as PoolType,
      kernel,
      stride,
      pad,
      convention: convention as PoolingConvention,
      countIncludePad: a.bool('count_include_pad', true),
      global,
    });
    try {
      return { kind: 'spatial', t: this.apply(layer, x) };
    } catch (err) {
      throw new UnsupportedError(node, err instanceof Error ? err.message : String(err));
    }
  }

  private fullyConnected(node: SymbolNode): Value {
    const a = new Attrs(node, ['num_hidden', 'no_bias', 'flatten']);
    const units = a.int('num_hidden');
    const noBias = a.bool('no_bias', false);
    const value = this.input(node, 0);
    let x: Flat;
    if (value.kind === 'spatial') {
      if (!a.bool('flatten', true)) throw new UnsupportedError(node, 'flatten=False on a 4-D input is not supported');
      x = this.flattenMap(value.t, `${node.name}_flatten`);
    } else {
      x = value;
    }
    const features = x.t.shape[1] as number;
    const weight = this.param(node, 1, 'weight', [units, features]);
    const bias = noBias ? undefined : this.param(node, 2, 'bias', [units]);
    // kernel[i][o] = weight[o][j], where j is where MXNet has the feature that is i-th here.
    const kernel = new Float32Array(features * units);
    const order = x.nchw ? nchwIndex(x.nchw) : undefined;
    for (let i = 0; i < features; i++) {
      const j = order ? order[i] : i;
      for (let o = 0; o < units; o++) kernel[i * units + o] = weight[o * features + j];
    }
    const layer = tf.layers.dense({ units, useBias: !noBias, name: this.tfName(node.name), kernelInitializer: 'zeros' });
    const y = this.apply(layer, x.t);
    this.setWeights(layer, [{ data: kernel, shape: [features, units] }, ...(bias ? [{ data: bias, shape: [units] }] : [])]);
    return { kind: 'flat', t: y };
  }

  private flatten(node: SymbolNode): Value {
    Attrs.check(node, []);
    const value = this.input(node, 0);
    return value.kind === 'flat' ? value : this.flattenMap(value.t, node.name);
  }

  private concat(node: SymbolNode): Value {
    const a = new Attrs(node, ['num_args', 'dim']);
    const values = node.inputs.map((_, k) => this.input(node, k));
    if (a.has('num_args') && a.int('num_args') !== values.length) throw new UnsupportedError(node, `num_args ${a.int('num_args')} but ${values.length} inputs`);
    if (values.length === 1) return values[0];
    const dim = a.int('dim', 1);
    const name = this.tfName(node.name);
    if (values.every((v) => v.kind === 'spatial')) {
      const axis = { 1: 3, 2: 1, 3: 2, [-3]: 3, [-2]: 1, [-1]: 2 }[dim];
      if (axis === undefined) throw new UnsupportedError(node, `dim ${dim} is not supported for 4-D inputs (the batch axis cannot be concatenated)`);
      return { kind: 'spatial', t: this.apply(tf.layers.concatenate({ axis, name }), values.map((v) => v.t)) };
    }
    if (values.every((v) => v.kind === 'flat')) {
      if (dim !== 1 && dim !== -1) throw new UnsupportedError(node, `dim ${dim} is not supported for 2-D inputs`);
      const inputs = values.map((v, k) => this.mxOrder(v as Flat, `${node.name}_in${k}`).t);
      return { kind: 'flat', t: this.apply(tf.layers.concatenate({ axis: 1, name }), inputs) };
    }
    throw new UnsupportedError(node, 'concatenating 4-D and 2-D inputs is not supported');
  }

  private add(node: SymbolNode): Value {
    Attrs.check(node, []);
    if (node.inputs.length !== 2) throw new UnsupportedError(node, `has ${node.inputs.length} inputs, expected 2`);
    const [x, y] = [this.input(node, 0), this.input(node, 1)];
    const same = (p: readonly (number | null)[], q: readonly (number | null)[]) => p.length === q.length && p.every((d, i) => d === q[i]);
    if (!same(x.t.shape, y.t.shape)) throw new UnsupportedError(node, `adds shapes [${x.t.shape.slice(1).join(', ')}] and [${y.t.shape.slice(1).join(', ')}] (NHWC); broadcasting is not supported`);
    const layer = tf.layers.add({ name: this.tfName(node.name) });
    if (x.kind === 'spatial' && y.kind === 'spatial') return { kind: 'spatial', t: this.apply(layer, [x.t, y.t]) };
    if (x.kind === 'flat' && y.kind === 'flat') {
      // Two maps flattened alike can be added as they are; otherwise both go to MXNet order.
      if (x.nchw && y.nchw && same(x.nchw, y.nchw)) return { kind: 'flat', t: this.apply(layer, [x.t, y.t]), nchw: x.nchw };
      return { kind: 'flat', t: this.apply(layer, [this.mxOrder(x, `${node.name}_lhs`).t, this.mxOrder(y, `${node.name}_rhs`).t]) };
    }
    throw new UnsupportedError(node, 'adding a 4-D and a 2-D input is not supported');
  }

  private dropout(node: SymbolNode): Value {
    const a = new Attrs(node, ['p', 'mode', 'axes', 'cudnn_off']);
    const p = a.float('p', 0.5);
    if (!(p >= 0 && p < 1)) throw new UnsupportedError(node, `p ${p} must be in [0, 1)`);
    if (a.choice('mode', ['training', 'always'] as const, 'training') === 'always') throw new UnsupportedError(node, "mode 'always' (dropout at inference) is not supported");
    if (a.shape('axes', []).length > 0) throw new UnsupportedError(node, 'dropout along axes is not supported');
    return this.elementwise(node, tf.layers.dropout({ rate: p, name: this.tfName(node.name) }));
  }

  private checkSoftmax(node: SymbolNode): void {
    if (node.op === 'softmax') {
      const a = new Attrs(node, ['axis', 'temperature', 'dtype', 'use_length']);
      const axis = a.int('axis', -1);
      if (axis !== -1 && axis !== 1) throw new UnsupportedError(node, `axis ${axis} is not supported (the class axis, -1 or 1)`);
      if (a.has('temperature') && a.float('temperature') !== 1) throw new UnsupportedError(node, 'a temperature other than 1 is not supported');
      if (a.bool('use_length', false)) throw new UnsupportedError(node, 'use_length is not supported');
      return;
    }
    const a = new Attrs(node, ['grad_scale', 'ignore_label', 'multi_output', 'use_ignore', 'preserve_shape', 'normalization', 'out_grad', 'smooth_alpha']);
    if (a.bool('multi_output', false)) throw new UnsupportedError(node, 'multi_output is not supported');
    if (a.bool('preserve_shape', false)) throw new UnsupportedError(node, 'preserve_shape is not supported');
    // Its label input is a variable with no value, unreachable from the logits, so never an input.
  }
}

/** For an [h, w, c] map flattened NHWC: where MXNet's C, H, W flattening puts each feature. */
export function nchwIndex([h, w, c]: [number, number, number]): Int32Array {
  const order = new Int32Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) order[(y * w + x) * c + ch] = ch * h * w + y * w + x;
    }
  }
  return order;
}
