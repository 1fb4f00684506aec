import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1EnvVar, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import { startNodeAgent, type NodeAgent } from '../hack/local-cluster/node-agent/agent.js';
import { tsxLoaderUrl } from '../hack/local-cluster/node-agent/commands.js';
import { eventually, kubeConfigFor, startTestApiServer, type TeardownHost } from './helpers/apiserver.js';

const FAKE_TRAINER = fileURLToPath(new URL('./fixtures/fake-trainer.ts', import.meta.url));
// A private slice of 127/8 per run, so parallel test files never share pod IPs.
const OCTET = 100 + Math.floor(Math.random() * 100);
const RANGE = { first: `127.${OCTET}.0.2`, last: `127.${OCTET}.0.250` };

async function agentFor(t: TeardownHost, kc: KubeConfig, stateDir: string, lines: string[] = []): Promise<NodeAgent> {
  const agent = await startNodeAgent({
    kubeConfig: kc,
    stateDir,
    podIpRange: RANGE,
    extraCommands: new Map([['fake-trainer', { nodeArgs: ['--import', tsxLoaderUrl(), FAKE_TRAINER] }]]),
    configRetryMs: 200,
    relistDelayMs: 100,
    shutdownGraceMs: 3_000,
    log: (line) => lines.push(line),
  });
  t.teardown(() => agent.stop());
  return agent;
}

function fakePod(name: string, args: string[], extra: { env?: V1EnvVar[] } = {}): V1Pod {
  return {
    metadata: { name, labels: { test: 'node-agent' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'trainer',
          image: 'cifar-trainer:dev',
          command: ['fake-trainer'],
          args,
          env: [
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ...(extra.env ?? []),
          ],
          volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }],
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
  };
}

interface Report {
  env: Record<string, string>;
  cwd: string;
  pid: number;
  secret: string | null;
}

const readReport = (path: string): Report => JSON.parse(readFileSync(path, 'utf8')) as Report;

async function waitFor(core: CoreV1Api, name: string, done: (s: V1PodStatus) => boolean, timeoutMs = 30_000): Promise<V1Pod> {
  let pod: V1Pod | undefined;
  const ok = await eventually(async () => {
    pod = await core.readNamespacedPod({ namespace: 'default', name });
    return pod.status !== undefined && done(pod.status);
  }, timeoutMs);
  if (!ok) throw new Error(`pod default/${name}: condition not reached in ${timeoutMs} ms; last status ${JSON.stringify(pod?.status)}`);
  return pod as V1Pod;
}

const finished = (s: V1PodStatus) => s.phase === 'Succeeded' || s.phase === 'Failed';

t.test('node agent runs pods as local processes', async (t) => {
  const server = await startTestApiServer(t);
  const kc = kubeConfigFor(server.url);
  const core = kc.makeApiClient(CoreV1Api);
  const lines: string[] = [];
  const dir = t.testdir();
  const agent = await agentFor(t, kc, join(dir, 'state'), lines);
  const report = (name: string) => join(dir, `${name}.json`);
  await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'peer-key' }, stringData: { key: 'k3y-material', id: 'AKIA-TEST' } } });
  const withSecret = fakePod('secret', ['--report', report('secret')], {
    env: [
      { name: 'CIFAR_PEER_SECRET_FILE', value: '/var/run/cifar-operator/peer/key' },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'peer-key', key: 'id' } } },
    ],
  });
  withSecret.spec!.containers[0].volumeMounts!.push({ name: 'peer', mountPath: '/var/run/cifar-operator/peer', readOnly: true });
  withSecret.spec!.volumes!.push({ name: 'peer', secret: { secretName: 'peer-key', defaultMode: 0o440 } });

  // Started together: the agent runs pods concurrently.
  await Promise.all([
    core.createNamespacedPod({ namespace: 'default', body: fakePod('ok', ['--report', report('ok')]) }),
    core.createNamespacedPod({ namespace: 'default', body: fakePod('retry', ['--exit', '75', '--message', 'rendezvous: peer rank 1 lost']) }),
    core.createNamespacedPod({ namespace: 'default', body: fakePod('crash', ['--exit', '1', '--stderr', 'Error: bad --data-uri s3://nope']) }),
    core.createNamespacedPod({ namespace: 'default', body: withSecret }),
  ]);

  await t.test('a pod that exits 0 is Succeeded, with the downward API env', async (t) => {
    const pod = await waitFor(core, 'ok', finished);
    t.equal(pod.status?.phase, 'Succeeded');
    const cs = pod.status?.containerStatuses?.[0];
    t.equal(cs?.state?.terminated?.exitCode, 0);
    t.equal(cs?.state?.terminated?.reason, 'Completed');
    t.ok(cs?.state?.terminated?.startedAt && cs.state.terminated.finishedAt, 'start and finish times');
    t.equal(pod.spec?.nodeName, agent.nodeName, 'bound to the node');
    t.same(pod.status?.conditions?.map((c) => c.type), ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']);
    const r = readReport(report('ok'));
    t.equal(r.env.POD_IP, pod.status?.podIP, 'POD_IP is the pod IP in status');
    t.match(r.env.POD_IP, new RegExp(`^127\\.${OCTET}\\.0\\.\\d+$`));
    t.equal(pod.status?.hostIP, '127.0.0.1');
    t.equal(r.env.POD_NAME, 'ok');
    t.match(r.cwd, /volumes\/scratch$/, 'cwd is the /tmp emptyDir');
    t.equal(r.env.TMPDIR, r.cwd);
    t.notOk(r.env.KUBECONFIG ?? r.env.TAP, 'the agent environment does not leak into pods');
  });

  await t.test('a pod that exits 75 is Failed with its exit code and termination message', async (t) => {
    const pod = await waitFor(core, 'retry', finished);
    t.equal(pod.status?.phase, 'Failed');
    const term = pod.status?.containerStatuses?.[0].state?.terminated;
    t.equal(term?.exitCode, 75);
    t.equal(term?.reason, 'Error');
    t.equal(term?.message, 'rendezvous: peer rank 1 lost');
  });

  await t.test('FallbackToLogsOnError: an empty message file on failure gives the stderr tail', async (t) => {
    const pod = await waitFor(core, 'crash', finished);
    t.equal(pod.status?.containerStatuses?.[0].state?.terminated?.exitCode, 1);
    t.match(pod.status?.containerStatuses?.[0].state?.terminated?.message, /Error: bad --data-uri s3:\/\/nope/);
  });

  await t.test('a Secret volume is readable at the rewritten mount path; secretKeyRef env is set', async (t) => {
    const pod = await waitFor(core, 'secret', finished);
    t.equal(pod.status?.phase, 'Succeeded');
    const r = readReport(report('secret'));
    t.equal(r.secret, 'k3y-material');
    t.not(r.env.CIFAR_PEER_SECRET_FILE, '/var/run/cifar-operator/peer/key', 'path rewritten');
    t.match(r.env.CIFAR_PEER_SECRET_FILE, /volumes\/peer\/key$/);
    t.equal(r.env.AWS_ACCESS_KEY_ID, 'AKIA-TEST');
  });

  await t.test('every pod got its own loopback IP', async (t) => {
    const list = await core.listNamespacedPod({ namespace: 'default' });
    const ips = list.items.map((p) => p.status?.podIP);
    t.equal(ips.length, 4);
    t.equal(new Set(ips).size, 4, `unique: ${ips.join(', ')}`);
  });

  await t.test('container logs are kept in the state dir', async (t) => {
    const file = readdirSync(agent.logsDir).find((f) => f.startsWith('default_crash_'));
    t.ok(file, 'one log file per pod, named after it');
    const logs = readFileSync(join(agent.logsDir, file ?? 'missing'), 'utf8');
    t.match(logs, /bad --data-uri/);
  });

  await t.test('an unknown command leaves the pod Pending with ErrImageNeverPull', async (t) => {
    const bad = fakePod('python', []);
    bad.spec!.containers[0].command = ['python3', 'train.py'];
    await core.createNamespacedPod({ namespace: 'default', body: bad });
    const pod = await waitFor(core, 'python', (s) => s.containerStatuses?.[0].state?.waiting?.reason === 'ErrImageNeverPull', 10_000);
    t.equal(pod.status?.phase, 'Pending');
    t.equal(pod.status?.containerStatuses?.[0].state?.waiting?.message, 'pod default/python: local cluster: unknown command python3 (known: cifar-trainer, fake-trainer)');
  });

  await t.test('a missing Secret is retried until it exists', async (t) => {
    const pod = fakePod('late-secret', [], { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'late', key: 'token' } } }] });
    await core.createNamespacedPod({ namespace: 'default', body: pod });
    const waiting = await waitFor(core, 'late-secret', (s) => s.containerStatuses?.[0].state?.waiting?.reason === 'CreateContainerConfigError', 10_000);
    t.match(waiting.status?.containerStatuses?.[0].state?.waiting?.message, 'pod default/late-secret: env TOKEN: secret "late" not found');
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'late' }, stringData: { token: 't' } } });
    const done = await waitFor(core, 'late-secret', finished);
    t.equal(done.status?.phase, 'Succeeded');
  });

  await t.test('deleting a running pod sends SIGTERM, then frees its IP and files', async (t) => {
    await core.createNamespacedPod({ namespace: 'default', body: fakePod('sleeper', ['--report', report('sleeper'), '--sleep', '60000']) });
    await waitFor(core, 'sleeper', (s) => s.phase === 'Running');
    t.ok(await eventually(() => existsSync(report('sleeper')), 15_000), 'the process is up');
    const info = agent.podProcess('default', 'sleeper');
    const pid = info?.pid ?? 0;
    t.ok(pid > 0);
    t.ok(info && existsSync(info.podDir));
    const started = Date.now();
    await core.deleteNamespacedPod({ namespace: 'default', name: 'sleeper' });
    const gone = await eventually(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 5_000);
    t.ok(gone, 'process ended within the 5 s grace period');
    t.ok(Date.now() - started < 5_000);
    t.equal(readFileSync(`${report('sleeper')}.signal`, 'utf8'), 'SIGTERM', 'it got SIGTERM, not SIGKILL');
    t.ok(await eventually(() => info !== undefined && !existsSync(info.podDir), 3_000), 'pod directory removed');
    t.equal(agent.podProcess('default', 'sleeper'), undefined);
  });

  await t.test('two pods of one job rendezvous through the DNS name of the first', async (t) => {
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'job-workers' }, spec: { clusterIP: 'None', selector: { job: 'dns' }, publishNotReadyAddresses: true, ports: [{ name: 'master', port: 29500 }] } },
    });
    const env = [
      { name: 'MASTER_ADDR', value: 'job-worker-0.job-workers.default.svc' },
      { name: 'MASTER_PORT', value: '29500' },
    ];
    const rank = (i: number, args: string[]): V1Pod => {
      const p = fakePod(`job-worker-${i}`, args, { env });
      p.metadata!.labels = { job: 'dns' };
      p.spec!.hostname = `job-worker-${i}`;
      p.spec!.subdomain = 'job-workers';
      return p;
    };
    // Rank 1 first: it must keep retrying until rank 0's name resolves and it listens.
    await core.createNamespacedPod({ namespace: 'default', body: rank(1, ['--connect', '--report', report('rank1')]) });
    await core.createNamespacedPod({ namespace: 'default', body: rank(0, ['--listen']) });
    const r0 = await waitFor(core, 'job-worker-0', finished);
    const r1 = await waitFor(core, 'job-worker-1', finished);
    t.equal(r0.status?.phase, 'Succeeded');
    t.equal(r1.status?.phase, 'Succeeded', r1.status?.containerStatuses?.[0].state?.terminated?.message ?? '');
    t.equal(readFileSync(`${report('rank1')}.greeting`, 'utf8'), `hello from master via ${r0.status?.podIP}`);
    // The hosts file is rewritten when the agent sees the pod finish, which can trail the status.
    const listed = (): boolean => {
      const hosts = JSON.parse(readFileSync(agent.hostsFile, 'utf8')) as { hosts: Record<string, string[]> };
      return hosts.hosts['job-worker-0.job-workers.default.svc.cluster.local'] !== undefined;
    };
    for (const deadline = Date.now() + 5000; listed() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    t.notOk(listed(), 'finished pods leave DNS');
  });

  t.notOk(lines.some((l) => /status update failed/.test(l)), 'no failed status writes');
});

t.test('on start the agent adopts nothing: pods that say Running become NodeLost', async (t) => {
  const server = await startTestApiServer(t);
  const kc = kubeConfigFor(server.url);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({ namespace: 'default', body: fakePod('orphan', ['--sleep', '60000']) });
  const status = { phase: 'Running', podIP: `127.${OCTET}.0.77`, containerStatuses: [{ name: 'trainer', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date().toISOString() } } }] };
  await core.patchNamespacedPodStatus({ namespace: 'default', name: 'orphan', body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await core.createNamespacedPod({ namespace: 'default', body: fakePod('fresh', []) });
  await agentFor(t, kc, t.testdir());
  const orphan = await waitFor(core, 'orphan', finished, 10_000);
  t.equal(orphan.status?.phase, 'Failed');
  t.equal(orphan.status?.reason, 'NodeLost');
  t.equal(orphan.status?.containerStatuses?.[0].state?.terminated?.exitCode, 137);
  const fresh = await waitFor(core, 'fresh', finished);
  t.equal(fresh.status?.phase, 'Succeeded', 'a pod that never started is run normally');
});

t.test('the agent survives an API server restart on the same port (relist)', async (t) => {
  const first = await startTestApiServer(t);
  const port = first.port;
  const kc = kubeConfigFor(first.url);
  const lines: string[] = [];
  await agentFor(t, kc, t.testdir(), lines);
  await first.stop();
  t.ok(await eventually(() => lines.some((l) => /^watch (pods|services): /.test(l)), 5_000), 'the watch error is logged');
  const second = await startTestApiServer(t, { port });
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({ namespace: 'default', body: fakePod('after-restart', []) });
  const pod = await waitFor(core, 'after-restart', finished);
  t.equal(pod.status?.phase, 'Succeeded');
  t.ok(second);
});
