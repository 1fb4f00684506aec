import t from 'tap';
import { encodeCheckpoint, decodeCheckpoint, checkpointName, parseCheckpointName } from '../../../../trainer/engine/checkpoint/format.js';

const contents = {
  position: { epoch: 2, stepInEpoch: 17, globalStep: 97 },
  seed: 5,
  trainer: { history: [{ epoch: 0, validationAccuracy: 0.4 }] },
  rng: [1, 2, 3, 4] as [number, number, number, number],
  model: [
    { name: 'conv1/kernel', shape: [2, 2], values: new Float32Array([1, 2, 3, 4.5]) },
    { name: 'fc/bias', shape: [3], values: new Float32Array([-1, 0, 1e-7]) },
  ],
  optimizer: [{ name: 'conv1/kernel', shape: [2, 2], values: new Float32Array([0.1, 0.2, 0.3, 0.4]) }],
};

t.test('a checkpoint round-trips exactly', async (t) => {
  const bytes = encodeCheckpoint(contents, new Date('2026-01-02T03:04:05Z'));
  const back = decodeCheckpoint(bytes, 'mem://ckpt');
  t.same(back.position, contents.position);
  t.equal(back.seed, 5);
  t.same(back.rng, [1, 2, 3, 4]);
  t.same(back.trainer, contents.trainer);
  t.equal(back.createdAt, '2026-01-02T03:04:05.000Z');
  t.same(back.model.map((m) => [m.name, m.shape, Array.from(m.values)]), contents.model.map((m) => [m.name, m.shape, Array.from(m.values)]));
  t.same(Array.from(back.optimizer[0].values), Array.from(contents.optimizer[0].values));
});

t.test('damaged checkpoints are refused with the place named', async (t) => {
  const bytes = encodeCheckpoint(contents);
  t.throws(() => decodeCheckpoint(Buffer.from('nonsense-bytes-here'), 'x.ckpt'), /x\.ckpt: at byte offset 0: not a cifar-operator checkpoint/);
  t.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'x.ckpt'), /truncated or damaged/);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 1] ^= 0xff;
  t.throws(() => decodeCheckpoint(flipped, 'x.ckpt'), /does not match its SHA-256/);
  const badVersion = Buffer.from(bytes);
  badVersion.writeUInt32LE(9, 8);
  t.throws(() => decodeCheckpoint(badVersion, 'x.ckpt'), /version 9 is not supported/);
});

t.test('checkpoint names sort by global step and parse back', async (t) => {
  const name = checkpointName({ epoch: 3, stepInEpoch: 0, globalStep: 1200 });
  t.equal(name, 'ckpt-000001200-e3-s0.ckpt');
  t.equal(parseCheckpointName(name), 1200);
  t.equal(parseCheckpointName('model.json'), undefined);
  t.ok(checkpointName({ epoch: 0, stepInEpoch: 9, globalStep: 9 }) < name, 'lexical order is step order');
});
