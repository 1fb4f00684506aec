import type * as tf from '@tensorflow/tfjs';
import { buildModel } from '../models/registry.js';
import { replaceHead, parameterGroups } from '../models/head.js';
import { loadModel } from '../models/model-store.js';
import { preprocessingOf, setPreprocessing, TRAINER_PREPROCESSING, type Preprocessing } from '../models/preprocessing.js';
import { resolveLayerName } from '../models/mxnet/import.js';
import type { ParameterSpec } from '../optim/sgd.js';
import type { TrainOptions } from './options.js';
import { UsageError, errorMessage } from '../../util/errors.js';

export interface PreparedModel {
  model: tf.LayersModel;
  params: ParameterSpec[];
  /** 'scratch' or the pretrained model's URI. */
  origin: string;
  /** How input pixels are normalised: the pretrained model's own, else the trainer's. Saved with the model. */
  preprocessing: Preprocessing;
}

/**
 * Builds the network to train: a fresh seeded model, or (the tutorial's fine-tune.py)
 * a pretrained model whose classifier is replaced by a new `numClasses` head.
 */
export async function prepareModel(options: TrainOptions): Promise<PreparedModel> {
  const [channels, height, width] = options.imageShape;
  let model: tf.LayersModel;
  let origin = 'scratch';
  let preprocessing = TRAINER_PREPROCESSING;
  if (options.pretrained) {
    let pretrained: tf.LayersModel;
    try {
      pretrained = await loadModel(options.pretrained.uri, options.s3);
    } catch (err) {
      throw new UsageError(`--pretrained ${options.pretrained.uri}: ${errorMessage(err)}`);
    }
    const inputShape = pretrained.inputs[0].shape.slice(1);
    if (inputShape[0] !== height || inputShape[1] !== width || inputShape[2] !== channels) {
      throw new UsageError(`--pretrained ${options.pretrained.uri}: the model takes input ${JSON.stringify(inputShape)} (HWC) but --image-shape is ${channels},${height},${width}`);
    }
    // The pretrained network keeps seeing pixels the way it was trained to.
    preprocessing = preprocessingOf(pretrained, options.pretrained.uri);
    const cut = options.pretrained.layerBeforeFullc;
    model = replaceHead(pretrained, {
      // An imported MXNet model answers to its MXNet node names (flatten0).
      ...(cut !== undefined ? { layerBeforeFullc: resolveLayerName(pretrained, cut) } : {}),
      numClasses: options.numClasses,
      seed: options.seed,
      freeze: options.pretrained.freeze,
    });
    origin = options.pretrained.uri;
  } else {
    model = buildModel({ ...options.model, inputShape: [height, width, channels], numClasses: options.numClasses, seed: options.seed });
  }
  setPreprocessing(model, preprocessing);
  const groups = parameterGroups(model);
  const pretrainedMultiplier = options.pretrained?.lrMultiplier ?? 1;
  const params: ParameterSpec[] = [
    ...groups.pretrained.map((p) => ({ variable: p.variable, decay: p.kind === 'weight', lrMultiplier: pretrainedMultiplier })),
    ...groups.head.map((p) => ({ variable: p.variable, decay: p.kind === 'weight', lrMultiplier: 1 })),
  ];
  return { model, params, origin, preprocessing };
}
