import * as tf from '@tensorflow/tfjs';
import { heNormal } from './init.js';
import { groupedConv2d } from '../backend/grouped-conv.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

export interface GroupedConv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'same' | 'valid';
  groups: number;
  useBias?: boolean;
  /** Seed of the He-normal kernel initialiser (see init.ts). */
  kernelSeed: number;
}

/**
 * 2-D convolution whose input and output channels are split into `groups` groups, each
 * output group seeing only its input group (ResNeXt's aggregated transform; AlexNet's
 * two-GPU split). tfjs has no grouped conv2d op: see groupedConv2d (one native kernel on
 * the native backend, per-group conv2d on channel slices elsewhere).
 *
 * The kernel is stored as [kh, kw, inChannels / groups, filters], output channels of
 * group g being columns g * filters/groups ... (g+1) * filters/groups - 1: the layout
 * Keras uses for `Conv2D(groups=...)`, so weights map over one to one.
 */
export class GroupedConv2D extends tf.layers.Layer {
  static readonly className = 'GroupedConv2D';

  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly groups: number;
  readonly useBias: boolean;
  readonly kernelSeed: number;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: GroupedConv2DArgs) {
    super(args);
    this.filters = positiveInt(args.filters, 'filters', this.name);
    this.kernelSize = pair(args.kernelSize, 'kernelSize', this.name);
    this.strides = pair(args.strides ?? 1, 'strides', this.name);
    this.padding = args.padding ?? 'valid';
    if (this.padding !== 'same' && this.padding !== 'valid') {
      throw new Error(`GroupedConv2D ${this.name}: padding must be 'same' or 'valid', got '${String(this.padding)}'`);
    }
    this.groups = positiveInt(args.groups, 'groups', this.name);
    if (this.filters % this.groups !== 0) {
      throw new Error(`GroupedConv2D ${this.name}: filters ${this.filters} is not divisible by groups ${this.groups}`);
    }
    this.useBias = args.useBias ?? true;
    this.kernelSeed = positiveInt(args.kernelSeed, 'kernelSeed', this.name);
    this.inputSpec = [{ ndim: 4 }];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = singleShape(inputShape);
    const channels = shape[3];
    if (channels == null || channels % this.groups !== 0) {
      throw new Error(`GroupedConv2D ${this.name}: input channels ${String(channels)} are not divisible by groups ${this.groups}`);
    }
    const perGroup = channels / this.groups;
    const [kh, kw] = this.kernelSize;
    this.kernel = this.addWeight('kernel', [kh, kw, perGroup, this.filters], 'float32',
      heNormal(kh * kw * perGroup, this.kernelSeed));
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.inputSpec = [{ ndim: 4, axes: { [-1]: channels } }];
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, h, w] = singleShape(inputShape);
    return [batch, outLength(h, this.kernelSize[0], this.strides[0], this.padding),
      outLength(w, this.kernelSize[1], this.strides[1], this.padding), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (this.kernel === null) throw new Error(`GroupedConv2D ${this.name}: called before build`);
      const kernel = this.kernel.read() as tf.Tensor4D;
      const y = groupedConv2d(x, kernel, this.strides, this.padding, this.groups);
      return this.bias === null ? y : tf.add(y, this.bias.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      groups: this.groups,
      useBias: this.useBias,
      kernelSeed: this.kernelSeed,
    };
  }
}

// Without registration a saved model.json naming 'GroupedConv2D' cannot be loaded back.
tf.serialization.registerClass(GroupedConv2D);

function singleShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  const first = inputShape[0];
  const shape = Array.isArray(first) ? first : (inputShape as tf.Shape);
  if (shape.length !== 4) throw new Error(`GroupedConv2D expects a 4-D NHWC input, got shape [${shape.join(', ')}]`);
  return shape;
}

function outLength(size: number | null, kernel: number, stride: number, padding: 'same' | 'valid'): number | null {
  if (size === null) return null;
  return padding === 'same' ? Math.ceil(size / stride) : Math.ceil((size - kernel + 1) / stride);
}

function positiveInt(value: number, field: string, layer: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`GroupedConv2D ${layer}: ${field} must be a positive integer, got ${value}`);
  }
  return value;
}

function pair(value: number | [number, number], field: string, layer: string): [number, number] {
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  return [positiveInt(a, field, layer), positiveInt(b, field, layer)];
}
