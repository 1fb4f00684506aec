import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLocalCluster, type LocalClusterOptions } from '../../../hack/local-cluster/launcher.js';
import { tsxLoaderUrl } from '../../../hack/local-cluster/node-agent/commands.js';
import { eventually, findKubectl, NO_KUBECTL } from '../../helpers/apiserver.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const FAKE_TRAINER = fileURLToPath(new URL('../../fixtures/fake-trainer.ts', import.meta.url));
const OCTET = 100 + Math.floor(Math.random() * 100);

function options(dir: string, extra: Partial<LocalClusterOptions> = {}): LocalClusterOptions {
  return {
    kubeconfigPath: join(dir, 'kubeconfig'),
    withOperator: false,
    agent: {
      podIpRange: { first: `127.${OCTET}.1.2`, last: `127.${OCTET}.1.250` },
      extraCommands: new Map([['fake-trainer', { nodeArgs: ['--import', tsxLoaderUrl(), FAKE_TRAINER] }]]),
      shutdownGraceMs: 2_000,
    },
    log: () => undefined,
    ...extra,
  };
}

function kubectl(bin: string, dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/version`, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

t.test('startLocalCluster without the operator: API server, kubeconfig, node agent; stop cleans up', async (t) => {
  const dir = t.testdir();
  const cluster = await startLocalCluster(options(dir));
  t.teardown(() => cluster.stop());
  const text = readFileSync(cluster.kubeconfigPath, 'utf8');
  t.match(text, `server: "${cluster.url}"`);
  t.match(text, 'namespace: "default"');
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
  t.ok(
    crds.items.some((c) => c.spec.names.kind === 'CifarTrainingJob'),
    'crds/ is served',
  );
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: { metadata: { name: 'hello' }, spec: { restartPolicy: 'Never', containers: [{ name: 'trainer', image: 'x:1', command: ['fake-trainer'], args: ['--exit', '0'] }] } },
  });
  t.ok(await eventually(async () => (await core.readNamespacedPod({ namespace: 'default', name: 'hello' })).status?.phase === 'Succeeded', 20_000), 'the node agent runs pods');
  const bin = findKubectl();
  if (bin === undefined) t.comment(`skipping the kubectl check: ${NO_KUBECTL}`);
  else {
    const got = await kubectl(bin, dir, ['get', 'pods', '-o', 'wide']);
    t.equal(got.code, 0, got.stderr);
    t.match(got.stdout, /hello\s+0\/1\s+Succeeded/);
    t.match(got.stdout, new RegExp(`127\\.${OCTET}\\.1\\.\\d+\\s+local-node`), 'IP and node columns');
  }
  t.ok(existsSync(cluster.stateDir));
  await cluster.stop();
  t.ok(await refused(cluster.url), 'the API server is stopped');
  t.notOk(existsSync(cluster.stateDir), 'a temporary state dir is removed');
});

t.test('--nodes 2 --gpus-per-node 2: GPU nodes with capacity, taint and labels; GPUs are counted per node', async (t) => {
  const dir = t.testdir();
  const cluster = await startLocalCluster(options(dir, { nodes: 2, gpusPerNode: 2, cpusPerNode: 4, memoryPerNodeBytes: 8 * 2 ** 30 }));
  t.teardown(() => cluster.stop());
  t.same(cluster.agents.map((a) => a.nodeName), ['local-node', 'local-node2']);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = (await core.listNode()).items;
  t.same(nodes.map((n) => n.metadata?.name), ['local-node', 'local-node2']);
  for (const n of nodes) {
    t.same(n.status?.allocatable, { cpu: '4', memory: `${8 * 2 ** 20}Ki`, pods: '110', 'nvidia.com/gpu': '2' }, `${n.metadata?.name} allocatable`);
    t.same(n.spec?.taints, [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }], 'GPU nodes are tainted');
    t.equal(n.metadata?.labels?.['nvidia.com/gpu.present'], 'true');
    t.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  }
  const gpuPod = (name: string, gpus: number) => ({
    metadata: { name },
    spec: { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }], containers: [{ name: 'trainer', image: 'x:1', command: ['no-such-program'], resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] },
  });
  for (const [name, gpus] of [['two-a', 2], ['two-b', 2], ['one-more', 1]] as const) await core.createNamespacedPod({ namespace: 'default', body: gpuPod(name, gpus) });
  const node = async (name: string) => (await core.readNamespacedPod({ namespace: 'default', name })).spec?.nodeName;
  t.ok(await eventually(async () => (await node('two-a')) !== undefined && (await node('two-b')) !== undefined, 10_000), 'one 2-GPU pod per node');
  t.not(await node('two-a'), await node('two-b'));
  const waiting = await core.readNamespacedPod({ namespace: 'default', name: 'one-more' });
  t.equal(waiting.spec?.nodeName, undefined, 'no GPU left anywhere');
  t.ok(await eventually(async () => /0\/2 nodes are available: 2 Insufficient nvidia\.com\/gpu\./.test((await core.readNamespacedPod({ namespace: 'default', name: 'one-more' })).status?.conditions?.find((c) => c.type === 'PodScheduled')?.message ?? ''), 5_000));
  await core.deleteNamespacedPod({ namespace: 'default', name: 'two-a' });
  t.ok(await eventually(async () => (await node('one-more')) !== undefined, 15_000), 'bound once a GPU is free again');
});

t.test('an operator that exits at once fails the start with its stderr, and leaves nothing running', async (t) => {
  const dir = t.testdir();
  const err = await startLocalCluster(
    options(dir, { withOperator: true, operatorNodeArgs: ['-e', 'console.error("cannot reach the API: boom"); process.exit(3)', '--'], operatorStartupMs: 5_000 }),
  ).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  t.ok(err, 'start rejected');
  t.match(err?.message, /the operator \(.*\) exited at once with code 3/);
  t.match(err?.message, /cannot reach the API: boom/);
  t.match(err?.message, /--no-operator/);
  const url = /server: "([^"]+)"/.exec(readFileSync(join(dir, 'kubeconfig'), 'utf8'))?.[1] ?? '';
  t.ok(url && (await refused(url)), 'the API server was stopped again');
});

t.test('the operator gets the kubeconfig and --leader-elect=false; a later exit is reported', async (t) => {
  const dir = t.testdir();
  const argvFile = join(dir, 'argv.json');
  const script = `require('fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(1))); setTimeout(() => process.exit(4), 1500)`;
  const cluster = await startLocalCluster(options(dir, { withOperator: true, operatorNodeArgs: ['-e', script, '--'], operatorArgs: ['--workers', '1'], operatorStartupMs: 300 }));
  t.teardown(() => cluster.stop());
  t.ok(cluster.operatorPid);
  const message = await Promise.race([cluster.failed, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
  t.match(message, /the operator \(pid \d+\) exited with code 4; see .*operator\.log/);
  t.same(JSON.parse(readFileSync(argvFile, 'utf8')), ['--kubeconfig', join(dir, 'kubeconfig'), '--leader-elect=false', '--metrics-addr', '127.0.0.1:0', '--workers', '1']);
});

t.test('npm run local-cluster: prints ready, serves kubectl, stops with exit 0 on SIGTERM', async (t) => {
  const dir = t.testdir();
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'hack/local-cluster/main.ts'), '--kubeconfig', join(dir, 'kubeconfig'), '--no-operator', '--no-s3', '--state-dir', join(dir, 'state'), '--pod-ips', `127.${OCTET}.3.2-127.${OCTET}.3.250`], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // A fresh checkout compiles every module through tsx first: minutes on a loaded machine.
  t.ok(await eventually(() => /ready/.test(out), 180_000), `ready line printed; stderr: ${err}`);
  t.match(out, `kubeconfig ${join(dir, 'kubeconfig')}`);
  t.match(out, `kubectl --kubeconfig ${join(dir, 'kubeconfig')} get nodes,pods,ctj`);
  const bin = findKubectl();
  if (bin === undefined) t.comment(`skipping the kubectl checks: ${NO_KUBECTL}`);
  else {
    const got = await kubectl(bin, dir, ['get', 'pods']);
    t.equal(got.code, 0, got.stderr);
    t.match(got.stderr + got.stdout, /No resources found in default namespace/);
    // The acceptance check: more nvidia.com/gpu than any node has stays Pending, Unschedulable.
    const gpuPod = join(dir, 'gpu-pod.yaml');
    writeFileSync(gpuPod, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: wants-gpus\nspec:\n  containers:\n  - name: trainer\n    image: cifar-operator/trainer:dev\n    command: [cifar-trainer]\n    resources:\n      limits:\n        nvidia.com/gpu: 1\n');
    t.equal((await kubectl(bin, dir, ['apply', '-f', gpuPod])).code, 0);
    const reason = () => kubectl(bin, dir, ['get', 'pod', 'wants-gpus', '-o', 'jsonpath={.status.phase} {.status.conditions[?(@.type=="PodScheduled")].reason}: {.status.conditions[?(@.type=="PodScheduled")].message}']);
    t.ok(await eventually(async () => /Unschedulable/.test((await reason()).stdout), 15_000), 'the scheduler reported it');
    t.equal((await reason()).stdout, 'Pending Unschedulable: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
    // ... and kubectl logs of a finished pod prints its output (the real trainer CLI, in its sandbox).
    const helpPod = join(dir, 'help-pod.yaml');
    writeFileSync(helpPod, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: trainer-help\nspec:\n  restartPolicy: Never\n  containers:\n  - name: trainer\n    image: cifar-operator/trainer:dev\n    command: [cifar-trainer]\n    args: [--help]\n');
    t.equal((await kubectl(bin, dir, ['apply', '-f', helpPod])).code, 0);
    t.ok(await eventually(async () => (await kubectl(bin, dir, ['get', 'pod', 'trainer-help', '-o', 'jsonpath={.status.phase}'])).stdout === 'Succeeded', 180_000), 'the trainer ran');
    const logs = await kubectl(bin, dir, ['logs', 'trainer-help']);
    t.equal(logs.code, 0, logs.stderr);
    t.match(logs.stdout, /^Usage: cifar-trainer <command> \[options\]/, 'kubectl logs prints what the container wrote');
  }
  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 30_000))]);
  t.equal(code, 0, `exit code; stderr: ${err}`);
  t.match(err, /stopped/);
});

t.test('npm run local-cluster: a bad flag is a usage error', async (t) => {
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO, 'hack/local-cluster/main.ts'), '--kubeconfig', '/dev/null', '--trainer-from', 'docker'], { cwd: REPO, timeout: 180_000 }, (err, _stdout, stderr) =>
      resolve({ code: err && typeof err.code === 'number' ? err.code : 0, stderr }),
    );
  });
  t.equal(result.code, 2);
  t.match(result.stderr, /--trainer-from: "docker" must be source or dist/);
  t.match(result.stderr, /usage: npm run local-cluster/);
});
