import type * as tf from '@tensorflow/tfjs';
import { basename } from 'node:path';
import type { S3Config } from '../../../io/s3-config.js';
import { openSource } from '../../../io/uri.js';
import { errorMessage } from '../../../util/errors.js';
import { setPreprocessing, type Preprocessing } from '../preprocessing.js';
import { convertSymbol } from './convert.js';
import { parseNDArrayList } from './ndarray-list.js';
import { parseSymbolJson } from './symbol.js';

export interface ImportMxnetOptions {
  symbolUri: string;
  paramsUri: string;
  /** [channels, height, width], MXNet's order. */
  inputShape: [number, number, number];
  preprocessing: Preprocessing;
  s3?: S3Config;
}

/** Key in the model's metadata describing where an imported model came from. */
export const MXNET_METADATA_KEY = 'mxnet';

export interface MxnetMetadata {
  symbol: string;
  params: string;
  inputShape: [number, number, number];
  input: string;
  output: string;
  droppedSoftmax?: string;
  /** MXNet node name -> tfjs layer name, for --layer-before-fullc. */
  layerNames: Record<string, string>;
}

export interface ImportedModel {
  model: tf.LayersModel;
  metadata: MxnetMetadata;
  /** Names of the arrays in the params file that the network does not use. */
  unusedParams: string[];
}

async function readAll(uri: string, s3: S3Config | undefined): Promise<Buffer> {
  const source = openSource(uri, s3);
  try {
    return await source.read(0, await source.size());
  } catch (err) {
    throw new Error(`cannot read ${uri}: ${errorMessage(err)}`);
  } finally {
    await source.close();
  }
}

/**
 * Reads an MXNet checkpoint (PREFIX-symbol.json and PREFIX-NNNN.params) and builds the
 * equivalent tfjs model, with its preprocessing and origin in the model's metadata.
 */
export async function importMxnetCheckpoint(options: ImportMxnetOptions): Promise<ImportedModel> {
  const symbol = parseSymbolJson((await readAll(options.symbolUri, options.s3)).toString('utf8'), options.symbolUri);
  const params = parseNDArrayList(await readAll(options.paramsUri, options.s3), options.paramsUri);
  const modelName = basename(options.symbolUri).replace(/-symbol\.json$|\.json$/i, '') || 'mxnet';
  const converted = convertSymbol(symbol, params, { inputShape: options.inputShape, modelName });
  const metadata: MxnetMetadata = {
    symbol: basename(options.symbolUri),
    params: basename(options.paramsUri),
    inputShape: options.inputShape,
    input: converted.inputName,
    output: converted.outputName,
    ...(converted.droppedSoftmax ? { droppedSoftmax: converted.droppedSoftmax } : {}),
    layerNames: converted.layerNames,
  };
  converted.model.setUserDefinedMetadata({ [MXNET_METADATA_KEY]: { ...metadata } });
  setPreprocessing(converted.model, options.preprocessing);
  const convertedNodes = new Set(Object.keys(converted.layerNames));
  const referenced = new Set<string>();
  for (const node of symbol.nodes) {
    if (node.op !== 'null' && convertedNodes.has(node.name)) for (const ref of node.inputs) referenced.add(symbol.nodes[ref.node].name);
  }
  const unusedParams = [...params.keys()].filter((name) => !referenced.has(name.replace(/^(arg|aux):/, '')));
  return { model: converted.model, metadata, unusedParams };
}

/**
 * The tfjs layer for a layer name given as MXNet calls it (`flatten0`), for a model
 * imported from MXNet; the name itself otherwise.
 */
export function resolveLayerName(model: tf.LayersModel, name: string): string {
  const metadata = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const entry = metadata?.[MXNET_METADATA_KEY] as Partial<MxnetMetadata> | undefined;
  const mapped = entry?.layerNames?.[name];
  return typeof mapped === 'string' ? mapped : name;
}
