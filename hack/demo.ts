// The demo behind `npm run demo` / hack/demo.sh: see README "Quick start".
// Local S3 + CIFAR-10 packed into RecordIO there + the local cluster with the operator;
// then a 2-replica CifarTrainingJob applied like a user would, watched to the end.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startS3rver } from './local-s3/s3rver.js';
import { startLocalCluster } from './local-cluster/launcher.js';
import { packDataset } from '../trainer/data/pack/pack.js';
import { openDirectory } from '../trainer/io/directory.js';
import { downloadOfficialArchive } from './demo/download.js';
import { demoJob, describeJob, jobClient } from './demo/cluster-job.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'auto' },
    replicas: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '2' },
    examples: { type: 'string', default: '10000' },
    out: { type: 'string', default: '.demo' },
    'timeout-minutes': { type: 'string', default: '30' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(`Usage: npm run demo -- [--data auto|shared|download|PATH] [--replicas N] [--epochs N] [--examples N] [--out DIR]

  --data      auto: ../shared/datasets/cifar10 when present, else the official binary archive
              (downloaded once into ~/.cache/cifar-operator); or a path to any CIFAR-10 layout
  --replicas  trainer pods of the job (default 2)     --epochs  epochs (default 2)
  --examples  training images used (default 10000)   --out     state, kubeconfig and results (default .demo)
  --timeout-minutes N  give up after N minutes (default 30)`);
  process.exit(0);
}

const repo = resolve(import.meta.dirname, '..');
const sharedTree = join(repo, '..', 'shared', 'datasets', 'cifar10', 'cifar10-jpeg.tar.gz');
const out = resolve(values.out!);
const say = (line: string) => console.log(`[demo] ${line}`);

async function dataSource(): Promise<{ path: string; encoding: 'passthrough' | 'jpg' }> {
  const choice = values.data!;
  if (choice === 'shared' || (choice === 'auto' && existsSync(sharedTree))) {
    if (!existsSync(sharedTree)) throw new Error(`--data shared: ${sharedTree} not found`);
    return { path: sharedTree, encoding: 'passthrough' };
  }
  if (choice === 'auto' || choice === 'download') return { path: await downloadOfficialArchive(join(homedir(), '.cache', 'cifar-operator')), encoding: 'jpg' };
  return { path: resolve(choice), encoding: 'jpg' };
}

const cleanups: Array<() => unknown> = [];
let exitCode = 1;
try {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  say('starting a local S3 server (s3rver) on 127.0.0.1');
  const s3 = await startS3rver({ teardown: (fn) => cleanups.push(fn) }, { buckets: ['cifar'] });
  const source = await dataSource();
  for (const split of ['train', 'test'] as const) {
    const started = Date.now();
    const result = await packDataset({ from: source.path, out: `s3://cifar/data/${split}`, split, encoding: source.encoding, quality: 95, shuffle: true, seed: 1, s3: s3.config });
    say(`packed ${result.records} ${split} images into ${result.recUri} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const kubeconfig = join(out, 'kubeconfig');
  say('starting the local cluster (API server, node agent) and the operator');
  const cluster = await startLocalCluster({ kubeconfigPath: kubeconfig, stateDir: join(out, 'cluster'), withOperator: true, operatorArgs: ['--progress-interval', '2'], log: (line) => say(line) });
  cleanups.push(() => cluster.stop());
  say(`cluster ready; watch it yourself with: kubectl --kubeconfig ${kubeconfig} get ctj -w`);

  const client = jobClient(kubeconfig);
  await client.createCredentials('cifar-local-s3', 'S3RVER', 'S3RVER');
  const job = await demoJob(join(repo, 'examples', 'local-cpu-lenet.yaml'), {
    s3Endpoint: s3.endpoint,
    replicas: Number(values.replicas),
    epochs: Number(values.epochs),
    examples: Number(values.examples),
  });
  await client.create(job);
  say(`applied CifarTrainingJob ${job.metadata.name}: ${job.spec.replicas} replicas of ${job.spec.model.architecture}, ${values.epochs} epochs on ${values.examples} images`);

  const deadline = Date.now() + Number(values['timeout-minutes']) * 60_000;
  let last = '';
  let phase = '';
  while (Date.now() < deadline) {
    const current = await client.get(job.metadata.name!);
    const line = describeJob(current);
    if (line !== last) say(line);
    last = line;
    phase = current.status?.phase ?? '';
    if (phase === 'Succeeded' || phase === 'Failed') {
      if (phase === 'Failed') say(`failed: ${current.status?.lastFailure?.message ?? current.status?.conditions?.find((c) => c.type === 'Failed')?.message ?? 'see the pod logs'} (logs: ${join(out, 'cluster', 'logs')})`);
      break;
    }
    await Promise.race([sleep(2000), cluster.failed.then((m) => Promise.reject(new Error(m)))]);
  }
  if (phase !== 'Succeeded') throw new Error(phase === 'Failed' ? 'the job failed' : `the job did not finish within ${values['timeout-minutes']} minutes`);

  // The results are on S3 (spec.output.uri); copy them next to the kubeconfig for the user.
  const results = openDirectory(job.spec.output!.uri!, s3.config);
  for (const name of ['metrics.json', 'accuracy.svg']) await writeFile(join(out, name), await results.read(name));
  const metrics = JSON.parse(await results.read('metrics.json').then((b) => b.toString('utf8'))) as { finalValidationAccuracy: number; backend: string; worldSize: number; totalSeconds: number };
  say(`Succeeded: validation accuracy ${(metrics.finalValidationAccuracy * 100).toFixed(1)}% after ${values.epochs} epochs, ${metrics.worldSize} replicas, ${metrics.backend} backend, ${Math.round(metrics.totalSeconds)} s of training`);
  say(`accuracy chart: ${join(out, 'accuracy.svg')}; metrics: ${join(out, 'metrics.json')}; model: ${job.spec.output!.uri}model/ on the local S3`);
  exitCode = 0;
} catch (err) {
  say(`error: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}
process.exit(exitCode);
