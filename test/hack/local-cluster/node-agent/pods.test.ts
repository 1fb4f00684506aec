/**
 * The node agent against the local API server with its scheduler: pods bound to the
 * agent's node run as processes in their own mount namespace, report status as a kubelet
 * does, and go away gracefully. Each check names the kubelet behaviour it reproduces.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1EnvVar, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from '../../../../hack/local-cluster/node-agent/agent.js';
import { tsxLoaderUrl } from '../../../../hack/local-cluster/node-agent/commands.js';
import { parseLog } from '../../../../hack/local-cluster/node-agent/cri-log.js';
import { eventually, kubeConfigFor, startTestApiServer, type TeardownHost } from '../../../helpers/apiserver.js';

const FAKE_TRAINER = fileURLToPath(new URL('../../../fixtures/fake-trainer.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../..', import.meta.url)).replace(/\/$/, '');
// A private slice of 127/8 per run, so parallel test files never share pod IPs.
const OCTET = 100 + Math.floor(Math.random() * 100);
const RANGE = { first: `127.${OCTET}.0.2`, last: `127.${OCTET}.0.250` };
/** Where each pod sees the test's directory (a hostPath volume: the only way a host path gets in). */
const REPORT_DIR = '/report';

async function agentFor(t: TeardownHost, kc: KubeConfig, stateDir: string, lines: string[] = [], extra: Partial<NodeAgentOptions> = {}): Promise<NodeAgent> {
  const agent = await startNodeAgent({
    kubeConfig: kc,
    stateDir,
    podIpRange: RANGE,
    extraCommands: new Map([['fake-trainer', { nodeArgs: ['--import', tsxLoaderUrl(), FAKE_TRAINER] }]]),
    configRetryMs: 200,
    relistDelayMs: 100,
    shutdownGraceMs: 3_000,
    log: (line) => lines.push(line),
    ...extra,
  });
  t.teardown(() => agent.stop());
  return agent;
}

function fakePod(name: string, args: string[], hostDir: string, extra: { env?: V1EnvVar[] } = {}): V1Pod {
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
          volumeMounts: [
            { name: 'scratch', mountPath: '/tmp' },
            { name: 'report', mountPath: REPORT_DIR },
          ],
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'report', hostPath: { path: hostDir, type: 'Directory' } },
      ],
    },
  };
}

interface Report {
  env: Record<string, string>;
  cwd: string;
  pid: number;
  hostname: string;
  secret: string | null;
  checks: Record<string, string>;
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

async function gone(core: CoreV1Api, name: string): Promise<boolean> {
  try {
    await core.readNamespacedPod({ namespace: 'default', name });
    return false;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return true;
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const finished = (s: V1PodStatus) => s.phase === 'Succeeded' || s.phase === 'Failed';

t.test('node agent runs pods bound to its node as sandboxed local processes', async (t) => {
  const server = await startTestApiServer(t, { scheduler: true });
  const kc = kubeConfigFor(server.url);
  const core = kc.makeApiClient(CoreV1Api);
  const lines: string[] = [];
  const dir = t.testdir();
  const agent = await agentFor(t, kc, join(dir, 'state'), lines);
  t.ok(agent.sandbox.ok, `mount namespaces work here (${JSON.stringify(agent.sandbox)})`);
  const report = (name: string) => join(dir, `${name}.json`);
  const inPod = (name: string) => `${REPORT_DIR}/${name}.json`;
  const pod = (name: string, args: string[], extra: { env?: V1EnvVar[] } = {}) => fakePod(name, args, dir, extra);
  await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'peer-key' }, stringData: { key: 'k3y-material', id: 'AKIA-TEST' } } });
  const withSecret = pod('secret', ['--report', inPod('secret')], {
    env: [
      { name: 'CIFAR_PEER_SECRET_FILE', value: '/var/run/cifar-operator/peer/key' },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'peer-key', key: 'id' } } },
    ],
  });
  withSecret.spec!.containers[0].volumeMounts!.push({ name: 'peer', mountPath: '/var/run/cifar-operator/peer', readOnly: true });
  withSecret.spec!.volumes!.push({ name: 'peer', secret: { secretName: 'peer-key', defaultMode: 0o440 } });
  // A PersistentVolume on a host directory, bound to a claim the pod mounts at /data.
  await core.createPersistentVolume({ body: { metadata: { name: `pv-${OCTET}` }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: join(dir, 'pv-data'), type: 'DirectoryOrCreate' } } } });
  await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } });
  const claimed = pod('claimed', ['--report', '/data/claimed.json']);
  claimed.spec!.containers[0].volumeMounts!.push({ name: 'data', mountPath: '/data' });
  claimed.spec!.volumes!.push({ name: 'data', persistentVolumeClaim: { claimName: 'data' } });
  const hostOnly = join(tmpdir(), 'node-agent-host-only');
  const stateInside = join(dir, 'state', 'nodes');
  const checks = ['/tmp', REPORT_DIR, '/usr', REPO, '/var/run/cifar-operator/peer', stateInside, hostOnly, '/root', '/dev/null', '/proc/self'];
  const locked = pod('locked', ['--report', inPod('locked'), ...checks.flatMap((c) => ['--check', c])]);
  locked.spec!.containers[0].securityContext = { readOnlyRootFilesystem: true };

  // Started together: the agent runs pods concurrently.
  await Promise.all([
    core.createNamespacedPod({ namespace: 'default', body: pod('ok', ['--report', inPod('ok'), '--check', '/', '--stdout', 'hello from ok']) }),
    core.createNamespacedPod({ namespace: 'default', body: pod('retry', ['--exit', '75', '--message', 'rendezvous: peer rank 1 lost']) }),
    core.createNamespacedPod({ namespace: 'default', body: pod('crash', ['--exit', '1', '--stderr', 'Error: bad --data-uri s3://nope']) }),
    core.createNamespacedPod({ namespace: 'default', body: withSecret }),
    core.createNamespacedPod({ namespace: 'default', body: locked }),
    core.createNamespacedPod({ namespace: 'default', body: claimed }),
  ]);

  await t.test('a pod that exits 0 is Succeeded, with the downward API env (kubelet status)', async (t) => {
    const p = await waitFor(core, 'ok', finished);
    t.equal(p.status?.phase, 'Succeeded');
    const cs = p.status?.containerStatuses?.[0];
    t.equal(cs?.state?.terminated?.exitCode, 0);
    t.equal(cs?.state?.terminated?.reason, 'Completed');
    t.ok(cs?.state?.terminated?.startedAt && cs.state.terminated.finishedAt, 'start and finish times');
    t.equal(p.spec?.nodeName, agent.nodeName, 'the scheduler bound it to the node');
    t.same(p.status?.conditions?.map((c) => c.type), ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']);
    const r = readReport(report('ok'));
    t.equal(r.env.POD_IP, p.status?.podIP, 'POD_IP is the pod IP in status');
    t.match(r.env.POD_IP, new RegExp(`^127\\.${OCTET}\\.0\\.\\d+$`));
    t.equal(p.status?.hostIP, '127.0.0.1');
    t.equal(r.env.POD_NAME, 'ok');
    t.equal(r.hostname, 'ok', 'the pod has its own hostname (UTS namespace), its name');
    t.equal(r.cwd, REPO, "the image's working directory (the checkout, as /app in the trainer image)");
    t.notOk(r.env.TMPDIR, 'no TMPDIR: /tmp is the real /tmp of the pod');
    t.notOk(r.env.KUBECONFIG ?? r.env.TAP ?? r.env.NODE_OPTIONS ?? r.env.CIFAR_TERMINATION_LOG, 'the agent environment (and the test harness\'s NODE_OPTIONS) does not leak into pods');
    t.same(Object.keys(r.env).sort(), ['HOME', 'HOSTNAME', 'PATH', 'POD_IP', 'POD_NAME'], 'exactly the container env plus the runtime defaults');
    t.equal(r.checks['/'], 'writable', "a writable root file system of the pod's own");
  });

  await t.test('arguments and env reach the process unchanged; paths resolve inside the pod (no rewriting)', async (t) => {
    const p = await waitFor(core, 'secret', finished);
    t.equal(p.status?.phase, 'Succeeded');
    const r = readReport(report('secret'));
    t.equal(r.env.CIFAR_PEER_SECRET_FILE, '/var/run/cifar-operator/peer/key', 'env value as given');
    t.equal(r.secret, 'k3y-material', 'the Secret volume is mounted at its mountPath');
    t.equal(r.env.AWS_ACCESS_KEY_ID, 'AKIA-TEST', 'secretKeyRef env');
  });

  await t.test('the pod sees only its image, its volumes and its own /tmp; readOnlyRootFilesystem holds', async (t) => {
    const p = await waitFor(core, 'locked', finished);
    t.equal(p.status?.phase, 'Succeeded', JSON.stringify(p.status?.containerStatuses?.[0].state));
    const c = readReport(report('locked')).checks;
    t.equal(c['/tmp'], 'writable', 'the /tmp emptyDir is writable');
    t.equal(c[REPORT_DIR], 'writable', 'a hostPath volume is writable at its mountPath');
    t.equal(c['/usr'], 'EROFS', 'system directories are read-only');
    t.equal(c[REPO], 'EROFS', 'the checkout (the image) is read-only');
    t.equal(c['/var/run/cifar-operator/peer'], 'missing', 'a volume this pod does not mount is not there');
    t.equal(c[stateInside], 'missing', "the cluster's state directory (other pods' volumes) is masked even inside the checkout");
    t.equal(c[hostOnly], 'missing', 'host /tmp is not the pod /tmp: host paths outside the image are not visible');
    t.equal(c['/root'], 'missing', 'the host home is not visible');
    t.equal(c['/dev/null'], 'file', 'a minimal /dev');
    t.not(c['/proc/self'], 'missing', '/proc is mounted');
  });

  await t.test('a PersistentVolumeClaim bound to a host directory is mounted at its mountPath', async (t) => {
    const p = await waitFor(core, 'claimed', finished);
    t.equal(p.status?.phase, 'Succeeded', JSON.stringify(p.status?.containerStatuses?.[0].state));
    t.ok(existsSync(join(dir, 'pv-data', 'claimed.json')), "the pod's write landed in the volume's host directory");
  });

  await t.test('a pod that exits 75 is Failed with its exit code and its /dev/termination-log message', async (t) => {
    const p = await waitFor(core, 'retry', finished);
    t.equal(p.status?.phase, 'Failed');
    const term = p.status?.containerStatuses?.[0].state?.terminated;
    t.equal(term?.exitCode, 75);
    t.equal(term?.reason, 'Error');
    t.equal(term?.message, 'rendezvous: peer rank 1 lost');
  });

  await t.test('FallbackToLogsOnError: an empty message file on failure gives the stderr tail', async (t) => {
    const p = await waitFor(core, 'crash', finished);
    t.equal(p.status?.containerStatuses?.[0].state?.terminated?.exitCode, 1);
    t.match(p.status?.containerStatuses?.[0].state?.terminated?.message, /Error: bad --data-uri s3:\/\/nope/);
  });

  await t.test('every pod got its own loopback IP', async (t) => {
    const list = await core.listNamespacedPod({ namespace: 'default' });
    const ips = list.items.map((p) => p.status?.podIP);
    t.equal(ips.length, 6);
    t.equal(new Set(ips).size, 6, `unique: ${ips.join(', ')}`);
  });

  await t.test('container logs are kept in the CRI format, per stream, with timestamps', async (t) => {
    await waitFor(core, 'ok', finished);
    const files = readdirSync(agent.logsDir);
    const ok = parseLog(readFileSync(join(agent.logsDir, files.find((f) => f.startsWith('default_ok_')) ?? 'missing'), 'utf8'));
    t.ok(ok.some((r) => r.stream === 'stdout' && r.content === 'hello from ok' && !r.partial && Number.isFinite(Date.parse(r.time))), 'a stdout record');
    const crash = parseLog(readFileSync(join(agent.logsDir, files.find((f) => f.startsWith('default_crash_')) ?? 'missing'), 'utf8'));
    t.ok(crash.some((r) => r.stream === 'stderr' && /bad --data-uri/.test(r.content)), 'a stderr record');
  });

  await t.test('an unknown command leaves the pod Pending with ErrImageNeverPull', async (t) => {
    const bad = pod('python', []);
    bad.spec!.containers[0].command = ['python3', 'train.py'];
    await core.createNamespacedPod({ namespace: 'default', body: bad });
    const p = await waitFor(core, 'python', (s) => s.containerStatuses?.[0].state?.waiting?.reason === 'ErrImageNeverPull', 10_000);
    t.equal(p.status?.phase, 'Pending');
    t.equal(p.status?.containerStatuses?.[0].state?.waiting?.message, 'pod default/python: local cluster: unknown command python3 (known: cifar-trainer, fake-trainer)');
  });

  await t.test('a missing Secret is retried until it exists (CreateContainerConfigError)', async (t) => {
    const p = pod('late-secret', [], { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'late', key: 'token' } } }] });
    await core.createNamespacedPod({ namespace: 'default', body: p });
    const waiting = await waitFor(core, 'late-secret', (s) => s.containerStatuses?.[0].state?.waiting?.reason === 'CreateContainerConfigError', 10_000);
    t.match(waiting.status?.containerStatuses?.[0].state?.waiting?.message, 'pod default/late-secret: env TOKEN: secret "late" not found');
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'late' }, stringData: { token: 't' } } });
    const done = await waitFor(core, 'late-secret', finished);
    t.equal(done.status?.phase, 'Succeeded');
  });

  await t.test('a hostPath of the wrong type keeps the pod ContainerCreating (kubelet hostPath type check)', async (t) => {
    const p = pod('bad-hostpath', []);
    p.spec!.volumes![1] = { name: 'report', hostPath: { path: join(dir, 'no-such-dir'), type: 'Directory' } };
    await core.createNamespacedPod({ namespace: 'default', body: p });
    const waiting = await waitFor(core, 'bad-hostpath', (s) => s.containerStatuses?.[0].state?.waiting?.message !== undefined, 10_000);
    t.equal(waiting.status?.phase, 'Pending');
    t.match(waiting.status?.containerStatuses?.[0].state?.waiting?.message, `MountVolume.SetUp failed for volume "report" : hostPath type check failed: ${join(dir, 'no-such-dir')} is not a directory`);
  });

  await t.test('a sandbox that cannot be built fails the container with StartError, naming the mount', async (t) => {
    const p = pod('bad-mount', []);
    p.spec!.containers[0].volumeMounts!.push({ name: 'scratch', mountPath: '/usr/no-such-dir' });
    await core.createNamespacedPod({ namespace: 'default', body: p });
    const failed = await waitFor(core, 'bad-mount', finished);
    const term = failed.status?.containerStatuses?.[0].state?.terminated;
    t.equal(term?.reason, 'StartError');
    t.equal(term?.exitCode, 128);
    t.match(term?.message, /^local cluster: pod sandbox: mount point \/usr\/no-such-dir: mkdir: cannot create directory '\/usr\/no-such-dir': Read-only file system/);
  });

  await t.test('graceful deletion: Terminating until the process has exited, then removed by the agent', async (t) => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('sleeper', ['--report', inPod('sleeper'), '--sleep', '60000', '--term-delay', '1500']) });
    await waitFor(core, 'sleeper', (s) => s.phase === 'Running');
    t.ok(await eventually(() => existsSync(report('sleeper')), 15_000), 'the process is up');
    const info = agent.podProcess('default', 'sleeper');
    const pid = info?.pid ?? 0;
    t.ok(pid > 0);
    t.ok(info && existsSync(info.podDir));
    const deleted = await core.deleteNamespacedPod({ namespace: 'default', name: 'sleeper' });
    t.ok(deleted.metadata?.deletionTimestamp, 'DELETE answers the pod with a deletionTimestamp');
    t.equal(deleted.metadata?.deletionGracePeriodSeconds, 5, 'the grace period is spec.terminationGracePeriodSeconds');
    const terminating = await core.readNamespacedPod({ namespace: 'default', name: 'sleeper' });
    t.ok(terminating.metadata?.deletionTimestamp, 'still there, Terminating, while the process shuts down');
    t.ok(await eventually(() => existsSync(`${report('sleeper')}.signal`), 5_000), 'it got SIGTERM');
    t.ok(await eventually(() => !alive(pid), 8_000), 'the process ended within the grace period');
    t.equal(readFileSync(`${report('sleeper')}.signal`, 'utf8'), 'SIGTERM', 'SIGTERM, not SIGKILL first');
    t.ok(await eventually(() => gone(core, 'sleeper'), 5_000), 'the agent deleted the pod with grace 0 once its process was gone');
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
      const p = pod(`job-worker-${i}`, args, { env });
      p.metadata!.labels = { job: 'dns' };
      p.spec!.hostname = `job-worker-${i}`;
      p.spec!.subdomain = 'job-workers';
      return p;
    };
    // Rank 1 first: it must keep retrying until rank 0's name resolves and it listens.
    await core.createNamespacedPod({ namespace: 'default', body: rank(1, ['--connect', '--report', inPod('rank1')]) });
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
    t.ok(await eventually(() => !listed(), 5_000), 'finished pods leave DNS');
  });

  t.notOk(lines.some((l) => /status update failed/.test(l)), 'no failed status writes');
});

t.test('without mount namespaces, pods fail with a clear message instead of running unisolated', async (t) => {
  const server = await startTestApiServer(t, { scheduler: true });
  const kc = kubeConfigFor(server.url);
  const core = kc.makeApiClient(CoreV1Api);
  const dir = t.testdir();
  const message = 'local cluster: cannot create a mount namespace for pods (unshare --mount: Operation not permitted)';
  await agentFor(t, kc, join(dir, 'state'), [], { sandbox: { ok: false, message } });
  await core.createNamespacedPod({ namespace: 'default', body: fakePod('unisolated', ['--report', '/report/x.json'], dir) });
  const p = await waitFor(core, 'unisolated', finished);
  t.equal(p.status?.phase, 'Failed');
  t.equal(p.status?.containerStatuses?.[0].state?.terminated?.reason, 'StartError');
  t.equal(p.status?.containerStatuses?.[0].state?.terminated?.message, message);
  t.notOk(existsSync(join(dir, 'x.json')), 'the program never ran');
});

t.test('on start the agent adopts nothing: pods that say Running become NodeLost', async (t) => {
  const server = await startTestApiServer(t, { scheduler: true });
  const kc = kubeConfigFor(server.url);
  const core = kc.makeApiClient(CoreV1Api);
  const dir = t.testdir();
  const orphan = fakePod('orphan', ['--sleep', '60000'], dir);
  orphan.spec!.nodeName = 'local-node';
  await core.createNamespacedPod({ namespace: 'default', body: orphan });
  const status = { phase: 'Running', podIP: `127.${OCTET}.0.77`, containerStatuses: [{ name: 'trainer', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date().toISOString() } } }] };
  await core.patchNamespacedPodStatus({ namespace: 'default', name: 'orphan', body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await core.createNamespacedPod({ namespace: 'default', body: fakePod('fresh', [], dir) });
  await agentFor(t, kc, join(dir, 'state'));
  const lost = await waitFor(core, 'orphan', finished, 10_000);
  t.equal(lost.status?.phase, 'Failed');
  t.equal(lost.status?.reason, 'NodeLost');
  t.equal(lost.status?.containerStatuses?.[0].state?.terminated?.exitCode, 137);
  const fresh = await waitFor(core, 'fresh', finished);
  t.equal(fresh.status?.phase, 'Succeeded', 'a pod that never started is run normally');
});

t.test('the agent survives an API server restart on the same port (relist)', async (t) => {
  const first = await startTestApiServer(t, { scheduler: true });
  const port = first.port;
  const kc = kubeConfigFor(first.url);
  const lines: string[] = [];
  const dir = t.testdir();
  const agent = await agentFor(t, kc, join(dir, 'state'), lines, { leaseRenewMs: 200 });
  await first.stop();
  t.ok(await eventually(() => lines.some((l) => /^watch (pods|services): /.test(l)), 5_000), 'the watch error is logged');
  const second = await startTestApiServer(t, { port, scheduler: true });
  // The new server is empty: the Node is registered again by hand (a kubelet registers at its own start).
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name: agent.nodeName } } });
  await core.patchNodeStatus({ name: agent.nodeName, body: { status: { allocatable: { cpu: '2', memory: '1Gi', pods: '10' }, conditions: [{ type: 'Ready', status: 'True' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await core.createNamespacedPod({ namespace: 'default', body: fakePod('after-restart', [], dir) });
  const p = await waitFor(core, 'after-restart', finished);
  t.equal(p.status?.phase, 'Succeeded');
  t.ok(second);
});
