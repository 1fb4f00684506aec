// The demo behind `npm run demo` / hack/demo.sh: see README "Quick start".
// Local S3 + CIFAR-10 packed into RecordIO there + the local cluster with the operator;
// then a 2-replica CifarTrainingJob applied like a user would, watched to the end.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalCluster } from './local-cluster/launcher.js';
import { cifarSource, DATA_CHOICES } from './local-cluster/cifar-data.js';
import { openDirectory } from '../trainer/io/directory.js';
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

  --data      ${DATA_CHOICES}
  --replicas  trainer pods of the job (default 2)     --epochs  epochs (default 2)
  --examples  training images used (default 10000)   --out     state, kubeconfig and results (default .demo)
  --timeout-minutes N  give up after N minutes (default 30)`);
  process.exit(0);
}

const repo = resolve(import.meta.dirname, '..');
const out = resolve(values.out!);
const say = (line: string) => console.log(`[demo] ${line}`);

const cleanups: Array<() => unknown> = [];
let exitCode = 1;
try {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const kubeconfig = join(out, 'kubeconfig');
  // The same local cluster as `npm run local-cluster`: its S3 at local-s3.default.svc:4568 with
  // CIFAR-10 packed into it, and the Secret the example names.
  say('starting the local cluster (API server, node agent, local S3 with CIFAR-10 packed into it) and the operator');
  const cluster = await startLocalCluster({
    kubeconfigPath: kubeconfig,
    stateDir: join(out, 'cluster'),
    withOperator: true,
    operatorArgs: ['--progress-interval', '2'],
    s3: { source: () => cifarSource(values.data!, repo) },
    log: (line) => say(line),
  });
  cleanups.push(() => cluster.stop());
  const s3 = cluster.s3!;
  say(`cluster ready; watch it yourself with: kubectl --kubeconfig ${kubeconfig} get ctj -w`);

  const client = jobClient(kubeconfig);
  const job = await demoJob(join(repo, 'examples', 'local-cpu-lenet.yaml'), {
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
