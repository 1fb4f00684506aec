import * as tf from '@tensorflow/tfjs';
import { openDirectory } from '../../io/directory.js';
import type { S3Config } from '../../io/s3-config.js';
import { DataFormatError, UsageError, errorMessage } from '../../util/errors.js';
import './grouped-conv2d.js';
import './mxnet/layers.js';

export const MODEL_JSON_NAME = 'model.json';
export const WEIGHTS_NAME = 'weights.bin';
const HTTP_TIMEOUT_MS = 30_000;

/** Reads named files next to a model.json: a local directory, an S3 prefix, or an HTTP(S) base URL. */
type FileReader = (name: string) => Promise<Buffer>;

function readerFor(uri: string, s3: S3Config | undefined): { base: string; read: FileReader } {
  const base = uri.replace(/\/model\.json$/, '').replace(/\/+$/, '');
  if (/^https?:\/\//i.test(base)) {
    return {
      base,
      read: async (name) => {
        const url = `${base}/${name}`;
        let response: Response;
        try {
          response = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
        } catch (err) {
          throw new Error(`${url}: request failed: ${errorMessage(err)}`);
        }
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
        return Buffer.from(await response.arrayBuffer());
      },
    };
  }
  const dir = openDirectory(base, s3);
  return { base, read: (name) => dir.read(name) };
}

/**
 * Loads a TensorFlow.js layers model (model.json + weight files) from a local directory,
 * s3://bucket/prefix or an http(s) URL (with or without the trailing /model.json).
 */
export async function loadModel(uri: string, s3?: S3Config): Promise<tf.LayersModel> {
  const { base, read } = readerFor(uri, s3);
  const jsonUri = `${base}/${MODEL_JSON_NAME}`;
  let text: string;
  try {
    text = (await read(MODEL_JSON_NAME)).toString('utf8');
  } catch (err) {
    throw new Error(`cannot read model ${jsonUri}: ${errorMessage(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataFormatError(jsonUri, undefined, `not JSON: ${errorMessage(err)}`);
  }
  const modelJSON = checkModelJSON(jsonUri, parsed);
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) {
        if (p.includes('/') || p.includes('\\') || p.startsWith('.')) throw new DataFormatError(jsonUri, undefined, `weights path '${p}' is not a file next to model.json`);
        const bytes = await read(p);
        buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      }
    }
    const data = tf.io.CompositeArrayBuffer.join(buffers);
    const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'bool' ? 1 : 4), 0);
    if (expected !== data.byteLength) throw new DataFormatError(jsonUri, undefined, `weights are ${data.byteLength} bytes but model.json describes ${expected}`);
    return [specs, data];
  });
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new DataFormatError(jsonUri, undefined, `not a loadable layers model: ${errorMessage(err)}`);
  }
}

function checkModelJSON(uri: string, value: unknown): tf.io.ModelJSON {
  if (typeof value !== 'object' || value === null) throw new DataFormatError(uri, undefined, 'not a JSON object');
  const obj = value as Record<string, unknown>;
  if (typeof obj.modelTopology !== 'object' || obj.modelTopology === null) throw new DataFormatError(uri, undefined, 'has no modelTopology (is it a layers model?)');
  if (!Array.isArray(obj.weightsManifest)) throw new DataFormatError(uri, undefined, 'has no weightsManifest array');
  return value as tf.io.ModelJSON;
}

/** Saves a model in the layers format to a local directory or S3 prefix: weights first, model.json last. */
export async function saveModel(model: tf.LayersModel, dirUri: string, s3?: S3Config): Promise<void> {
  if (/^https?:\/\//i.test(dirUri)) throw new UsageError(`${dirUri}: models are saved to a directory or s3:// prefix, not HTTP`);
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!captured || captured.modelTopology instanceof ArrayBuffer || captured.modelTopology === undefined) {
    throw new Error(`saving to ${dirUri}: tfjs produced no layers topology`);
  }
  const weights = captured.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(captured.weightData);
  const modelJSON: tf.io.ModelJSON = {
    modelTopology: captured.modelTopology,
    format: captured.format,
    generatedBy: captured.generatedBy,
    convertedBy: captured.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_NAME], weights: captured.weightSpecs ?? [] }],
    ...(captured.userDefinedMetadata ? { userDefinedMetadata: captured.userDefinedMetadata } : {}),
  };
  const dir = openDirectory(dirUri, s3);
  await dir.write(WEIGHTS_NAME, new Uint8Array(weights));
  await dir.write(MODEL_JSON_NAME, Buffer.from(JSON.stringify(modelJSON)));
}
