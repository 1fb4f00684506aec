import type * as tf from '@tensorflow/tfjs';

/**
 * Multiply-add FLOPs (2 per multiply-accumulate) of one forward pass of one image,
 * counted from each convolution's and dense layer's kernel and output size. Other layers
 * (batch norm, activations, pooling) are a few percent and left out, as is customary.
 * Training costs about three times the forward pass (forward, input and weight gradients).
 */
export function forwardFlopsPerImage(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kernel = layer.getWeights().find((_, i) => layer.weights[i]?.originalName.endsWith('kernel'));
    if (!kernel) continue;
    const kernelSize = kernel.size;
    const out = layer.outputShape as number[];
    const className = layer.getClassName();
    if (className === 'Dense') {
      flops += 2 * kernelSize;
    } else if (out.length === 4) {
      // A conv kernel [kh, kw, cin/groups, cout] is applied at every output position.
      flops += 2 * kernelSize * out[1] * out[2];
    }
  }
  return flops;
}
