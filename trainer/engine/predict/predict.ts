import * as tf from '@tensorflow/tfjs';
import type { ByteSource } from '../../io/byte-source.js';
import { readRecordBatches } from '../../data/recordio/reader.js';
import { unpackImageRecord } from '../../data/recordio/image-record.js';
import { decodeImage } from '../../data/image/decode.js';
import { centerPlacement, writeCrop } from '../../data/pipeline/augment.js';
import { normalizationTable } from '../../data/pipeline/normalize.js';
import { DataFormatError, UsageError } from '../../util/errors.js';
import type { Preprocessing } from '../models/preprocessing.js';

export interface RecordPrediction {
  /** Position of the record in the file, from 0. */
  index: number;
  labels: number[];
  /** Softmax of the network's output. */
  probabilities: number[];
}

export interface PredictSummary {
  records: number;
  /** Records whose first label is a class of the model (an integer in [0, classes)). */
  labeled: number;
  /** Labeled records whose most probable class is their first label. */
  correct: number;
  /** correct / labeled (NaN when nothing is labeled). */
  accuracy: number;
  /** Mean cross-entropy of the labeled records' first label (NaN when nothing is labeled). */
  loss: number;
  classes: number;
}

export interface PredictOptions {
  model: tf.LayersModel;
  preprocessing: Preprocessing;
  batchSize: number;
  onRecord: (prediction: RecordPrediction) => void;
}

interface Pending {
  index: number;
  labels: number[];
}

/**
 * Runs the model over every image record of a RecordIO file, in record order: each
 * image is centre-cropped to the model's input (as validation does in training),
 * normalised with the model's stored preprocessing, and classified in inference mode.
 */
export async function predictRecords(source: ByteSource, options: PredictOptions): Promise<PredictSummary> {
  const [, height, width, channels] = options.model.inputs[0].shape;
  if (height == null || width == null || channels !== 3) {
    throw new UsageError(`model ${options.model.name} takes input [${options.model.inputs[0].shape.slice(1).join(', ')}] (HWC); predict needs a fixed-size RGB input`);
  }
  if (height !== width) throw new UsageError(`model ${options.model.name} takes ${height}x${width} input; predict crops squares`);
  const table = normalizationTable(options.preprocessing.mean, options.preprocessing.std, `model ${options.model.name} preprocessing`);
  const imageFloats = height * width * 3;
  const x = new Float32Array(options.batchSize * imageFloats);
  const pending: Pending[] = [];
  const summary: PredictSummary = { records: 0, labeled: 0, correct: 0, accuracy: NaN, loss: NaN, classes: 0 };
  let lossSum = 0;

  const flush = (): void => {
    if (pending.length === 0) return;
    const n = pending.length;
    const logits = tf.tidy(() => {
      const out = options.model.predict(tf.tensor4d(x.subarray(0, n * imageFloats), [n, height, width, 3]));
      if (Array.isArray(out)) throw new UsageError(`model ${options.model.name} has ${out.length} outputs; predict needs one`);
      if (out.shape.length !== 2) throw new UsageError(`model ${options.model.name} outputs shape [${out.shape.join(', ')}]; predict needs [batch, classes]`);
      return out;
    });
    const classes = logits.shape[1] as number;
    const values = logits.dataSync();
    logits.dispose();
    summary.classes = classes;
    for (let i = 0; i < n; i++) {
      const { probabilities, logSumExp } = softmax(values.subarray(i * classes, (i + 1) * classes));
      const { index, labels } = pending[i];
      const label = labels[0];
      if (Number.isInteger(label) && label >= 0 && label < classes) {
        summary.labeled++;
        if (argMax(probabilities) === label) summary.correct++;
        lossSum += logSumExp - values[i * classes + label];
      }
      options.onRecord({ index, labels, probabilities });
    }
    pending.length = 0;
  };

  for await (const batch of readRecordBatches(source)) {
    for (const { offset, payload } of batch) {
      const record = unpackImageRecord(payload, source.uri, offset);
      const where = `${source.uri}#offset=${offset}`;
      const image = decodeImage(record.image, where);
      if (image.height < height || image.width < width) {
        throw new DataFormatError(source.uri, offset, `image is ${image.width}x${image.height}, smaller than the model's ${width}x${height} input`);
      }
      writeCrop(image.data, 0, image.height, image.width, centerPlacement(image.height, image.width, height), height, table, x, pending.length * imageFloats);
      pending.push({ index: summary.records++, labels: record.labels });
      if (pending.length === options.batchSize) flush();
    }
  }
  flush();
  if (summary.labeled > 0) {
    summary.accuracy = summary.correct / summary.labeled;
    summary.loss = lossSum / summary.labeled;
  }
  return summary;
}

/** Softmax in float64 (max-shifted), with log(sum(exp(logits))) for the loss. */
export function softmax(logits: ArrayLike<number>): { probabilities: number[]; logSumExp: number } {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  const exps: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i] - max);
    exps.push(e);
    sum += e;
  }
  return { probabilities: exps.map((e) => e / sum), logSumExp: max + Math.log(sum) };
}

function argMax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
