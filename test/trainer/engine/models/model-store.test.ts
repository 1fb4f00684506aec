import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModel } from '../../../../trainer/engine/models/registry.js';
import { loadModel, saveModel } from '../../../../trainer/engine/models/model-store.js';
import { startS3rver } from '../../../helpers/s3rver.js';

await tf.setBackend('cpu');

function predictions(model: tf.LayersModel): number[] {
  return tf.tidy(() => Array.from((model.predict(tf.ones([1, 16, 16, 3])) as tf.Tensor).dataSync()));
}

t.test('a model saved to S3 loads back from S3 and over HTTP with the same predictions', async (t) => {
  const model = buildModel({ name: 'resnext', preset: 'tiny', depth: 11, cardinality: 2, width: 4, baseChannels: 8, inputShape: [16, 16, 3], numClasses: 10, seed: 4 });
  const expected = predictions(model);

  const s3 = await startS3rver(t, { buckets: ['models'] });
  await saveModel(model, 's3://models/runs/a/model', s3.config);
  t.same(predictions(await loadModel('s3://models/runs/a/model', s3.config)), expected, 'from S3');

  const dir = join(t.testdir(), 'model');
  await saveModel(model, dir);
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/models\//, '');
    readFile(join(dir, name)).then(
      (bytes) => res.writeHead(200).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as { port: number };
  t.same(predictions(await loadModel(`http://127.0.0.1:${port}/models/model.json`)), expected, 'over HTTP');
  await t.rejects(loadModel(`http://127.0.0.1:${port}/nowhere`), /nowhere\/model\.json: HTTP 404/, 'a missing model names the URL and status');
  await t.rejects(loadModel('s3://models/runs/missing', s3.config), /s3:\/\/models\/runs\/missing\/model\.json/, 'a missing S3 model names its key');
  await t.rejects(saveModel(model, 'http://127.0.0.1/x'), /not HTTP/);
});
