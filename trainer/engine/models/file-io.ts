import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DataFormatError, errorMessage } from '../../util/errors.js';
// Registers the custom layer, so that any model read through this handler can be rebuilt.
import './grouped-conv2d.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/**
 * A tf.io handler that saves and loads the TensorFlow.js layers format (model.json +
 * one weights.bin) in a local directory. tfjs's own `file://` handler lives in
 * tfjs-node, which is not installable everywhere the trainer runs.
 *
 * Saving writes weights.bin first and model.json last through a rename, so a
 * directory with a model.json always has the weights it names, even after a crash.
 */
export function fileIOHandler(dir: string): tf.io.IOHandler {
  return {
    save: (artifacts) => saveArtifacts(dir, artifacts),
    load: () => loadArtifacts(dir),
  };
}

async function saveArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology === undefined) {
    throw new Error(`saving to ${dir}: only JSON model topologies (layers models) are supported`);
  }
  await mkdir(dir, { recursive: true });
  const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  await writeFile(path.join(dir, WEIGHTS_BIN), new Uint8Array(weights));
  const modelJSON: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig !== undefined) modelJSON.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata !== undefined) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
  const jsonPath = path.join(dir, MODEL_JSON);
  await writeFile(`${jsonPath}.tmp`, JSON.stringify(modelJSON));
  await rename(`${jsonPath}.tmp`, jsonPath);
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = path.join(dir, MODEL_JSON);
  const text = await readFile(jsonPath, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataFormatError(jsonPath, undefined, `not JSON: ${errorMessage(err)}`);
  }
  const modelJSON = checkModelJSON(jsonPath, parsed);
  return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) buffers.push(await readWeightFile(dir, jsonPath, p));
    }
    const data = tf.io.CompositeArrayBuffer.join(buffers);
    checkWeightBytes(dir, specs, data.byteLength);
    return [specs, data];
  });
}

function checkModelJSON(jsonPath: string, value: unknown): tf.io.ModelJSON {
  if (typeof value !== 'object' || value === null) throw new DataFormatError(jsonPath, undefined, 'not a JSON object');
  const obj = value as Record<string, unknown>;
  if (typeof obj.modelTopology !== 'object' || obj.modelTopology === null) {
    throw new DataFormatError(jsonPath, undefined, 'has no modelTopology object');
  }
  if (!Array.isArray(obj.weightsManifest)) throw new DataFormatError(jsonPath, undefined, 'has no weightsManifest array');
  return value as tf.io.ModelJSON;
}

async function readWeightFile(dir: string, jsonPath: string, relative: string): Promise<ArrayBuffer> {
  const full = path.resolve(dir, relative);
  // A manifest must not make us read files outside the model directory.
  if (path.dirname(full) !== path.resolve(dir)) {
    throw new DataFormatError(jsonPath, undefined, `weights path '${relative}' is not a file in ${dir}`);
  }
  const buf = await readFile(full);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

// tfjs would otherwise fail later with an opaque "offset out of bounds" or load garbage.
function checkWeightBytes(dir: string, specs: tf.io.WeightsManifestEntry[], actual: number): void {
  let expected = 0;
  for (const s of specs) {
    const bytes = DTYPE_BYTES[s.dtype];
    if (s.quantization !== undefined || bytes === undefined) return;
    expected += s.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  if (expected !== actual) {
    throw new DataFormatError(path.join(dir, WEIGHTS_BIN), Math.min(actual, expected), `weights end after ${actual} bytes but model.json describes ${expected}`);
  }
}
