import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalCluster } from '../../hack/local-cluster/launcher.js';
import type { CifarTrainingJob, CifarTrainingJobSpec } from '../../operator/api/types.js';
import { openDirectory } from '../../trainer/io/directory.js';
import { datasetSkip, repoRoot } from '../helpers/datasets.js';
import { uploadPackedCifar } from '../helpers/packed-cifar.js';
import { findKubectl } from '../helpers/apiserver.js';
import { E2eClient, kubectl, startOperator } from '../helpers/e2e.js';
import { startS3rver } from '../helpers/s3rver.js';
import { privatePodRange } from '../helpers/operator-process.js';

const skip = datasetSkip('cifar10-jpeg.tar.gz');

t.test('the operator runs CifarTrainingJobs on the local cluster end to end', { skip }, async (t) => {
  const dir = t.testdir();
  // Pods see only their own file system (as in a cluster), so data, checkpoints and
  // outputs live on the local S3 (s3rver on 127.0.0.1, which pods reach over the host network).
  const s3 = await startS3rver(t, { buckets: ['cifar'] });
  await uploadPackedCifar(s3.config);
  const train = 's3://cifar/data/train.rec';
  const test = 's3://cifar/data/test.rec';
  const results = (job: string) => openDirectory(`s3://cifar/runs/${job}/out`, s3.config);
  const kubeconfig = join(dir, 'kubeconfig');
  const cluster = await startLocalCluster({ kubeconfigPath: kubeconfig, stateDir: join(dir, 'cluster'), withOperator: false, agent: { podIpRange: privatePodRange(7) }, log: () => undefined });
  t.teardown(() => cluster.stop());
  const client = new E2eClient(kubeconfig);
  await client.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'e2e-s3' }, stringData: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } } });

  // Two operator replicas: one leads, the other stands by.
  const operators = new Map([['operator-a', startOperator(kubeconfig, 'operator-a')], ['operator-b', startOperator(kubeconfig, 'operator-b')]]);
  t.teardown(() => operators.forEach((p) => p.kill('SIGKILL')));
  // Each replica's last words, shown when the test fails (an operator that exited explains why).
  const operatorLogs = new Map<string, string>();
  for (const [name, p] of operators) {
    p.stderr?.on('data', (d: Buffer) => operatorLogs.set(name, `${operatorLogs.get(name) ?? ''}${d.toString()}`.slice(-4000)));
    p.once('exit', (code, signal) => operatorLogs.set(name, `${operatorLogs.get(name) ?? ''}\n[exited: ${signal ?? `code ${String(code)}`}]`));
  }
  t.teardown(() => {
    if (!t.passing()) for (const [name, text] of operatorLogs) t.comment(`${name} stderr (tail):\n${text}`);
  });
  // The operators start cold (tsx compiles them) and one must win the lease before any job moves.
  const leaderDeadline = Date.now() + 180_000;
  while ((await client.leaseHolder()) === undefined && Date.now() < leaderDeadline) await new Promise((r) => setTimeout(r, 500));
  t.ok(await client.leaseHolder(), 'an operator replica leads');

  const spec = (overrides: Partial<CifarTrainingJobSpec> & { epochs?: number; backoffLimit?: number; name: string }): CifarTrainingJobSpec => ({
    replicas: 2,
    gpusPerReplica: 0,
    image: 'cifar-operator/trainer:dev',
    backend: 'wasm',
    model: { architecture: 'lenet' },
    data: { train, validation: test, format: 'recordio', numExamples: 1024 },
    hyperparameters: { batchSize: 64, epochs: overrides.epochs ?? 2, learningRate: 0.025 },
    checkpoint: { uri: `s3://cifar/runs/${overrides.name}/checkpoints` },
    output: { uri: `s3://cifar/runs/${overrides.name}/out` },
    s3: { endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, credentialsSecretRef: { name: 'e2e-s3' } },
    runPolicy: { backoffLimit: overrides.backoffLimit ?? 3, cleanPodPolicy: 'None' },
    ...Object.fromEntries(Object.entries(overrides).filter(([k]) => !['epochs', 'backoffLimit', 'name'].includes(k))),
  });

  await t.test('a 2-replica job runs to Succeeded with progress in its status, surviving a leader failover', async (t) => {
    await client.createJob('happy', spec({ name: 'happy' }));
    const running = await client.waitForJob('happy', (j) => j.status?.phase === 'Running', 90_000);
    t.equal(running.status?.phase, 'Running');
    const leader = await client.leaseHolder();
    t.ok(leader, `a leader holds the lease (${leader})`);
    const leaderName = [...operators.keys()].find((n) => leader?.startsWith(`${n}_`));
    t.ok(leaderName, 'the lease names one of the two replicas');
    operators.get(leaderName!)!.kill('SIGKILL');
    operators.delete(leaderName!);
    let sawProgress = false;
    const done = await client.waitForJob('happy', (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''), 240_000, (j) => {
      if ((j.status?.progress?.step ?? 0) > 0 || (j.status?.progress?.epoch ?? 0) > 0) sawProgress = true;
    });
    t.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status?.conditions));
    const newLeader = await client.leaseHolder();
    t.ok(newLeader && !newLeader.startsWith(`${leaderName}_`), `the standby took over (${newLeader})`);
    t.ok(sawProgress, 'progress appeared in status while training');
    t.equal(done.status?.progress?.epoch, 2, 'progress reached the last epoch');
    t.ok((done.status?.progress?.validationAccuracy ?? 0) > 0.1, `validation accuracy in status: ${done.status?.progress?.validationAccuracy}`);
    t.ok(done.status?.conditions?.some((c) => c.type === 'Succeeded' && c.status === 'True'), 'Succeeded condition');
    t.ok(done.status?.completionTime, 'completion time set');
    const metrics = JSON.parse((await results('happy').read('metrics.json')).toString('utf8')) as { worldSize: number; epochs: unknown[] };
    t.equal(metrics.worldSize, 2);
    t.equal(metrics.epochs.length, 2);
    const kubectlPath = findKubectl();
    if (kubectlPath) {
      const got = await kubectl(kubectlPath, kubeconfig, ['get', 'ctj', 'happy']);
      t.equal(got.code, 0, got.stderr);
      t.match(got.stdout, /happy\s+Succeeded\s+JobFinished\s+2\s+2\s+0\.\d+/, `kubectl get ctj: ${got.stdout}`);
    }
  });

  await t.test('killing a trainer mid-run restarts the gang from the checkpoint, then Succeeded', async (t) => {
    await client.createJob('restart', spec({ name: 'restart', epochs: 3 }));
    await client.waitForJob('restart', (j) => (j.status?.progress?.epoch ?? 0) >= 1 && j.status?.phase === 'Running', 240_000);
    const victim = cluster.agent.podProcess('default', 'restart-worker-1');
    t.ok(victim?.pid, 'worker-1 is running');
    process.kill(victim!.pid!, 'SIGKILL');
    let sawRestarting = false;
    const done = await client.waitForJob('restart', (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''), 300_000, (j) => {
      if (j.status?.phase === 'Restarting' || j.status?.conditions?.some((c) => c.type === 'Restarting' && c.status === 'True')) sawRestarting = true;
    });
    // The restart can be quicker than the poll; the Event and the condition's history always show it.
    const events = (await client.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.involvedObject?.name === 'restart');
    const restartEvent = events.find((e) => e.reason === 'Restarting');
    t.ok(restartEvent, `a Restarting event for kubectl describe (${restartEvent?.message})`);
    t.match(restartEvent?.message ?? '', /worker-1 .*137|SIGKILL/, 'the event names the lost worker');
    const restarting = done.status?.conditions?.find((c) => c.type === 'Restarting');
    t.ok(sawRestarting || restarting?.reason === 'GangRecovered', `the Restarting condition went True and back (${restarting?.reason})`);
    t.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status?.conditions));
    t.equal(done.status?.restarts, 1, 'one gang restart counted');
    const metrics = JSON.parse((await results('restart').read('metrics.json')).toString('utf8')) as { resumedFrom: string | null; epochs: unknown[] };
    t.match(metrics.resumedFrom ?? '', /ckpt-\d+-e[12]-s0\.ckpt$/, 'the new gang resumed from an epoch checkpoint');
    t.equal(metrics.epochs.length, 3, 'every epoch is in the history');
  });

  await t.test('backoff exhaustion fails the job', async (t) => {
    await client.createJob('exhaust', spec({ name: 'exhaust', epochs: 20, backoffLimit: 0 }));
    await client.waitForJob('exhaust', (j) => (j.status?.progress?.step ?? 0) > 0, 180_000);
    const victim = cluster.agent.podProcess('default', 'exhaust-worker-0');
    process.kill(victim!.pid!, 'SIGKILL');
    const done = await client.waitForJob('exhaust', (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''), 120_000);
    t.equal(done.status?.phase, 'Failed');
    const failed = done.status?.conditions?.find((c) => c.type === 'Failed');
    t.match(failed?.reason ?? '', /Backoff/i, `reason ${failed?.reason}: ${failed?.message}`);
  });

  await t.test('a non-retryable trainer failure fails the job at once with the trainer message', async (t) => {
    const missing = 's3://cifar/data/no-such-data.rec';
    await client.createJob('baddata', spec({ name: 'baddata', data: { train: missing, format: 'recordio' } }));
    const done = await client.waitForJob('baddata', (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''), 120_000);
    t.equal(done.status?.phase, 'Failed');
    t.equal(done.status?.restarts ?? 0, 0, 'no restart for a permanent failure');
    t.match(JSON.stringify(done.status), /no-such-data\.rec/, 'the trainer message names the missing file');
    t.match(done.status?.lastFailure?.message ?? '', /--data-train \(spec\.data\.train\)/, 'and the spec field to fix');
  });

  await t.test('deleting a job removes its pods', async (t) => {
    t.ok((await client.podNames('happy')).length > 0, 'cleanPodPolicy None kept the pods');
    await client.deleteJob('happy');
    const deadline = Date.now() + 30_000;
    while ((await client.podNames('happy')).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
    t.same(await client.podNames('happy'), [], 'pods garbage-collected through their ownerReferences');
  });

  await t.test('kubectl apply rejects an invalid manifest naming the field', { skip: findKubectl() ? false : 'kubectl not found (set KUBECTL)' }, async (t) => {
    const result = await kubectl(findKubectl()!, kubeconfig, ['apply', '-f', join(repoRoot, 'examples', 'invalid.yaml')]);
    t.not(result.code, 0);
    t.match(result.stderr, /spec\.model/, result.stderr);
  });
  t.ok(existsSync(join(dir, 'cluster', 'logs')), 'pod log files kept for debugging');
  const j: CifarTrainingJob | undefined = await client.job('restart');
  t.ok(j, 'jobs are still readable at the end');
});
