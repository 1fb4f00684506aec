/**
 * `kubectl logs` against the local cluster, with the real kubectl and client-node. The API
 * server serves pods/log by proxying to the node agent's kubelet endpoint
 * (pkg/registry/core/pod/rest/log.go, strategy.go LogLocation), which reads the CRI log
 * as the kubelet does (pkg/kubelet/kuberuntime/logs): tailLines, timestamps, follow, and
 * kubelet's refusals (validateContainerLogStatus) for waiting or previous containers.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startLocalCluster } from '../../../hack/local-cluster/launcher.js';
import { tsxLoaderUrl } from '../../../hack/local-cluster/node-agent/commands.js';
import { eventually, findKubectl, NO_KUBECTL } from '../../helpers/apiserver.js';

const FAKE_TRAINER = fileURLToPath(new URL('../../fixtures/fake-trainer.ts', import.meta.url));
const OCTET = 100 + Math.floor(Math.random() * 100);
const kubectlBin = findKubectl();

function pod(name: string, args: string[], command = ['fake-trainer']): V1Pod {
  return { metadata: { name }, spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 5, containers: [{ name: 'trainer', image: 'x:1', command, args }] } };
}

t.test('kubectl logs through the API server and the node agent', { skip: kubectlBin ? false : NO_KUBECTL }, async (t) => {
  const dir = t.testdir();
  const cluster = await startLocalCluster({
    kubeconfigPath: join(dir, 'kubeconfig'),
    withOperator: false,
    agent: { podIpRange: { first: `127.${OCTET}.2.2`, last: `127.${OCTET}.2.250` }, extraCommands: new Map([['fake-trainer', { nodeArgs: ['--import', tsxLoaderUrl(), FAKE_TRAINER] }]]), shutdownGraceMs: 2_000 },
    log: () => undefined,
  });
  t.teardown(() => cluster.stop());
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const env = { PATH: process.env.PATH ?? '', HOME: dir };
  const kubectl = (args: string[], timeout = 30_000) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(kubectlBin!, ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
    });
  const phase = async (name: string) => (await core.readNamespacedPod({ namespace: 'default', name })).status?.phase;

  await t.test('a finished pod: all its output, --tail, --timestamps; client-node readNamespacedPodLog', async (t) => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('talker', ['--stdout', 'first line', '--stdout', 'second line', '--stderr', 'on stderr']) });
    t.ok(await eventually(async () => (await phase('talker')) === 'Succeeded', 30_000), 'finished');
    const all = await kubectl(['logs', 'talker']);
    t.equal(all.code, 0, all.stderr);
    t.match(all.stdout, /first line\nsecond line\n/);
    t.match(all.stdout, /on stderr\n/, 'stdout and stderr both');
    const tail = await kubectl(['logs', 'talker', '--tail=1']);
    t.equal(tail.stdout.split('\n').filter(Boolean).length, 1, '--tail=1: one line');
    const stamped = await kubectl(['logs', 'talker', '--timestamps']);
    t.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z first line$/m, 'RFC 3339 nanosecond timestamps');
    const viaClient = await core.readNamespacedPodLog({ namespace: 'default', name: 'talker', tailLines: 2 });
    t.equal(viaClient.split('\n').filter(Boolean).length, 2);
  });

  await t.test('-f follows a running container until it exits', async (t) => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('ticker', ['--ticks', '6', '--tick-ms', '300']) });
    t.ok(await eventually(async () => (await phase('ticker')) === 'Running', 30_000), 'running');
    const followed = await kubectl(['logs', '-f', 'ticker'], 60_000);
    t.equal(followed.code, 0, followed.stderr);
    t.match(followed.stdout, /tick 1\n[\s\S]*tick 6\n$/, 'every line, and the stream ends with the container');
  });

  await t.test("kubelet's refusals: no previous container; a container waiting to start", async (t) => {
    const previous = await kubectl(['logs', 'talker', '--previous']);
    t.not(previous.code, 0);
    t.match(previous.stderr, 'previous terminated container "trainer" in pod "talker" not found');
    await core.createNamespacedPod({ namespace: 'default', body: pod('unpullable', [], ['python3']) });
    t.ok(await eventually(async () => (await core.readNamespacedPod({ namespace: 'default', name: 'unpullable' })).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull', 20_000));
    const waiting = await kubectl(['logs', 'unpullable']);
    t.not(waiting.code, 0);
    t.match(waiting.stderr, 'container "trainer" in pod "unpullable" is waiting to start: ErrImageNeverPull');
    const wrong = await kubectl(['logs', 'talker', '-c', 'sidecar']);
    t.match(wrong.stderr, 'container sidecar is not valid for pod talker');
  });
});
