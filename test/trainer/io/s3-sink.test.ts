import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { connectS3 } from '../../../trainer/io/s3-client.js';
import { objectExists } from '../../../trainer/io/s3-list.js';
import { S3ObjectSink } from '../../../trainer/io/s3-sink.js';
import { openSink, openSource } from '../../../trainer/io/uri.js';
import { Rng } from '../../../trainer/util/rng.js';
import { startS3rver } from '../../helpers/s3rver.js';

function randomBytes(seed: number, n: number): Buffer {
  const rng = new Rng(seed);
  const words = new Uint32Array(Math.ceil(n / 4));
  for (let i = 0; i < words.length; i++) words[i] = rng.nextUint32();
  return Buffer.from(words.buffer, 0, n);
}

t.test('S3ObjectSink against s3rver', async (t) => {
  const server = await startS3rver(t, { buckets: ['out'] });
  const conn = connectS3(server.config);
  t.teardown(() => conn.close());
  const spool = t.testdir();
  // Records which S3 operations the client sends, to tell multipart from single PUT.
  const sent: string[] = [];
  conn.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  const getBytes = async (key: string): Promise<Buffer> => {
    const res = await conn.client.send(new GetObjectCommand({ Bucket: 'out', Key: key }));
    return Buffer.from((await res.Body?.transformToByteArray()) ?? []);
  };

  t.test('commit uploads exactly the written bytes, multipart when large', async (t) => {
    const data = randomBytes(3, 12 * 1024 * 1024 + 321); // three 5 MiB parts
    const sink = new S3ObjectSink(conn, 'out', 'ckpt/model.bin', { tmpDir: spool, partBytes: 5 * 1024 * 1024 });
    // Writes in uneven pieces, not awaited one by one: order must still hold.
    const writes: Promise<void>[] = [];
    for (let pos = 0; pos < data.length; pos += 777_777) writes.push(sink.write(data.subarray(pos, pos + 777_777)));
    await Promise.all(writes);
    t.ok(existsSync(sink.tmpPath), 'bytes are spooled to a local file');
    t.equal(await objectExists(conn, 'out', 'ckpt/model.bin'), false, 'nothing visible before commit');
    sent.length = 0;
    await sink.commit();
    t.same(
      [...new Set(sent)].sort(),
      ['CompleteMultipartUploadCommand', 'CreateMultipartUploadCommand', 'UploadPartCommand'],
      'uploaded as multipart',
    );
    t.equal(sent.filter((c) => c === 'UploadPartCommand').length, 3, 'in three parts');
    t.notOk(existsSync(sink.tmpPath), 'spool file removed after commit');
    const got = await getBytes('ckpt/model.bin');
    t.equal(got.length, data.length);
    t.ok(got.equals(data), 'object holds exactly the written bytes');
    await t.rejects(sink.write(Buffer.from('x')), /s3:\/\/out\/ckpt\/model\.bin: write after committed/);
    await sink.abort();
    t.ok(await objectExists(conn, 'out', 'ckpt/model.bin'), 'abort after commit is a no-op');
  });

  t.test('small and empty objects go up in one PUT', async (t) => {
    const small = new S3ObjectSink(conn, 'out', 'small.txt', { tmpDir: spool });
    await small.write(Buffer.from('hello '));
    await small.write(Buffer.from('world'));
    sent.length = 0;
    await small.commit();
    t.same(sent, ['PutObjectCommand'], 'one PutObject');
    t.equal((await getBytes('small.txt')).toString(), 'hello world');

    const empty = new S3ObjectSink(conn, 'out', 'empty', { tmpDir: spool });
    await empty.commit();
    t.equal((await getBytes('empty')).length, 0, 'empty object');
    t.same(readdirSync(spool), [], 'no spool files left');
  });

  t.test('abort leaves nothing: no object, no spool file, no S3 call', async (t) => {
    const sink = new S3ObjectSink(conn, 'out', 'aborted.bin', { tmpDir: spool });
    await sink.write(randomBytes(4, 100_000));
    sent.length = 0;
    await sink.abort();
    await sink.abort();
    t.same(sent, [], 'abort sends nothing to S3');
    t.equal(await objectExists(conn, 'out', 'aborted.bin'), false, 'no object');
    t.same(readdirSync(spool), [], 'spool file removed');
    await t.rejects(sink.commit(), /commit after aborted/);
  });

  t.test('abort keeps an existing object unchanged', async (t) => {
    const first = new S3ObjectSink(conn, 'out', 'keep.bin', { tmpDir: spool });
    await first.write(Buffer.from('version 1'));
    await first.commit();
    const second = new S3ObjectSink(conn, 'out', 'keep.bin', { tmpDir: spool });
    await second.write(Buffer.from('version 2, never committed'));
    await second.abort();
    t.equal((await getBytes('keep.bin')).toString(), 'version 1');
  });

  t.test('a failed commit names the URI and can be aborted', async (t) => {
    const sink = new S3ObjectSink(conn, 'no-such-bucket', 'x', { tmpDir: spool });
    await sink.write(Buffer.from('data'));
    await t.rejects(sink.commit(), /^s3:\/\/no-such-bucket\/x: bucket does not exist at endpoint http:\/\/127\.0\.0\.1:\d+$/);
    t.equal(readdirSync(spool).length, 1, 'spool kept after a failed commit');
    await sink.abort();
    t.same(readdirSync(spool), []);
  });

  t.test('openSink / openSource round-trip through s3:// URIs', async (t) => {
    const data = randomBytes(5, 300_000);
    const sink = openSink('s3://out/round/trip.rec', server.config, { sink: { tmpDir: spool } });
    await sink.write(data);
    await sink.commit();
    const src = openSource('s3://out/round/trip.rec', server.config, { chunkBytes: 65_536 });
    t.equal(src.uri, 's3://out/round/trip.rec');
    const parts: Buffer[] = [];
    for await (const c of src.stream(0, Infinity)) parts.push(c);
    t.ok(Buffer.concat(parts).equals(data));
    await src.close();
  });

  t.test('rejects part sizes below the S3 minimum', async (t) => {
    t.throws(() => new S3ObjectSink(conn, 'out', 'k', { partBytes: 1024 }), /s3:\/\/out\/k: part size must be an integer of at least 5 MiB/);
  });
});
