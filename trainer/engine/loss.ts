import * as tf from '@tensorflow/tfjs';

/**
 * Mean softmax cross-entropy of logits against integer labels, with optional label
 * smoothing (the target puts 1 - s on the true class and s / classes everywhere).
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const oneHot = tf.oneHot(labels, classes).toFloat();
    const target = labelSmoothing > 0 ? oneHot.mul(1 - labelSmoothing).add(labelSmoothing / classes) : oneHot;
    const logProbs = tf.logSoftmax(logits);
    return target.mul(logProbs).sum(1).neg().mean() as tf.Scalar;
  });
}

/** Number of rows whose arg-max equals the label. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): number {
  return tf.tidy(() => logits.argMax(1).equal(labels.toInt()).sum().dataSync()[0]);
}
