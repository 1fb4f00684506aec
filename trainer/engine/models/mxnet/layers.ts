import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

/**
 * Layers that reproduce MXNet operators tfjs has no equivalent for. Both are registered
 * for serialization, so a saved model that uses them loads back (model-store imports this).
 */

export type PoolType = 'max' | 'avg' | 'sum';
export type PoolingConvention = 'valid' | 'full';

export interface MxPoolingArgs extends LayerArgs {
  poolType: PoolType;
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  convention: PoolingConvention;
  /** avg only: divide by the window including padding (MXNet's default) or only the real pixels. */
  countIncludePad: boolean;
  /** Pool over the whole feature map (kernel, stride and pad are ignored). */
  global: boolean;
}

/**
 * The output length of MXNet pooling along one axis (src/operator/nn/pooling-inl.h):
 * 'valid' 1 + floor((size + 2 pad - kernel) / stride), 'full' the same with ceil.
 */
export function pooledLength(size: number, kernel: number, stride: number, pad: number, convention: PoolingConvention): number {
  const span = size + 2 * pad - kernel;
  return 1 + (convention === 'full' ? Math.ceil(span / stride) : Math.floor(span / stride));
}

/**
 * MXNet's Pooling on NHWC input, exactly: windows start at i * stride - pad; a max window
 * takes the largest real pixel in it; an avg window sums the real pixels and divides by
 * the window clipped to the padded input [-pad, size + pad) (count_include_pad, so a
 * 'full' window hanging past the padding counts only its part inside it) or, without
 * count_include_pad, by the real pixels it covers. tfjs pools only windows that fit, so
 * the input is padded to cover every window (-Infinity for max, 0 for avg) and the avg is
 * rescaled by a fixed per-position factor.
 */
export class MxPooling2D extends tf.layers.Layer {
  static readonly className = 'MxPooling2D';
  readonly poolType: PoolType;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly pad: [number, number];
  readonly convention: PoolingConvention;
  readonly countIncludePad: boolean;
  readonly global: boolean;

  constructor(args: MxPoolingArgs) {
    super(args);
    this.poolType = args.poolType;
    this.kernel = [...args.kernel];
    this.stride = [...args.stride];
    this.pad = [...args.pad];
    this.convention = args.convention;
    this.countIncludePad = args.countIncludePad;
    this.global = args.global;
    this.inputSpec = [{ ndim: 4 }];
  }

  private geometry(h: number, w: number): { out: [number, number]; padEnd: [number, number] } {
    const out: [number, number] = [0, 0];
    const padEnd: [number, number] = [0, 0];
    const size = [h, w];
    for (const a of [0, 1]) {
      const [k, s, p] = [this.kernel[a], this.stride[a], this.pad[a]];
      if (k > size[a] + 2 * p) throw new Error(`${this.name}: kernel ${k} is larger than the input ${size[a]} padded by ${p}`);
      out[a] = pooledLength(size[a], k, s, p, this.convention);
      // The last window must start inside the input, or MXNet pools nothing there.
      if ((out[a] - 1) * s - p >= size[a]) throw new Error(`${this.name}: the last ${this.convention} window starts past the input (size ${size[a]}, kernel ${k}, stride ${s}, pad ${p})`);
      padEnd[a] = Math.max(0, (out[a] - 1) * s + k - size[a] - p);
    }
    return { out, padEnd };
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (this.global) return [n, 1, 1, c];
    if (h == null || w == null) throw new Error(`${this.name}: needs a known input height and width`);
    const { out } = this.geometry(h, w);
    return [n, out[0], out[1], c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [, h, w] = x.shape;
      if (this.global) {
        if (this.poolType === 'max') return tf.max(x, [1, 2], true);
        const mean = tf.mean(x, [1, 2], true);
        return this.poolType === 'sum' ? tf.mul(mean, h * w) : mean;
      }
      const { out, padEnd } = this.geometry(h, w);
      const [ph, pw] = this.pad;
      // Padding beyond what the windows reach is never read; a 'valid' pool may not need all of it.
      const padded = tf.pad(x, [[0, 0], [ph, padEnd[0]], [pw, padEnd[1]], [0, 0]], this.poolType === 'max' ? -Infinity : 0);
      if (this.poolType === 'max') return tf.maxPool(padded, this.kernel, this.stride, 'valid');
      const avg = tf.avgPool(padded, this.kernel, this.stride, 'valid');
      return tf.mul(avg, this.scale(h, w, out));
    });
  }

  /** kernel area / MXNet's divisor at every output position, as [1, outH, outW, 1]. */
  private scale(h: number, w: number, out: [number, number]): tf.Tensor4D {
    const area = this.kernel[0] * this.kernel[1];
    const extent = (i: number, a: 0 | 1, size: number): number => {
      let start = i * this.stride[a] - this.pad[a];
      let end = Math.min(start + this.kernel[a], size + this.pad[a]);
      if (!this.countIncludePad) {
        start = Math.max(start, 0);
        end = Math.min(end, size);
      }
      return end - start;
    };
    const values = new Float32Array(out[0] * out[1]);
    for (let i = 0; i < out[0]; i++) {
      for (let j = 0; j < out[1]; j++) {
        values[i * out[1] + j] = this.poolType === 'sum' ? area : area / (extent(i, 0, h) * extent(j, 1, w));
      }
    }
    return tf.tensor4d(values, [1, out[0], out[1], 1]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      poolType: this.poolType,
      kernel: [...this.kernel],
      stride: [...this.stride],
      pad: [...this.pad],
      convention: this.convention,
      countIncludePad: this.countIncludePad,
      global: this.global,
    };
  }
}

export interface MxBatchNormArgs extends LayerArgs {
  epsilon: number;
  momentum: number;
  /** false for MXNet's fix_gamma: the scale is 1 and not trained. */
  scale: boolean;
  /** MXNet's use_global_stats: normalise with the moving statistics in training too, and never update them. */
  useGlobalStats: boolean;
}

/**
 * MXNet's BatchNorm over the last axis (channels, NHWC), for the two settings tfjs's
 * BatchNormalization cannot train: fix_gamma (tfjs 4.22 fails in training mode without a
 * scale) and use_global_stats (tfjs always uses batch statistics in training, the frozen
 * batch norm of fine-tuning recipes does not). Otherwise as tfjs and MXNet: batch mean and
 * biased variance in training, moving = moving * momentum + batch * (1 - momentum).
 */
export class MxBatchNorm extends tf.layers.Layer {
  static readonly className = 'MxBatchNorm';
  readonly epsilon: number;
  readonly momentum: number;
  readonly scale: boolean;
  readonly useGlobalStats: boolean;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;
  private movingMean: tf.LayerVariable | null = null;
  private movingVariance: tf.LayerVariable | null = null;

  constructor(args: MxBatchNormArgs) {
    super(args);
    this.epsilon = args.epsilon;
    this.momentum = args.momentum;
    this.scale = args.scale;
    this.useGlobalStats = args.useGlobalStats;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`${this.name}: needs a known channel count`);
    if (this.scale) this.gamma = this.addWeight('gamma', [channels], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', [channels], 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [channels], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const { beta, movingMean, movingVariance } = this;
      if (beta === null || movingMean === null || movingVariance === null) throw new Error(`${this.name}: called before build`);
      // A constant 1 rather than no scale: tfjs's batchNorm gradient fails when the scale is absent.
      const gamma = this.gamma?.read() ?? tf.onesLike(beta.read());
      if (kwargs.training !== true || this.useGlobalStats) {
        return tf.batchNorm(x, movingMean.read(), movingVariance.read(), beta.read(), gamma, this.epsilon);
      }
      const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
      for (const [moving, batch] of [[movingMean, mean], [movingVariance, variance]] as const) {
        const old = moving.read();
        moving.write(tf.add(tf.mul(old, this.momentum), tf.mul(batch, 1 - this.momentum)));
      }
      return tf.batchNorm(x, mean, variance, beta.read(), gamma, this.epsilon);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, momentum: this.momentum, scale: this.scale, useGlobalStats: this.useGlobalStats };
  }
}

tf.serialization.registerClass(MxPooling2D);
tf.serialization.registerClass(MxBatchNorm);
