import t from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalFileSink, LocalFileSource } from '../../../trainer/io/local-source.js';
import { resolveS3Config } from '../../../trainer/io/s3-config.js';
import { S3ObjectSink } from '../../../trainer/io/s3-sink.js';
import { S3ObjectSource } from '../../../trainer/io/s3-source.js';
import { bucketNameProblem, formatDataUri, openSink, openSource, parseDataUri, withSuffix } from '../../../trainer/io/uri.js';
import { UsageError } from '../../../trainer/util/errors.js';

t.test('parseDataUri accepts s3 URIs, file URLs and plain paths', async (t) => {
  t.same(parseDataUri('s3://my-bucket/data/train.rec'), { scheme: 's3', bucket: 'my-bucket', key: 'data/train.rec' });
  t.same(parseDataUri('s3://b.with.dots/a//b c/'), { scheme: 's3', bucket: 'b.with.dots', key: 'a//b c/' }, 'key kept verbatim');
  t.same(parseDataUri('S3://abc/k'), { scheme: 's3', bucket: 'abc', key: 'k' }, 'scheme is case-insensitive');
  t.same(parseDataUri('file:///srv/data/train.rec'), { scheme: 'file', path: '/srv/data/train.rec' });
  t.same(parseDataUri('file:///srv/my%20data/x'), { scheme: 'file', path: '/srv/my data/x' }, 'percent-decoded');
  t.same(parseDataUri('file://localhost/srv/x'), { scheme: 'file', path: '/srv/x' });
  t.same(parseDataUri('/abs/path.rec'), { scheme: 'file', path: '/abs/path.rec' });
  t.same(parseDataUri('rel/path.rec'), { scheme: 'file', path: 'rel/path.rec' });
  t.same(parseDataUri('./odd:name'), { scheme: 'file', path: './odd:name' });
  t.same(parseDataUri('C:/data'), { scheme: 'file', path: 'C:/data' }, 'a drive letter is not a scheme');
});

t.test('parseDataUri rejects what it cannot open, naming the URI', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /^data URI is empty$/],
    ['http://host/x', /^http:\/\/host\/x: unsupported scheme "http:"/],
    ['gs://bucket/key', /^gs:\/\/bucket\/key: unsupported scheme "gs:"/],
    ['s3://bucket', /^s3:\/\/bucket: the object key is empty; expected s3:\/\/bucket\/path\/to\/object$/],
    ['s3://bucket/', /^s3:\/\/bucket\/: the object key is empty/],
    ['s3:bucket/key', /^s3:bucket\/key: expected s3:\/\/bucket\/key$/],
    ['s3:///key', /^s3:\/\/\/key: invalid bucket name "": must be 3 to 63 characters long$/],
    ['s3://My_Bucket/k', /^s3:\/\/My_Bucket\/k: invalid bucket name "My_Bucket": may contain only lowercase/],
    ['s3://-abc/k', /invalid bucket name "-abc": must begin and end with a letter or digit/],
    ['s3://a..b/k', /invalid bucket name "a\.\.b": must not contain two adjacent periods/],
    ['s3://192.168.1.1/k', /must not be formatted as an IP address/],
    [`s3://bucket/${'k'.repeat(1025)}`, /longer than S3's 1024-byte limit/],
    ['file:relative/x', /^file:relative\/x: expected file:\/\/\/absolute\/path$/],
    ['file://otherhost/x', /^file:\/\/otherhost\/x: not a local file URL/],
    ['file:///x?y=1', /must not have a query or fragment/],
  ];
  for (const [uri, pattern] of bad) {
    t.throws(() => parseDataUri(uri), pattern, uri || '(empty)');
    t.throws(() => parseDataUri(uri), UsageError);
  }
  t.equal(bucketNameProblem('abc'), undefined);
  t.equal(bucketNameProblem('a'.repeat(63)), undefined);
  t.match(bucketNameProblem('a'.repeat(64)) ?? '', /3 to 63/);
});

t.test('formatDataUri round-trips', async (t) => {
  for (const uri of ['s3://bucket/a/b.rec', '/abs/x', 'rel/x']) t.equal(formatDataUri(parseDataUri(uri)), uri);
});

t.test('withSuffix derives sibling URIs', async (t) => {
  t.equal(withSuffix('s3://b-1/data/train.rec', '.idx'), 's3://b-1/data/train.idx');
  t.equal(withSuffix('s3://b-1/data.v2/train', '.idx'), 's3://b-1/data.v2/train.idx', 'dots in directories are not extensions');
  t.equal(withSuffix('/data/train.tar.rec', '.idx'), '/data/train.tar.idx', 'only the last extension changes');
  t.equal(withSuffix('train', '.idx'), 'train.idx');
  t.equal(withSuffix('/d/.hidden', '.idx'), '/d/.hidden.idx', 'a leading dot is not an extension');
  t.equal(withSuffix('file:///d/x.rec', '.idx'), 'file:///d/x.idx');
  t.throws(() => withSuffix('s3://b-1/dir/', '.idx'), /^s3:\/\/b-1\/dir\/: has no file name/);
  t.throws(() => withSuffix('x.rec', 'idx'), /suffix must start with "\."/);
  t.throws(() => withSuffix('x.rec', './idx'), /no "\/"/);
  t.throws(() => withSuffix('gs://b/x.rec', '.idx'), /unsupported scheme/);
});

t.test('openSource and openSink choose the implementation by scheme', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'x.bin');
  const sink = openSink(pathToFileURL(path).href);
  t.ok(sink instanceof LocalFileSink);
  await sink.write(Buffer.from('abc'));
  await sink.commit();
  const src = openSource(path);
  t.ok(src instanceof LocalFileSource);
  t.equal((await src.read(0, 10)).toString(), 'abc');
  await src.close();

  const config = resolveS3Config({ endpoint: 'http://127.0.0.1:9' }, {});
  const s3src = openSource('s3://bucket/key', config);
  t.ok(s3src instanceof S3ObjectSource);
  t.equal(s3src.uri, 's3://bucket/key');
  await s3src.close();
  const s3sink = openSink('s3://bucket/key', config, { sink: { tmpDir: dir } });
  t.ok(s3sink instanceof S3ObjectSink);
  await s3sink.abort();
  t.throws(() => openSource('http://x/y'), /unsupported scheme/);
});
