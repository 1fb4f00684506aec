import t from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { connectS3 } from '../../../trainer/io/s3-client.js';
import { S3ObjectSource } from '../../../trainer/io/s3-source.js';
import { Rng } from '../../../trainer/util/rng.js';
import { startS3rver } from '../../helpers/s3rver.js';

function randomBytes(seed: number, n: number): Buffer {
  const rng = new Rng(seed);
  const words = new Uint32Array(Math.ceil(n / 4));
  for (let i = 0; i < words.length; i++) words[i] = rng.nextUint32();
  return Buffer.from(words.buffer, 0, n);
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<{ data: Buffer; sizes: number[] }> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return { data: Buffer.concat(parts), sizes: parts.map((p) => p.length) };
}

t.test('ranged reads and streams', async (t) => {
  const server = await startS3rver(t, { buckets: ['data'] });
  const conn = connectS3(server.config);
  t.teardown(() => conn.close());
  const big = randomBytes(1, 21 * 1024 * 1024 + 13);
  const small = randomBytes(2, 1000);
  await conn.client.send(new PutObjectCommand({ Bucket: 'data', Key: 'big.bin', Body: big }));
  await conn.client.send(new PutObjectCommand({ Bucket: 'data', Key: 'small.bin', Body: small }));
  await conn.client.send(new PutObjectCommand({ Bucket: 'data', Key: 'empty.bin', Body: Buffer.alloc(0) }));

  const src = new S3ObjectSource(conn, 'data', 'big.bin', { chunkBytes: 3 * 1024 * 1024 + 7 });
  t.equal(await src.size(), big.length);

  t.ok((await src.read(0, big.length)).equals(big), 'whole object in one read');
  for (const [offset, length] of [
    [0, 1],
    [1, 4097],
    [12_345_677, 999_983],
    [big.length - 5, 5],
  ]) {
    const got = await src.read(offset, length);
    t.ok(got.equals(big.subarray(offset, offset + length)), `read(${offset}, ${length})`);
  }
  t.ok((await src.read(big.length - 3, 100)).equals(big.subarray(big.length - 3)), 'read past the end is clamped');
  t.equal((await src.read(big.length, 10)).length, 0, 'read at the end gives nothing');
  t.equal((await src.read(big.length + 100, 10)).length, 0, 'read beyond the end gives nothing');
  t.equal((await src.read(5, 0)).length, 0, 'zero-length read');
  await t.rejects(src.read(-1, 3), /s3:\/\/data\/big\.bin: read: offset and length must be non-negative/);

  const whole = await collect(src.stream(0, big.length));
  t.ok(whole.data.equals(big), 'stream(0, size) yields every byte in order');
  t.same(whole.sizes.slice(0, -1), new Array(whole.sizes.length - 1).fill(3 * 1024 * 1024 + 7), 'chunks of the configured size');

  const odd = await collect(src.stream(1_000_003, 8_000_011));
  t.ok(odd.data.equals(big.subarray(1_000_003, 8_000_011)), 'stream of an odd interior range');
  const tail = await collect(src.stream(big.length - 100, big.length + 1_000_000));
  t.ok(tail.data.equals(big.subarray(big.length - 100)), 'stream end is clamped at the size');
  t.equal((await collect(src.stream(big.length, big.length + 5))).data.length, 0, 'empty stream at the end');

  // Leaving a stream early must not leave an unhandled rejection or hang.
  for await (const chunk of src.stream(0, big.length)) {
    t.equal(chunk.length, 3 * 1024 * 1024 + 7, 'first chunk');
    break;
  }

  const smallSrc = new S3ObjectSource(conn, 'data', 'small.bin', { chunkBytes: 100 });
  const smallStream = await collect(smallSrc.stream(0, 1000));
  t.ok(smallStream.data.equals(small));
  t.equal(smallStream.sizes.length, 10, 'ten 100-byte ranged GETs');

  const empty = new S3ObjectSource(conn, 'data', 'empty.bin');
  t.equal(await empty.size(), 0);
  t.equal((await empty.read(0, 10)).length, 0);
  t.equal((await collect(empty.stream(0, 10))).data.length, 0);

  await src.close();
  await src.close();
  t.pass('close twice is fine');
});

t.test('size() is cached: no HEAD after the first', async (t) => {
  const server = await startS3rver(t, { buckets: ['data'] });
  const conn = connectS3(server.config, { retry: { maxAttempts: 1 } });
  t.teardown(() => conn.close());
  await conn.client.send(new PutObjectCommand({ Bucket: 'data', Key: 'k', Body: Buffer.from('hello') }));
  const src = new S3ObjectSource(conn, 'data', 'k');
  t.equal(await src.size(), 5);
  await server.stop();
  t.equal(await src.size(), 5, 'answered from the cache with the server gone');
});

t.test('ownsConnection closes the connection on close()', async (t) => {
  let closes = 0;
  const server = await startS3rver(t, { buckets: ['data'] });
  const conn = connectS3(server.config);
  const counted = { ...conn, close: () => { closes++; conn.close(); } };
  const src = new S3ObjectSource(counted, 'data', 'k', { ownsConnection: true });
  await src.close();
  await src.close();
  t.equal(closes, 1);
  const shared = new S3ObjectSource(counted, 'data', 'k');
  await shared.close();
  t.equal(closes, 1, 'a shared connection stays open');
  t.throws(() => new S3ObjectSource(conn, 'data', 'k', { chunkBytes: 0 }), /chunk size must be a positive integer/);
});
