/**
 * The peer secret never reaches an output (issue 14, finding 1): a real two-rank run, one
 * rank with CIFAR_PEER_SECRET_FILE (as the operator sets it), one with CIFAR_PEER_SECRET,
 * then every file either wrote, and their logs, searched for the secret in every encoding
 * a serialiser might produce.
 */
import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexedRecordIOWriter } from '../../../../trainer/data/recordio/indexed-writer.js';
import { packImageRecord } from '../../../../trainer/data/recordio/image-record.js';
import { LocalFileSink } from '../../../../trainer/io/local-source.js';
import { encodePng } from '../../../../trainer/data/image/encode.js';
import { freePort, rankEnv, startTrainer } from '../../../helpers/trainer-process.js';
import { runConfig, redactUri } from '../../../../trainer/engine/train/run-config.js';
import { parseTrainOptions } from '../../../../trainer/cli/train.js';

const SECRET = 'sentinel-Secret-7f3a9c41d2e8b605';

/** The secret as plain text, hex, base64 (both alphabets) and a JSON/Buffer byte list. */
function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const list = [...bytes].join(',');
  return [
    secret,
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    list,
    [...bytes].join(', '),
    JSON.stringify(secret).slice(1, -1),
  ];
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

t.test('two ranks train and write checkpoints, metrics and models: no output carries the peer secret', async (t) => {
  const dir = t.testdir();
  const writer = new IndexedRecordIOWriter(new LocalFileSink(join(dir, 'data.rec')), new LocalFileSink(join(dir, 'data.idx')));
  for (let i = 0; i < 64; i++) {
    const px = new Uint8Array(32 * 32 * 3).fill((i * 37) & 255);
    await writer.write(i, packImageRecord({ labels: [i % 10], id: i }, encodePng(px, 32, 32)));
  }
  await writer.commit();
  const secretFile = join(dir, 'peer-secret');
  await writeFile(secretFile, `${SECRET}\n`);
  const port = await freePort();
  const common = ['train', '--model', 'lenet', '--epochs', '1', '--batch-size', '16', '--backend', 'wasm', '--prefetch-workers', '0', '--progress-interval', '0',
    '--data-train', join(dir, 'data.rec'), '--data-val', join(dir, 'data.rec'), '--checkpoint', join(dir, 'ckpt'), '--out', join(dir, 'out'), '--log-format', 'json'];
  const env0 = { ...rankEnv(0, 2, port, SECRET), CIFAR_PEER_SECRET: undefined, CIFAR_PEER_SECRET_FILE: secretFile, CIFAR_TERMINATION_LOG: join(dir, 'termination-0') };
  const env1 = { ...rankEnv(1, 2, port, SECRET), CIFAR_TERMINATION_LOG: join(dir, 'termination-1') };
  const ranks = [startTrainer(common, env0), startTrainer(common, env1)];
  const results = await Promise.all(ranks.map((r) => r.done));
  results.forEach((r, rank) => t.equal(r.code, 0, `rank ${rank}: ${r.stderr.slice(-400)}`));
  const written = (await files(dir)).filter((f) => f !== secretFile);
  t.ok(written.some((f) => f.endsWith(join('out', 'metrics.json'))), 'rank 0 wrote metrics.json');
  t.ok(written.some((f) => f.endsWith(join('rank-1', 'metrics.json'))), 'rank 1 wrote its metrics.json');
  t.ok(written.some((f) => f.includes(join(dir, 'ckpt'))), 'a checkpoint was written');
  const haystacks = [
    ...(await Promise.all(written.map(async (f) => ({ name: f, text: (await readFile(f)).toString('latin1') })))),
    ...results.flatMap((r, rank) => [{ name: `rank ${rank} stdout`, text: r.stdout }, { name: `rank ${rank} stderr`, text: r.stderr }]),
  ];
  for (const { name, text } of haystacks) {
    const found = encodings(SECRET).filter((e) => text.includes(e));
    t.same(found, [], `${name}: no encoding of the secret`);
  }
  const config = JSON.parse(await readFile(join(dir, 'out', 'metrics.json'), 'utf8')).config as Record<string, unknown>;
  t.same(Object.keys(config.dist as object).sort(), ['chunkBytes', 'jobId', 'peerTimeoutMs', 'rank', 'rendezvousTimeoutMs', 'worldSize'], 'config.dist is the allow-list');
  t.notOk('s3' in config, 'no S3 settings (credentials) in config');
});

t.test('config drops credentials from URLs and records only allow-listed fields', async (t) => {
  t.equal(redactUri('https://user:pa55@models.example/m/model.json?X-Amz-Signature=abc#x'), 'https://models.example/m/model.json');
  t.equal(redactUri('s3://bucket/runs/a'), 's3://bucket/runs/a');
  t.equal(redactUri('/data/train.rec'), '/data/train.rec');
  const options = parseTrainOptions(['--data-train', 'x.rec', '--pretrained', 'https://u:p@h/model.json?sig=1', '--model', 'lenet'], {
    WORLD_SIZE: '2', RANK: '1', MASTER_ADDR: '127.0.0.1', CIFAR_PEER_SECRET: SECRET, AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'aws-secret-value-123',
  });
  const text = JSON.stringify(runConfig(options));
  for (const e of encodings(SECRET)) t.notOk(text.includes(e), `no ${e.slice(0, 12)}... in config`);
  t.notOk(text.includes('aws-secret-value-123'), 'no AWS secret');
  t.notOk(text.includes('u:p@'), 'no URL credentials');
  t.match(text, '"pretrained":{"uri":"https://h/model.json"');
});
