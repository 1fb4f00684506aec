/**
 * The operator against the local cluster's scheduler and pod validation (one node with one
 * GPU): a rank that cannot be scheduled shows why in `kubectl get ctj` and `describe`, and a
 * restart of a gang that never ran together keeps the restart budget; a pod spec the API
 * server refuses (422) fails the job naming the field. No training runs: rank 0 waits in its
 * rendezvous until the test stops it.
 */
import t from 'tap';
import { join } from 'node:path';
import { startLocalCluster } from '../../hack/local-cluster/launcher.js';
import type { CifarTrainingJobSpec } from '../../operator/api/types.js';
import { findKubectl } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/fake-cluster-api.js';
import { privatePodRange, stderrTail } from '../helpers/operator-process.js';
import { E2eClient, kubectl, startOperator } from '../helpers/e2e.js';

const kubectlPath = findKubectl();

t.test('scheduling and validation failures are visible on the job', async (t) => {
  const dir = t.testdir();
  const kubeconfig = join(dir, 'kubeconfig');
  const cluster = await startLocalCluster({ kubeconfigPath: kubeconfig, stateDir: join(dir, 'cluster'), withOperator: false, nodes: 1, gpusPerNode: 1, agent: { podIpRange: privatePodRange(6) }, log: () => undefined });
  t.teardown(() => cluster.stop());
  const client = new E2eClient(kubeconfig);
  const operator = startOperator(kubeconfig, 'operator-sched');
  const operatorLog = stderrTail(operator);
  t.teardown(() => {
    operator.kill('SIGKILL');
    if (!t.passing()) t.comment(`operator stderr (tail):\n${operatorLog()}`);
  });
  // A cold start compiles the operator (tsx); on a machine running other tests that takes a while.
  if (!t.ok(await waitFor(async () => (await client.leaseHolder()) !== undefined, 300_000), 'the operator leads')) return;

  const spec = (overrides: Partial<CifarTrainingJobSpec>): CifarTrainingJobSpec => ({
    replicas: 2,
    gpusPerReplica: 1,
    image: 'cifar-operator/trainer:dev',
    model: { architecture: 'lenet' },
    // Never read: rank 0 waits for rank 1 before it loads data.
    data: { train: 's3://nowhere/train.rec' },
    checkpoint: { uri: 's3://nowhere/ckpt' },
    runPolicy: { backoffLimit: 0 },
    ...overrides,
  });

  await t.test('a rank that cannot be scheduled: PodsReady says why, and restarting the gang spends no budget', async (t) => {
    await client.createJob('wide', spec({}));
    const waiting = await client.waitForJob('wide', (j) => j.status?.conditions?.some((c) => c.type === 'PodsReady' && c.reason === 'Unschedulable') === true, 180_000);
    const podsReady = waiting.status?.conditions?.find((c) => c.type === 'PodsReady');
    t.match(podsReady?.message, /^worker-1 \(pod wide-worker-1\): 0\/1 nodes are available: .*Insufficient nvidia\.com\/gpu/, `the scheduler's words: ${podsReady?.message}`);
    if (kubectlPath !== undefined) {
      const get = await kubectl(kubectlPath, kubeconfig, ['get', 'ctj', 'wide']);
      t.match(get.stdout, /^wide\s+\S+\s+Unschedulable\s+2\s/m, `kubectl get ctj shows it: ${get.stdout}`);
      const describe = await kubectl(kubectlPath, kubeconfig, ['describe', 'ctj', 'wide']);
      t.match(describe.stdout, /Insufficient nvidia\.com\/gpu/, 'kubectl describe shows the message');
      t.match(describe.stdout, /Warning\s+Unschedulable/, 'and the Warning Event');
    }
    const events = (await client.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.involvedObject?.name === 'wide' && e.reason === 'Unschedulable');
    t.equal(events.length, 1, 'one Event, however many reconciles');

    // Rank 0 is running its rendezvous; stop it as a node failure would.
    t.ok(await waitFor(() => cluster.agent.podProcess('default', 'wide-worker-0')?.pid !== undefined, 120_000), 'rank 0 runs');
    process.kill(cluster.agent.podProcess('default', 'wide-worker-0')!.pid!, 'SIGKILL');
    const restarted = await client.waitForJob('wide', (j) => (j.status?.attempt ?? 0) >= 1, 120_000);
    t.equal(restarted.status?.restarts ?? 0, 0, 'no restart counted against backoffLimit 0');
    t.not(restarted.status?.phase, 'Failed', 'so the job is not failed');
    t.match(restarted.status?.conditions?.find((c) => c.type === 'Restarting'), { reason: 'GangNotFormed', message: /never ran together: worker-1 never started \(Unschedulable/ });
    const next = await client.waitForJob('wide', (j) => j.status?.conditions?.some((c) => c.type === 'PodsReady' && c.reason === 'Unschedulable' && c.message.includes('wide-worker-1-a1')) === true, 180_000);
    t.ok(next, 'the new attempt waits for the GPU in its turn, and says so');
    await client.deleteJob('wide');
  });

  await t.test('a pod spec the API server refuses (422) fails the job, naming the pod field and the spec field', async (t) => {
    await client.createJob('refused', spec({ replicas: 1, gpusPerReplica: 0, backend: 'wasm', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }));
    const failed = await client.waitForJob('refused', (j) => j.status?.phase === 'Failed', 120_000);
    const condition = failed.status?.conditions?.find((c) => c.type === 'Failed');
    t.equal(condition?.reason, 'InvalidPodSpec');
    t.match(condition?.message, /spec\.containers\[0\]\.resources\.requests.* \(from spec\.resources\): Invalid value: "2": must be less than or equal to cpu limit of 1/, condition?.message ?? 'no Failed condition');
    t.same(await client.podNames('refused'), [], 'no pod exists');
    const events = (await client.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.involvedObject?.name === 'refused');
    t.ok(events.some((e) => e.type === 'Warning' && e.reason === 'FailedCreate'), 'a FailedCreate Event');
  });
});
