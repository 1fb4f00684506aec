import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND } from './kernel-names.js';

type Kwargs = Parameters<tf.layers.Layer['call']>[1];
type Call = (this: ConvLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];

/** The fields of tfjs-layers' Conv2D that its call reads. */
interface ConvLayer {
  rank: number;
  kernel: tf.LayerVariable | null;
  bias: tf.LayerVariable | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
}

const PATCHED = Symbol.for('cifar-operator.native-conv2d');

/**
 * tfjs-layers' Conv2D runs tf.fused.conv2d, whose gradient (a customGrad) computes the input
 * gradient whether or not anything needs it; for a network's first convolution nothing does,
 * and with its 3 input channels it was LeNet's costliest convolution kernel (measured: 11 ms
 * of a step's 41 ms of convolutions). While the native backend is active, the layer runs
 * tf.conv2d, adds the bias and applies the activation: the same result (to rounding), and
 * tf.conv2d's gradient computes each input's gradient only when asked for it. Elsewhere, and
 * for channels-first data, the layer's own call runs. Idempotent.
 */
export function useUnfusedConv2DLayer(): void {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.Conv2D as unknown[] | undefined;
  const ctor = entry?.[0] as { prototype: { call: Call; [PATCHED]?: true } } | undefined;
  if (ctor === undefined) throw new Error('native backend: tfjs-layers has no Conv2D class registered to extend');
  const proto = ctor.prototype;
  if (proto[PATCHED] === true) return;
  const original = proto.call;
  proto.call = function (this: ConvLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const kernel = this.kernel;
    if (tf.getBackend() !== NATIVE_BACKEND || this.rank !== 2 || this.dataFormat !== 'channelsLast' || kernel === null ||
      (this.padding !== 'same' && this.padding !== 'valid')) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const pad = this.padding as 'same' | 'valid';
      let y: tf.Tensor = tf.conv2d(x, kernel.read() as tf.Tensor4D, [this.strides[0], this.strides[1]], pad, 'NHWC', [this.dilationRate[0], this.dilationRate[1]]);
      if (this.bias !== null) y = tf.add(y, this.bias.read());
      return this.activation === null ? y : this.activation.apply(y);
    });
  };
  proto[PATCHED] = true;
}
