import t from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { connectS3 } from '../../../trainer/io/s3-client.js';
import { bucketExists, deleteObject, listKeys, listObjects, objectExists } from '../../../trainer/io/s3-list.js';
import { startS3rver } from '../../helpers/s3rver.js';

t.test('listing, exists and delete against s3rver', async (t) => {
  const server = await startS3rver(t, { buckets: ['ckpt'] });
  const conn = connectS3(server.config);
  t.teardown(() => conn.close());
  const pages: number[] = [];
  conn.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ListObjectsV2Command') pages.push(pages.length + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countPages' },
  );
  const keys = ['run1/step-0001', 'run1/step-0002', 'run1/step-0003', 'run1/step-0004', 'run1/step-0005', 'run10/x', 'other/y'];
  for (const [i, key] of keys.entries()) {
    await conn.client.send(new PutObjectCommand({ Bucket: 'ckpt', Key: key, Body: Buffer.alloc(i + 1, 7) }));
  }

  t.test('pages through continuation tokens', async (t) => {
    pages.length = 0;
    const got = await listKeys(conn, 'ckpt', 'run1/', { pageSize: 2 });
    t.same(got, keys.slice(0, 5), 'all five keys under the prefix, in order, none from run10/');
    t.equal(pages.length, 3, 'three pages of at most two keys');

    const infos = [];
    for await (const info of listObjects(conn, 'ckpt', 'run1/step-000', { pageSize: 2 })) infos.push(info);
    t.same(infos.map((i) => i.size), [1, 2, 3, 4, 5], 'sizes come with the keys');
    t.ok(infos.every((i) => i.lastModified instanceof Date));

    t.same(await listKeys(conn, 'ckpt', 'nothing-here/'), [], 'empty prefix listing');
    t.same(await listKeys(conn, 'ckpt', ''), [...keys].sort(), 'the whole bucket');
  });

  t.test('the page guard stops a listing that does not end', async (t) => {
    await t.rejects(listKeys(conn, 'ckpt', 'run1/', { pageSize: 1, maxPages: 2 }), /s3:\/\/ckpt\/run1\/: listing at endpoint http:\/\/127\.0\.0\.1:\d+ did not finish within 2 pages/);
  });

  t.test('exists and delete', async (t) => {
    t.equal(await objectExists(conn, 'ckpt', 'run1/step-0001'), true);
    t.equal(await objectExists(conn, 'ckpt', 'run1/step-9999'), false);
    t.equal(await bucketExists(conn, 'ckpt'), true);
    t.equal(await bucketExists(conn, 'absent-bucket'), false);
    await t.rejects(objectExists(conn, 'absent-bucket', 'k'), /^s3:\/\/absent-bucket\/k: bucket does not exist at endpoint/, 'a missing bucket is an error, not "no such object"');
    await deleteObject(conn, 'ckpt', 'run1/step-0001');
    t.equal(await objectExists(conn, 'ckpt', 'run1/step-0001'), false, 'gone after delete');
    await deleteObject(conn, 'ckpt', 'run1/step-0001');
    t.pass('deleting a missing key succeeds');
    t.same(await listKeys(conn, 'ckpt', 'run1/', { pageSize: 2 }), keys.slice(1, 5));
  });

  t.test('listing a missing bucket names it', async (t) => {
    await t.rejects(listKeys(conn, 'absent-bucket', 'p/'), /^s3:\/\/absent-bucket\/p\/: bucket does not exist at endpoint http:\/\/127\.0\.0\.1:\d+$/);
  });
});
