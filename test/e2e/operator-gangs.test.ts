/**
 * Gangs on the local cluster, through the operator, with real training (LeNet, a few hundred
 * images): several processes per pod end with identical weights on every rank; a trainer
 * deleted with the default 30 s grace period is replaced quickly (the time is printed); and a
 * checkpoint on a PersistentVolumeClaim carries the gang across that restart.
 */
import t from 'tap';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalCluster } from '../../hack/local-cluster/launcher.js';
import type { CifarTrainingJob, CifarTrainingJobSpec } from '../../operator/api/types.js';
import { openDirectory } from '../../trainer/io/directory.js';
import { datasetSkip } from '../helpers/datasets.js';
import { privatePodRange, stderrTail } from '../helpers/operator-process.js';
import { E2eClient, NAMESPACE, startOperator } from '../helpers/e2e.js';
import { uploadPackedCifar } from '../helpers/packed-cifar.js';
import { startS3rver } from '../helpers/s3rver.js';

const skip = datasetSkip('cifar10-jpeg.tar.gz');

interface Metrics {
  weightsSha256: string;
  worldSize: number;
  rank: number;
  resumedFrom: string | null;
  epochs: unknown[];
}

const finished = (j: CifarTrainingJob): boolean => ['Succeeded', 'Failed'].includes(j.status?.phase ?? '');

t.test('gangs on the local cluster', { skip }, async (t) => {
  const dir = t.testdir();
  const s3 = await startS3rver(t, { buckets: ['cifar'] });
  await uploadPackedCifar(s3.config);
  const metricsOf = async (job: string, rank: number): Promise<Metrics> =>
    JSON.parse((await openDirectory(`s3://cifar/runs/${job}/out${rank === 0 ? '' : `/rank-${rank}`}`, s3.config).read('metrics.json')).toString('utf8')) as Metrics;

  const kubeconfig = join(dir, 'kubeconfig');
  const cluster = await startLocalCluster({ kubeconfigPath: kubeconfig, stateDir: join(dir, 'cluster'), withOperator: false, agent: { podIpRange: privatePodRange(5) }, log: () => undefined });
  t.teardown(() => cluster.stop());
  const client = new E2eClient(kubeconfig);
  await client.core.createNamespacedSecret({ namespace: NAMESPACE, body: { metadata: { name: 'gang-s3' }, stringData: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } } });
  const operator = startOperator(kubeconfig, 'operator-gangs');
  const operatorLog = stderrTail(operator);
  t.teardown(() => {
    operator.kill('SIGKILL');
    if (!t.passing()) t.comment(`operator stderr (tail):\n${operatorLog()}`);
  });
  // A cold start compiles the operator (tsx); on a machine running other tests that takes a while.
  const leaderDeadline = Date.now() + 300_000;
  while ((await client.leaseHolder()) === undefined && Date.now() < leaderDeadline) await new Promise((r) => setTimeout(r, 500));
  if (!t.ok(await client.leaseHolder(), 'the operator leads')) return;

  const spec = (name: string, overrides: Partial<CifarTrainingJobSpec>): CifarTrainingJobSpec => ({
    replicas: 1,
    gpusPerReplica: 0,
    image: 'cifar-operator/trainer:dev',
    backend: 'wasm',
    model: { architecture: 'lenet' },
    // Small and without validation data: these tests are about the gang, not the model.
    data: { train: 's3://cifar/data/train.rec', format: 'recordio', numExamples: 128 },
    hyperparameters: { batchSize: 32, epochs: 1, learningRate: 0.025 },
    checkpoint: { uri: `s3://cifar/runs/${name}/checkpoints` },
    output: { uri: `s3://cifar/runs/${name}/out` },
    s3: { endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, credentialsSecretRef: { name: 'gang-s3' } },
    runPolicy: { backoffLimit: 2, cleanPodPolicy: 'None' },
    ...overrides,
  });

  for (const [replicas, processes] of [[1, 2], [2, 2]] as const) {
    await t.test(`${replicas} pod(s) x ${processes} processes: every rank ends with the same weights`, async (t) => {
      const name = `ppr-${replicas}x${processes}`;
      await client.createJob(name, spec(name, { replicas, processesPerReplica: processes, data: { train: 's3://cifar/data/train.rec', format: 'recordio', numExamples: 64 * replicas * processes } }));
      const done = await client.waitForJob(name, finished, 420_000);
      t.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status?.conditions));
      t.same(await client.podNames(name), Array.from({ length: replicas }, (_, r) => `${name}-worker-${r}`), `${replicas} pod(s)`);
      const world = replicas * processes;
      const all = await Promise.all(Array.from({ length: world }, (_, rank) => metricsOf(name, rank)));
      t.same(all.map((m) => [m.rank, m.worldSize]), all.map((_, rank) => [rank, world]), `ranks 0..${world - 1} of ${world}`);
      t.equal(new Set(all.map((m) => m.weightsSha256)).size, 1, `every rank has weightsSha256 ${all[0]?.weightsSha256}`);
    });
  }

  await t.test('a trainer deleted with the default grace period is replaced within seconds, and the gang resumes from its checkpoint on a PersistentVolumeClaim', async (t) => {
    const volume = join(dir, 'pv-runs');
    await mkdir(volume, { recursive: true });
    await client.core.createPersistentVolume({
      body: { metadata: { name: 'gang-runs' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], storageClassName: 'manual', hostPath: { path: volume } } },
    });
    await client.core.createNamespacedPersistentVolumeClaim({
      namespace: NAMESPACE,
      body: { metadata: { name: 'gang-runs' }, spec: { accessModes: ['ReadWriteMany'], storageClassName: 'manual', resources: { requests: { storage: '1Gi' } } } },
    });
    const name = 'pvc-restart';
    await client.createJob(name, spec(name, {
      replicas: 2,
      data: { train: 's3://cifar/data/train.rec', format: 'recordio', numExamples: 256 },
      // Enough epochs that the delete lands mid-run on a fast machine too.
      hyperparameters: { batchSize: 32, epochs: 12, learningRate: 0.025 },
      volumes: [{ name: 'runs', persistentVolumeClaim: { claimName: 'gang-runs' } }],
      volumeMounts: [{ name: 'runs', mountPath: '/runs' }],
      checkpoint: { uri: '/runs/pvc-restart/checkpoints' },
    }));
    await client.waitForJob(name, (j) => j.status?.phase === 'Running' && (j.status.progress?.epoch ?? 0) >= 1, 300_000);
    // A graceful delete (the default 30 s grace): the pod stays Terminating until its trainer exits.
    const deletedAt = Date.now();
    await client.core.deleteNamespacedPod({ namespace: NAMESPACE, name: `${name}-worker-1` });
    const back = await client.waitForJob(name, (j) => (j.status?.attempt ?? 0) >= 1 && j.status?.conditions?.some((c) => c.type === 'PodsReady' && c.status === 'True') === true, 120_000);
    const seconds = (Date.now() - deletedAt) / 1000;
    t.comment(`all ranks running again ${seconds.toFixed(1)} s after the delete (goal: under 10 s with the 30 s default grace)`);
    t.ok(seconds < 10, `replaced in ${seconds.toFixed(1)} s`);
    t.same((await client.podNames(name)).filter((p) => p.endsWith('-a1')).sort(), [`${name}-worker-0-a1`, `${name}-worker-1-a1`], 'the new attempt has pods of its own');
    t.equal(back.status?.restarts, 1);
    const done = await client.waitForJob(name, finished, 420_000);
    t.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status?.conditions));
    const metrics = await metricsOf(name, 0);
    t.match(metrics.resumedFrom, /^\/runs\/pvc-restart\/checkpoints\/ckpt-.*\.ckpt$/, `resumed from the claim: ${metrics.resumedFrom}`);
    t.equal(metrics.epochs.length, 12, 'every epoch is in the history');
    t.equal((await metricsOf(name, 1)).weightsSha256, metrics.weightsSha256, 'both ranks agree after the restart');
  });
});
