import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDirectory } from '../../../../trainer/io/directory.js';
import { saveCheckpoint, loadLatestCheckpoint } from '../../../../trainer/engine/checkpoint/store.js';
import type { CheckpointContents } from '../../../../trainer/engine/checkpoint/format.js';
import { startS3rver } from '../../../helpers/s3rver.js';

function contents(globalStep: number): CheckpointContents {
  return {
    position: { epoch: Math.floor(globalStep / 10), stepInEpoch: globalStep % 10, globalStep },
    seed: 1,
    trainer: {},
    model: [{ name: 'w', shape: [2], values: new Float32Array([globalStep, -globalStep]) }],
    optimizer: [],
  };
}

t.test('local: keeps the newest N, loads the latest, skips a damaged newest file', async (t) => {
  const dir = openDirectory(join(t.testdir(), 'ckpt'));
  t.equal(await loadLatestCheckpoint(dir), undefined, 'no checkpoint yet');
  for (const step of [5, 10, 15, 20]) await saveCheckpoint(dir, contents(step), 2);
  t.same(await dir.list(), ['ckpt-000000015-e1-s5.ckpt', 'ckpt-000000020-e2-s0.ckpt']);
  const latest = await loadLatestCheckpoint(dir);
  t.equal(latest?.position.globalStep, 20);
  // A damaged newer file must not be resumed from.
  await writeFile(join(dir.uri, 'ckpt-000000025-e2-s5.ckpt'), 'garbage');
  const warnings: string[] = [];
  const fallback = await loadLatestCheckpoint(dir, (m) => warnings.push(m));
  t.equal(fallback?.position.globalStep, 20);
  t.match(warnings[0], /ckpt-000000025-e2-s5\.ckpt: at byte offset 0: not a cifar-operator checkpoint/);
});

t.test('S3: checkpoints under a prefix on a real S3 server', async (t) => {
  const s3 = await startS3rver(t, { buckets: ['ckpts'] });
  const dir = openDirectory('s3://ckpts/jobs/demo/', s3.config);
  for (const step of [3, 6, 9]) await saveCheckpoint(dir, contents(step), 2);
  t.same(await dir.list(), ['ckpt-000000006-e0-s6.ckpt', 'ckpt-000000009-e0-s9.ckpt']);
  const latest = await loadLatestCheckpoint(dir);
  t.equal(latest?.uri, 's3://ckpts/jobs/demo/ckpt-000000009-e0-s9.ckpt');
  t.same(Array.from(latest?.model[0].values ?? []), [9, -9]);
});
