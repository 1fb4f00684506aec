/**
 * The controller against the local API server (hack/local-cluster/apiserver), with the
 * CRD from crds/. No node agent runs pods here, so the test plays the kubelet by patching
 * pod status.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CifarTrainingJob } from '../../../operator/api/types.js';
import { KubeClusterApi } from '../../../operator/controller/kube-client.js';
import { Operator } from '../../../operator/controller/operator.js';
import { createJsonLogger } from '../../../operator/observability/logger.js';
import { OperatorMetrics } from '../../../operator/observability/metrics.js';
import { writeKubeconfig } from '../../../hack/local-cluster/apiserver/kubeconfig.js';
import { kubeConfigFor, startTestApiServer } from '../../helpers/apiserver.js';
import { testJob, waitFor } from '../../helpers/fake-cluster-api.js';
import { OPERATOR_START_TIMEOUT_MS } from '../../helpers/operator-process.js';

const CRDS = new URL('../../../crds', import.meta.url).pathname;
const MAIN = new URL('../../../operator/main.ts', import.meta.url).pathname;
const group = { group: 'training.cifar-operator.io', version: 'v1alpha1', plural: 'cifartrainingjobs', namespace: 'default' };

t.test('controller against the local API server', async (t) => {
  const server = await startTestApiServer(t, { crdDir: CRDS });
  const kc = kubeConfigFor(server.url);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const logs: string[] = [];
  const startOperator = () => {
    const op = new Operator({
      api: new KubeClusterApi(kc),
      logger: createJsonLogger({ level: 'debug', write: (l) => logs.push(l) }),
      metrics: new OperatorMetrics({ defaultMetrics: false }),
      namespace: 'default',
      workers: 2,
      progressIntervalMs: 0,
      instance: 'test',
      leaderElection: { namespace: 'default', name: 'cifar-operator-leader', identity: `test_${Math.random()}`, leaseDurationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 200 },
      watchTimeoutSeconds: 5,
    });
    op.start();
    return op;
  };
  const getJob = async () => (await custom.getNamespacedCustomObject({ ...group, name: 'demo' })) as CifarTrainingJob;
  const pods = async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'training.cifar-operator.io/job-name=demo' })).items;

  let operator = startOperator();
  t.teardown(() => operator.stop());
  t.ok(await waitFor(() => operator.isReady() && operator.isLeader, 5000), 'caches synced and leading');

  const { metadata, ...rest } = testJob('demo');
  const created = (await custom.createNamespacedCustomObject({ ...group, body: { ...rest, metadata: { name: metadata.name } } })) as CifarTrainingJob;
  t.ok(await waitFor(async () => (await pods()).length === 2, 5000), 'two worker pods are created');
  const svc = await core.readNamespacedService({ namespace: 'default', name: 'demo-workers' });
  t.equal(svc.spec?.clusterIP, 'None', 'headless Service');
  const secret = await core.readNamespacedSecret({ namespace: 'default', name: 'demo-peer-key' });
  for (const obj of [svc, secret, ...(await pods())]) {
    t.equal(obj.metadata?.ownerReferences?.[0]?.uid, created.metadata.uid, `${obj.metadata?.name} is owned by the job`);
  }
  t.ok(await waitFor(async () => (await getJob()).status?.phase === 'Created', 5000), 'status.phase is Created once every pod exists');
  const uidsBefore = (await pods()).map((p) => p.metadata?.uid).sort();

  await t.test('restarting the operator creates no duplicate pods and keeps the status', async (t) => {
    await operator.stop();
    t.equal((await custom.getNamespacedCustomObject({ ...group, name: 'demo' }) as CifarTrainingJob).status?.phase, 'Created');
    operator = startOperator();
    t.ok(await waitFor(() => operator.isLeader, 5000), 'the new operator leads at once (the old one released the lease)');
    await waitFor(() => operator.queue.depth === 0, 3000);
    await new Promise((r) => setTimeout(r, 300));
    t.same((await pods()).map((p) => p.metadata?.uid).sort(), uidsBefore, 'the same pods, none added');
    t.equal((await getJob()).status?.phase, 'Created');
  });

  await t.test('pods running, then rank 0 exiting 0: the job becomes Succeeded', async (t) => {
    const patchStatus = (name: string, status: object) =>
      core.patchNamespacedPodStatus({ namespace: 'default', name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await patchStatus('demo-worker-0', { phase: 'Running', podIP: '127.0.0.10' });
    await patchStatus('demo-worker-1', { phase: 'Running', podIP: '127.0.0.11' });
    t.ok(await waitFor(async () => (await getJob()).status?.phase === 'Running', 5000), 'Running');
    await patchStatus('demo-worker-0', { phase: 'Succeeded', containerStatuses: [{ name: 'trainer', ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] });
    t.ok(await waitFor(async () => (await getJob()).status?.phase === 'Succeeded', 5000), 'Succeeded');
    const status = (await getJob()).status;
    t.ok(status?.conditions?.some((c) => c.type === 'Succeeded' && c.status === 'True'));
    t.ok(status?.completionTime);
    const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=demo' });
    t.ok(events.items.some((e) => e.reason === 'Succeeded' && e.source?.component === 'cifar-operator'), 'a Succeeded Event for kubectl describe');
    t.ok(await waitFor(async () => (await core.listNamespacedSecret({ namespace: 'default' })).items.every((s) => s.metadata?.name !== 'demo-peer-key'), 5000), 'the peer key is removed at the end');
  });

  await t.test('logs are JSON lines naming the job', async (t) => {
    const phaseLine = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'phase changed' && l.to === 'Succeeded');
    t.match(phaseLine, { level: 'info', namespace: 'default', job: 'demo' });
  });
});

t.test('the cifar-operator binary: serves /metrics, leads, and exits 0 on SIGTERM releasing the lease', async (t) => {
  const server = await startTestApiServer(t, { crdDir: CRDS });
  const dir = await mkdtemp(join(tmpdir(), 'cifar-operator-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, server.url);
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--kubeconfig', kubeconfig, '--metrics-addr', '127.0.0.1:0', '--lease-duration', '2', '--renew-deadline', '1', '--retry-period', '0.2', '--leader-election-id', 'bin-lease'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stderr }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  t.ok(await waitFor(() => lines.some((l) => l.msg === 'became leader'), OPERATOR_START_TIMEOUT_MS), 'leads');
  const address = String(lines.find((l) => l.msg === 'metrics server listening')?.address);
  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  t.match(metrics, /cifar_operator_leader 1/);
  t.ok(await waitFor(async () => (await fetch(`http://${address}/readyz`)).status === 200, 5000), 'ready');
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await Promise.race([exited, new Promise((r) => setTimeout(() => r(['timeout']), 10_000))])) as [number | string];
  t.equal(code, 0, 'exit 0 after a graceful shutdown');
  const lease = await new KubeClusterApi(kubeConfigFor(server.url)).getLease('default', 'bin-lease');
  t.equal(lease?.holderIdentity, '', 'the lease was released');
});
