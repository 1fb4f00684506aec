import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '../loss.js';
import type { Batch } from './types.js';

export interface StepResult {
  loss: number;
  correct: number;
  /** Gradients keyed by variable name; the caller disposes them. */
  grads: Record<string, tf.Tensor>;
}

/**
 * Forward and backward pass of one batch in training mode (batch norm uses batch
 * statistics and updates its moving averages). Gradients are returned rather than
 * applied so that a distributed run can average them across replicas first.
 */
export function computeGradients(model: tf.LayersModel, variables: tf.Variable[], batch: Batch, inputShape: readonly number[], labelSmoothing: number): StepResult {
  const x = tf.tensor4d(batch.x, [batch.size, inputShape[0], inputShape[1], inputShape[2]]);
  const y = tf.tensor1d(batch.y, 'int32');
  let correct: tf.Scalar | undefined;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor2D;
      correct = tf.keep(logits.argMax(1).equal(y).sum() as tf.Scalar);
      return softmaxCrossEntropy(logits, y, labelSmoothing);
    }, variables);
    const loss = value.dataSync()[0];
    value.dispose();
    return { loss, correct: correct ? correct.dataSync()[0] : 0, grads: grads as Record<string, tf.Tensor> };
  } finally {
    x.dispose();
    y.dispose();
    correct?.dispose();
  }
}

/** Loss sum and correct count over batches in inference mode. */
export async function evaluate(
  model: tf.LayersModel,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  inputShape: readonly number[],
): Promise<{ loss: number; accuracy: number; count: number }> {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for await (const batch of batches) {
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [batch.size, inputShape[0], inputShape[1], inputShape[2]]);
      const y = tf.tensor1d(batch.y, 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      const loss = softmaxCrossEntropy(logits, y).mul(batch.size);
      return [loss.dataSync()[0], logits.argMax(1).equal(y).sum().dataSync()[0]];
    });
    lossSum += l;
    correct += c;
    count += batch.size;
  }
  return count === 0 ? { loss: NaN, accuracy: NaN, count } : { loss: lossSum / count, accuracy: correct / count, count };
}
