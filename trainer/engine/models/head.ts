import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../util/errors.js';
import { apply, dense } from './blocks.js';
import { SeedSequence } from './init.js';

export interface ReplaceHeadOptions {
  /** The layer whose output feeds the new classifier; default: the input of the last Dense layer. */
  layerBeforeFullc?: string;
  numClasses: number;
  /** Seeds the new classifier's initialisation (see init.ts). */
  seed: number;
  /** Mark the kept (pretrained) layers trainable = false. */
  freeze: boolean;
}

/** Key in the model's user-defined metadata (saved in model.json) naming the head layers. */
export const HEAD_METADATA_KEY = 'fineTuneHead';

interface HeadMetadata {
  headLayers: string[];
  pretrainedModel: string;
}

/**
 * Fine-tuning surgery, as the MXNet tutorial's fine-tune.py: keep the network from its
 * input up to `layerBeforeFullc`, put a new Dense 'fc' with `numClasses` outputs on
 * top (flattening first if that layer's output is not rank 2, as MXNet's
 * FullyConnected does), and return the new model.
 *
 * The kept layers are the same layer objects, so their weights are shared with
 * `model`, not copied; with `freeze` they become trainable = false in both models.
 * Frozen layers get no gradient updates, but a batch norm layer still updates its
 * moving mean and variance when run in training mode (as MXNet's fixed parameters do).
 * The head's layer names are recorded in the model's metadata for parameterGroups.
 */
export function replaceHead(model: tf.LayersModel, options: ReplaceHeadOptions): tf.LayersModel {
  if (!Number.isInteger(options.numClasses) || options.numClasses < 2) {
    throw new UsageError(`numClasses ${options.numClasses} must be an integer of at least 2`);
  }
  if (!Number.isInteger(options.seed)) throw new UsageError(`seed ${options.seed} must be an integer`);
  const cut = options.layerBeforeFullc === undefined ? defaultCut(model) : namedLayer(model, options.layerBeforeFullc);
  const cutOutput = cut.output;
  if (Array.isArray(cutOutput)) {
    throw new UsageError(`layer-before-fullc '${cut.name}' has ${cutOutput.length} outputs; name a layer with one`);
  }
  // Only the kept layers can clash with the new names; the old head is dropped.
  const kept = tf.model({ inputs: model.inputs, outputs: cutOutput });
  const taken = new Set(kept.layers.map((l) => l.name));
  const headLayers: string[] = [];
  let x = cutOutput;
  if (x.shape.length !== 2) {
    const flattenName = uniqueName('fc_flatten', taken);
    x = apply(tf.layers.flatten({ name: flattenName }), x);
    headLayers.push(flattenName);
  }
  const fcName = uniqueName('fc', taken);
  const logits = dense(x, new SeedSequence(options.seed), fcName, options.numClasses);
  headLayers.push(fcName);

  const tuned = tf.model({ inputs: model.inputs, outputs: logits, name: `${model.name}_finetune` });
  const head = new Set(headLayers);
  if (options.freeze) {
    for (const layer of tuned.layers) if (!head.has(layer.name)) layer.trainable = false;
  }
  const metadata: HeadMetadata = { headLayers, pretrainedModel: model.name };
  tuned.setUserDefinedMetadata({ [HEAD_METADATA_KEY]: { ...metadata } });
  return tuned;
}

export type ParamKind = 'weight' | 'bias' | 'batchnorm' | 'other';

export interface TrainableParam {
  /** The variable's unique name, as optimizers' applyGradients expects. */
  name: string;
  layer: string;
  /** 'weight' (conv and dense kernels) is what weight decay applies to. */
  kind: ParamKind;
  variable: tf.Variable;
}

export interface ParameterGroups {
  /** Weights that came from the pretrained model (empty for a model not made by replaceHead). */
  pretrained: TrainableParam[];
  /** The new classifier; every trainable variable of a model trained from scratch. */
  head: TrainableParam[];
}

/** Splits a model's trainable variables into pretrained and head, each tagged with its kind. */
export function parameterGroups(model: tf.LayersModel): ParameterGroups {
  const head = headLayerNames(model);
  const groups: ParameterGroups = { pretrained: [], head: [] };
  for (const layer of model.layers) {
    for (const w of layer.trainableWeights) {
      const variable = w.read();
      if (!(variable instanceof tf.Variable)) throw new Error(`weight ${w.name} of layer ${layer.name} is not a tf.Variable`);
      const param: TrainableParam = { name: variable.name, layer: layer.name, kind: paramKind(w.originalName), variable };
      (head === null || head.has(layer.name) ? groups.head : groups.pretrained).push(param);
    }
  }
  return groups;
}

function headLayerNames(model: tf.LayersModel): Set<string> | null {
  const metadata = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const entry = metadata?.[HEAD_METADATA_KEY] as Partial<HeadMetadata> | undefined;
  if (entry === undefined) return null;
  if (!Array.isArray(entry.headLayers) || !entry.headLayers.every((n) => typeof n === 'string')) {
    throw new Error(`model ${model.name}: metadata '${HEAD_METADATA_KEY}' has no headLayers list of names`);
  }
  return new Set(entry.headLayers);
}

function paramKind(originalName: string): ParamKind {
  const leaf = originalName.slice(originalName.lastIndexOf('/') + 1);
  if (leaf.endsWith('kernel')) return 'weight';
  if (leaf === 'bias') return 'bias';
  if (leaf === 'gamma' || leaf === 'beta') return 'batchnorm';
  return 'other';
}

function namedLayer(model: tf.LayersModel, name: string): tf.layers.Layer {
  const layer = model.layers.find((l) => l.name === name);
  if (layer === undefined) {
    throw new UsageError(`layer-before-fullc '${name}' is not a layer of model ${model.name}; its layers are: ${model.layers.map((l) => l.name).join(', ')}`);
  }
  return layer;
}

function defaultCut(model: tf.LayersModel): tf.layers.Layer {
  const dense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense');
  if (dense === undefined) {
    throw new UsageError(`model ${model.name} has no Dense layer to replace; name the layer-before-fullc`);
  }
  const input = dense.input;
  const feeder = model.layers.find((l) => l.output === input);
  if (feeder === undefined) throw new UsageError(`cannot find the layer feeding ${dense.name} in model ${model.name}; name the layer-before-fullc`);
  return feeder;
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}
