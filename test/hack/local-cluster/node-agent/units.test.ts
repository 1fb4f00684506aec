import t from 'tap';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { resolveEnv, envSources, fieldRefValue } from '../../../../hack/local-cluster/node-agent/env.js';
import { hostsMap } from '../../../../hack/local-cluster/node-agent/hosts-map.js';
import { LoopbackIpPool } from '../../../../hack/local-cluster/node-agent/ip-pool.js';
import { PodConfigError } from '../../../../hack/local-cluster/node-agent/pod-ref.js';
import { nodeLostStatus, podStatus, terminatedState } from '../../../../hack/local-cluster/node-agent/pod-status.js';
import { criTime, formatRecord, MAX_RECORD_BYTES, parseLog, parseRecord, RecordSplitter, renderRecords, type LogRecord } from '../../../../hack/local-cluster/node-agent/cri-log.js';
import { etcHosts, resolvConf } from '../../../../hack/local-cluster/node-agent/pod-files.js';
import { buildContainerProcess, DEFAULT_PATH } from '../../../../hack/local-cluster/node-agent/process-spec.js';
import { orderedMounts, sandboxScript, shellQuote, unshareArgs, type SandboxInput } from '../../../../hack/local-cluster/node-agent/sandbox.js';
import { logTail, tailBytes, terminationMessage } from '../../../../hack/local-cluster/node-agent/termination-message.js';
import { planMounts, volumeFiles } from '../../../../hack/local-cluster/node-agent/volumes.js';

// A pod path where the scratch volume is mounted, and a checkout that lies under it: the layout
// of a clone in the host's temporary directory, whose paths a pod's volume there must not swallow.
const TMP = '/scratch';
const CLONE = `${TMP}/clone`;

/** A worker pod shaped like operator/core/desired-pod.ts builds it. */
function trainerPod(): V1Pod {
  return {
    metadata: { name: 'mnist-worker-0', namespace: 'ml', uid: 'uid-1', labels: { app: 'ctj', rank: '0' } },
    spec: {
      hostname: 'mnist-worker-0',
      subdomain: 'mnist-workers',
      restartPolicy: 'Never',
      containers: [
        {
          name: 'trainer',
          image: 'cifar-trainer:dev',
          command: ['cifar-trainer'],
          args: ['train', '--epochs', '2', `--checkpoint=${TMP}/ckpt`],
          env: [
            { name: 'WORLD_SIZE', value: '2' },
            { name: 'MASTER_ADDR', value: 'mnist-worker-0.mnist-workers.ml.svc' },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'RANK_LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['rank']" } } },
            { name: 'CIFAR_PEER_SECRET_FILE', value: '/var/run/cifar-operator/peer/key' },
            { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3', key: 'id' } } },
            { name: 'AWS_SESSION_TOKEN', valueFrom: { secretKeyRef: { name: 's3', key: 'token', optional: true } } },
            { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'level', optional: true } } },
          ],
          volumeMounts: [
            { name: 'scratch', mountPath: TMP },
            { name: 'peer-key', mountPath: '/var/run/cifar-operator/peer', readOnly: true },
          ],
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'peer-key', secret: { secretName: 'mnist-peer-key', defaultMode: 0o440 } },
      ],
    },
  };
}

const facts = { podIP: '127.0.0.7', hostIP: '127.0.0.1', nodeName: 'local-node' };

t.test('env: literals, downward API, secretKeyRef and configMapKeyRef', async (t) => {
  const pod = trainerPod();
  const c = pod.spec!.containers[0];
  t.same(envSources(c), { secrets: ['s3'], configMaps: ['cfg'] });
  const env = resolveEnv(pod, c, facts, { secrets: new Map([['s3', { id: 'AKIA' }]]), configMaps: new Map() });
  t.equal(env.POD_IP, '127.0.0.7');
  t.equal(env.POD_NAME, 'mnist-worker-0');
  t.equal(env.POD_NAMESPACE, 'ml');
  t.equal(env.NODE, 'local-node');
  t.equal(env.RANK_LABEL, '0');
  t.equal(env.AWS_ACCESS_KEY_ID, 'AKIA');
  t.notOk('AWS_SESSION_TOKEN' in env, 'a missing optional key leaves the variable unset');
  t.notOk('LEVEL' in env, 'a missing optional ConfigMap leaves the variable unset');
  t.equal(env.WORLD_SIZE, '2');
  t.equal(fieldRefValue(pod, facts, 'status.hostIP'), '127.0.0.1');
  t.equal(fieldRefValue(pod, facts, 'metadata.bogus'), undefined);

  const missingSecret = () => resolveEnv(pod, c, facts, { secrets: new Map(), configMaps: new Map() });
  t.throws(missingSecret, { name: 'PodConfigError', reason: 'CreateContainerConfigError', message: /^pod ml\/mnist-worker-0: env AWS_ACCESS_KEY_ID: secret "s3" not found$/ });
  const missingKey = () => resolveEnv(pod, c, facts, { secrets: new Map([['s3', {}]]), configMaps: new Map() });
  t.throws(missingKey, { message: /couldn't find key id in Secret ml\/s3/ });
  try {
    missingSecret();
  } catch (err) {
    t.equal((err as PodConfigError).permanent, false, 'a missing Secret is retried: it may be created later');
  }
  const bad: V1Pod = { ...pod, spec: { ...pod.spec!, containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] }] } };
  t.throws(() => resolveEnv(bad, bad.spec!.containers[0], facts, { secrets: new Map(), configMaps: new Map() }), { message: /pod ml\/mnist-worker-0: env X: fieldRef spec.bogus is not supported/, permanent: true });

  const withEnvFrom: V1Pod = { ...pod, spec: { ...pod.spec!, containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'APP_' }], env: [{ name: 'APP_level', value: 'override' }] }] } };
  const e2 = resolveEnv(withEnvFrom, withEnvFrom.spec!.containers[0], facts, { secrets: new Map(), configMaps: new Map([['cfg', { level: 'debug', mode: 'x' }]]) });
  t.same(e2, { APP_level: 'override', APP_mode: 'x' }, 'envFrom first, env wins');
});

t.test('volumes: where each mount comes from; Secret and ConfigMap volumes read-only; files with modes', async (t) => {
  const pod = trainerPod();
  const mounts = planMounts(pod, pod.spec!.containers[0], '/state/pods/p');
  t.same(
    mounts.map((m) => [m.mountPath, m.hostDir, m.source.kind, m.readOnly]),
    [
      [TMP, '/state/pods/p/volumes/scratch', 'emptyDir', false],
      ['/var/run/cifar-operator/peer', '/state/pods/p/volumes/peer-key', 'secret', true],
    ],
  );
  const secretMount = mounts[1];
  const files = volumeFiles(pod, secretMount, { key: Buffer.from('s3cret'), other: Buffer.from('x') });
  t.same(files.map((f) => [f.path, f.content.toString(), f.mode]), [
    ['key', 's3cret', 0o440],
    ['other', 'x', 0o440],
  ]);
  t.throws(() => volumeFiles(pod, secretMount, undefined), { message: 'pod ml/mnist-worker-0: volume "peer-key": secret "mnist-peer-key" not found' });
  const withItems = { ...secretMount, source: { kind: 'secret' as const, name: 'k', optional: false, defaultMode: 0o400, items: [{ key: 'key', path: 'sub/peer.key', mode: 0o600 }] } };
  t.same(volumeFiles(pod, withItems, { key: Buffer.from('v') }).map((f) => [f.path, f.mode]), [['sub/peer.key', 0o600]]);
  const escaping = { ...withItems, source: { ...withItems.source, items: [{ key: 'key', path: '../x' }] } };
  t.throws(() => volumeFiles(pod, escaping, { key: Buffer.from('v') }), { message: /must be relative and must not contain '\.\.'/ });

  const hostPath: V1Pod = { ...pod, spec: { ...pod.spec!, volumes: [{ name: 'data', hostPath: { path: '/srv/cifar', type: 'Directory' } }] } };
  const hp = planMounts(hostPath, { name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }, { name: 'data', mountPath: '/train', subPath: 'train' }] }, '/s');
  t.same(hp.map((m) => [m.mountPath, m.hostDir, m.readOnly]), [['/data', '/srv/cifar', true], ['/train', '/srv/cifar/train', false]], 'hostPath: the host path itself, subPath below it');
  const relative: V1Pod = { ...pod, spec: { ...pod.spec!, volumes: [{ name: 'data', hostPath: { path: 'srv' } }] } };
  t.throws(() => planMounts(relative, { name: 'c', volumeMounts: [{ name: 'data', mountPath: '/d' }] }, '/s'), { message: /hostPath\.path "srv" must be absolute/, permanent: true });
  const nfs: V1Pod = { ...pod, spec: { ...pod.spec!, volumes: [{ name: 'scratch', nfs: { server: 'x', path: '/' } }] } };
  t.throws(() => planMounts(nfs, { name: 'c', volumeMounts: [{ name: 'scratch', mountPath: TMP }] }, '/s'), { message: /volume "scratch": only emptyDir, hostPath, persistentVolumeClaim, secret and configMap volumes are supported/, permanent: true });
  t.throws(() => planMounts(pod, { name: 'c', volumeMounts: [{ name: 'scratch', mountPath: 'tmp' }] }, '/s'), { message: /must be an absolute path/ });
});

t.test('container process: the command and env exactly as the pod gives them, plus the runtime defaults', async (t) => {
  const pod = trainerPod();
  const c = pod.spec!.containers[0];
  const env = resolveEnv(pod, c, facts, { secrets: new Map([['s3', { id: 'AKIA' }]]), configMaps: new Map() });
  const input = {
    pod,
    container: c,
    env,
    commands: new Map([['cifar-trainer', { nodeArgs: ['--import', 'file:///tsx.mjs', '/repo/trainer/cli/main.ts'] }]]),
    execPath: '/usr/bin/node',
    dnsHookUrl: 'file:///repo/dns-hook.mjs',
    imageWorkingDir: '/repo',
  };
  const p = buildContainerProcess(input);
  t.same(p.command, ['/usr/bin/node', '--import', 'file:///repo/dns-hook.mjs', '--import', 'file:///tsx.mjs', '/repo/trainer/cli/main.ts', 'train', '--epochs', '2', `--checkpoint=${TMP}/ckpt`], 'arguments are not rewritten');
  t.equal(p.workingDir, '/repo', "the image's working directory");
  t.equal(p.env.CIFAR_PEER_SECRET_FILE, '/var/run/cifar-operator/peer/key', 'env values are not rewritten');
  t.equal(p.env.PATH, DEFAULT_PATH);
  t.equal(p.env.HOSTNAME, 'mnist-worker-0');
  t.equal(p.hostname, 'mnist-worker-0');
  t.equal(p.terminationMessagePath, '/dev/termination-log', 'the default terminationMessagePath');
  t.same(Object.keys(p.env).filter((k) => !(k in env) && !['PATH', 'HOME', 'HOSTNAME'].includes(k)), [], 'nothing but the runtime defaults is added');
  t.equal(buildContainerProcess({ ...input, container: { ...c, workingDir: '/work' } }).workingDir, '/work');
  t.equal(buildContainerProcess({ ...input, container: { ...c, env: [{ name: 'PATH', value: '/opt/bin' }] }, env: { PATH: '/opt/bin' } }).env.PATH, '/opt/bin', 'the container env wins');

  const unknown = { ...input, container: { ...c, command: ['python', 'train.py'] } };
  t.throws(() => buildContainerProcess(unknown), { name: 'PodConfigError', reason: 'ErrImageNeverPull', permanent: true, message: 'pod ml/mnist-worker-0: local cluster: unknown command python (known: cifar-trainer)' });
  const noCommand = { ...input, container: { ...c, command: undefined } };
  t.throws(() => buildContainerProcess(noCommand), { reason: 'ErrImageNeverPull', message: /container trainer has no command/ });
});

t.test('kubelet-managed files: /etc/hosts with the pod FQDN, resolv.conf with the namespace search list', async (t) => {
  const pod = trainerPod();
  const hosts = etcHosts(pod, '127.0.0.9');
  t.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  t.match(hosts, /\n127\.0\.0\.9\tmnist-worker-0\.mnist-workers\.ml\.svc\.cluster\.local\tmnist-worker-0\n$/);
  t.match(etcHosts({ metadata: { name: 'solo' } }, '127.0.0.8'), /\n127\.0\.0\.8\tsolo\n$/);
  t.equal(resolvConf(pod, '# host\nnameserver 10.0.0.2\nsearch corp.example\n'), 'search ml.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.0.0.2\noptions ndots:5\n');
});

t.test('sandbox: mounts ordered parents first, read-only binds, masks, user namespaces', async (t) => {
  const input: SandboxInput = {
    rootDir: '/state/p/rootfs',
    errorFile: '/state/p/sandbox-error',
    hostname: 'w-0',
    imageDirs: ['/usr', '/etc', CLONE],
    imageLinks: [{ link: '/bin', target: 'usr/bin' }, { link: '/lib64', target: 'usr/lib64' }, { link: '/odd', target: 'usr/other' }],
    mounts: [
      { source: '/state/p/volumes/peer', target: '/var/run/cifar-operator/peer', readOnly: true },
      { source: '/state/p/volumes/scratch', target: TMP, readOnly: false },
      { source: '/state/p/termination-log', target: '/dev/termination-log', readOnly: false, file: true },
    ],
    masks: [`${CLONE}/.local/state`],
    readOnlyRoot: true,
    workingDir: CLONE,
    command: ['/usr/bin/node', "it's", `--x=${TMP}/a b`],
    env: { PATH: '/usr/bin', MULTI: 'a\nb' },
    userNamespace: false,
  };
  t.same(orderedMounts(input).map((m) => m.target), ['/usr', '/etc', TMP, CLONE, '/dev/termination-log', '/var/run/cifar-operator/peer'], 'a checkout under the temporary directory is mounted after the volume mounted there');
  const script = sandboxScript(input);
  t.match(script, `mount -t tmpfs -o mode=0755 pod-root "$R"`);
  t.match(script, `mount --rbind -o ro '/usr' "$R"'/usr'`);
  t.match(script, `mount --rbind '/state/p/volumes/scratch' "$R"'${TMP}'`);
  t.match(script, `mount --bind '/state/p/termination-log' "$R"'/dev/termination-log'`);
  t.match(script, `(cd "$R" && ln -s -t . 'usr/bin' 'usr/lib64')`);
  t.match(script, `ln -s 'usr/other' "$R"'/odd'`);
  t.match(script, `mount -t tmpfs -o ro,mode=0755 masked "$R"'${CLONE}/.local/state'`);
  t.match(script, `mount -o remount,bind,ro "$R"`);
  t.ok(script.indexOf(`${CLONE}' 2>`) > script.indexOf(`'${TMP}' 2>`), 'the checkout bind comes after the bind of the volume that holds it');
  t.match(script, `exec env -i 'PATH=/usr/bin' 'MULTI=a\nb' unshare --root="$R" --wd='${CLONE}' -- '/usr/bin/node' 'it'\\''s' '--x=${TMP}/a b'`, 'exactly the pod env, quoted; arguments as given');
  t.notMatch(sandboxScript({ ...input, readOnlyRoot: false }), 'remount,bind,ro "$R" ');
  t.equal(shellQuote("a'b"), `'a'\\''b'`);
  t.same(unshareArgs(false, '/s.sh'), ['--mount', '--uts', '--propagation', 'private', '--', '/bin/sh', '/s.sh']);
  t.same(unshareArgs(true, '/s.sh').slice(0, 2), ['--user', '--map-root-user'], 'unprivileged: a user namespace maps the agent user to root');
});

t.test('CRI logs: records per line and stream, long lines split with P, kubectl logs options', async (t) => {
  t.match(criTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678), 90), '2026-01-02T03:04:05.678000090Z');
  const records: LogRecord[] = [];
  let clock = 0;
  const split = new RecordSplitter('stdout', (r) => records.push(r), () => criTime(Date.UTC(2026, 0, 1, 0, 0, clock++)));
  split.write('one\ntw');
  split.write('o\nthr');
  t.same(records.map((r) => r.content), ['one', 'two'], 'an unterminated tail waits for the rest');
  split.flush();
  t.same(records.map((r) => [r.content, r.partial]), [['one', false], ['two', false], ['thr', false]], 'the end of the stream closes the last line');
  const long: LogRecord[] = [];
  const big = new RecordSplitter('stderr', (r) => long.push(r));
  big.write(`${'x'.repeat(MAX_RECORD_BYTES + 10)}\n`);
  t.same(long.map((r) => [r.content.length, r.partial]), [[MAX_RECORD_BYTES, true], [10, false]], 'a line over 16 KiB is split, P then F');
  const text = `${[...records, ...long].map(formatRecord).join('')}not a record\n`;
  t.same(parseLog(text), [...records, ...long], 'records round-trip; a line that is not a record is skipped');
  t.equal(parseRecord('not a record'), undefined);
  t.same(parseRecord('2026-01-01T00:00:00.000000000Z stdout F '), { time: '2026-01-01T00:00:00.000000000Z', stream: 'stdout', partial: false, content: '' }, 'an empty line');
  const all = [...records, ...long];
  t.equal(renderRecords(records, {}), 'one\ntwo\nthr\n');
  t.equal(renderRecords(all, { tailLines: 2 }), `thr\n${'x'.repeat(MAX_RECORD_BYTES + 10)}\n`, 'tailLines counts a P..F run as one line');
  t.equal(renderRecords(records, { sinceMs: Date.UTC(2026, 0, 1, 0, 0, 1) }), 'two\nthr\n');
  t.equal(renderRecords(records.slice(0, 1), { timestamps: true }), '2026-01-01T00:00:00.000000000Z one\n');
});

t.test('termination message: the file, else the log tail on failure with FallbackToLogsOnError', async (t) => {
  t.equal(terminationMessage({ policy: 'FallbackToLogsOnError', exitCode: 75, file: 'peer lost', logTail: 'x' }), 'peer lost');
  t.equal(terminationMessage({ policy: 'FallbackToLogsOnError', exitCode: 1, file: '', logTail: 'a\nboom\n' }), 'a\nboom');
  t.equal(terminationMessage({ policy: 'File', exitCode: 1, file: '', logTail: 'boom' }), '');
  t.equal(terminationMessage({ policy: 'FallbackToLogsOnError', exitCode: 0, file: '', logTail: 'fine' }), '', 'no fallback on success');
  const many = Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n');
  const tail = logTail(many);
  t.equal(tail.split('\n').length, 80);
  t.match(tail, /line 199$/);
  t.ok(Buffer.byteLength(logTail('x'.repeat(5000))) <= 2048);
  t.equal(tailBytes('ééé', 3), 'é', 'never splits a UTF-8 character');
  t.equal(Buffer.byteLength(terminationMessage({ policy: 'File', exitCode: 1, file: 'y'.repeat(10_000), logTail: '' })), 4096);
});

t.test('pod status: phases, conditions and terminated state', async (t) => {
  const base = { containerName: 'trainer', image: 'img', scheduledAt: '2024-01-01T00:00:00.000Z', hostIP: '127.0.0.1', podIP: '127.0.0.9' };
  const pending = podStatus({ ...base, state: { kind: 'waiting', reason: 'ContainerCreating' } });
  t.equal(pending.phase, 'Pending');
  t.equal(pending.podIP, '127.0.0.9');
  t.same(pending.podIPs, [{ ip: '127.0.0.9' }]);
  t.same(pending.conditions.map((c) => [c.type, c.status]), [
    ['PodScheduled', 'True'],
    ['Initialized', 'True'],
    ['ContainersReady', 'False'],
    ['Ready', 'False'],
  ]);
  t.same(pending.containerStatuses[0].state, { waiting: { reason: 'ContainerCreating' } });
  const running = podStatus({ ...base, state: { kind: 'running', startedAt: '2024-01-01T00:00:01.000Z' } });
  t.equal(running.phase, 'Running');
  t.equal(running.containerStatuses[0].ready, true);
  t.same(running.conditions.find((c) => c.type === 'Ready'), { type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:01.000Z' });
  const times = { startedAt: 'a', finishedAt: 'b' };
  const signals = { SIGTERM: 15, SIGKILL: 9 };
  t.same(terminatedState({ code: 0, signal: null }, signals, times, ''), { kind: 'terminated', exitCode: 0, reason: 'Completed', message: '', startedAt: 'a', finishedAt: 'b' });
  t.same(terminatedState({ code: null, signal: 'SIGTERM' }, signals, times, 'bye'), { kind: 'terminated', exitCode: 143, signal: 15, reason: 'Error', message: 'bye', startedAt: 'a', finishedAt: 'b' });
  const failed = podStatus({ ...base, state: terminatedState({ code: 75, signal: null }, signals, times, 'peer lost') });
  t.equal(failed.phase, 'Failed');
  t.same(failed.containerStatuses[0].state.terminated, { exitCode: 75, reason: 'Error', message: 'peer lost', startedAt: 'a', finishedAt: 'b' });
  t.equal(podStatus({ ...base, state: terminatedState({ code: 0, signal: null }, signals, times, '') }).phase, 'Succeeded');
  const lost = nodeLostStatus('trainer', 'now');
  t.equal(lost.phase, 'Failed');
  t.equal(lost.reason, 'NodeLost');
});

t.test('loopback IP pool: unique addresses inside 127/8, reuse only after release', async (t) => {
  const pool = new LoopbackIpPool({ first: '127.0.0.254', last: '127.0.1.2' });
  const a = pool.allocate('ns/a');
  const b = pool.allocate('ns/b');
  t.same([a, b], ['127.0.0.254', '127.0.1.1'], '.255 and .0 are skipped');
  const c = pool.allocate('ns/c');
  t.equal(c, '127.0.1.2');
  t.throws(() => pool.allocate('ns/d'), { message: /^pod ns\/d: no free pod IP left in 127.0.0.254-127.0.1.2 \(3 in use\)$/ });
  pool.release(b);
  t.equal(pool.allocate('ns/d'), '127.0.1.1');
  t.throws(() => new LoopbackIpPool({ first: '10.0.0.1', last: '10.0.0.9' }), { message: /must lie inside 127.0.0.0\/8/ });
});

t.test('hosts map: headless Service and pod hostname records, as cluster DNS builds them', async (t) => {
  const ready = [{ type: 'Ready', status: 'True' }];
  const pod = (name: string, ip: string, extra: Partial<V1Pod['status']> = {}): V1Pod => ({
    metadata: { name, namespace: 'ml', labels: { job: 'mnist' } },
    spec: { hostname: name, subdomain: 'mnist-workers', containers: [] },
    status: { phase: 'Running', podIP: ip, conditions: ready, ...extra },
  });
  const headless: V1Service = { metadata: { name: 'mnist-workers', namespace: 'ml' }, spec: { clusterIP: 'None', selector: { job: 'mnist' }, publishNotReadyAddresses: true } };
  const pods = [pod('w-0', '127.0.0.3'), pod('w-1', '127.0.0.2', { conditions: [] }), pod('w-2', '127.0.0.4', { phase: 'Failed' })];
  t.same(hostsMap(pods, [headless]), {
    'mnist-workers.ml.svc.cluster.local': ['127.0.0.2', '127.0.0.3'],
    'w-0.mnist-workers.ml.svc.cluster.local': ['127.0.0.3'],
    'w-1.mnist-workers.ml.svc.cluster.local': ['127.0.0.2'],
  });
  const strict = { ...headless, spec: { ...headless.spec, publishNotReadyAddresses: false } };
  t.same(Object.keys(hostsMap(pods, [strict])).sort(), ['mnist-workers.ml.svc.cluster.local', 'w-0.mnist-workers.ml.svc.cluster.local'], 'not-ready pods are left out');
  t.same(hostsMap(pods, []), {}, 'no Service, no pod hostname record (as in a cluster)');
  const otherNs = { ...headless, metadata: { name: 'mnist-workers', namespace: 'other' } };
  t.same(hostsMap(pods, [otherNs]), {});
});

t.test('hosts map: a Service without a selector resolves to its ready EndpointSlice addresses', async (t) => {
  const svc: V1Service = { metadata: { name: 'local-s3', namespace: 'default' }, spec: { ports: [{ port: 4568 }] } };
  const slice = (name: string, service: string, endpoints: V1EndpointSlice['endpoints'], namespace = 'default'): V1EndpointSlice => ({
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints,
  });
  const slices = [
    slice('local-s3-a', 'local-s3', [{ addresses: ['127.0.0.9'] }, { addresses: ['127.0.0.7'], conditions: { ready: false } }]),
    slice('local-s3-b', 'local-s3', [{ addresses: ['127.0.0.8'], conditions: { ready: true } }]),
    slice('other', 'other-svc', [{ addresses: ['127.0.0.5'] }]),
    slice('same-name-elsewhere', 'local-s3', [{ addresses: ['127.0.0.6'] }], 'ml'),
  ];
  t.same(hostsMap([], [svc], slices), { 'local-s3.default.svc.cluster.local': ['127.0.0.8', '127.0.0.9'] }, 'ready endpoints of its own slices, sorted');
  t.same(hostsMap([], [svc], []), {}, 'no slice, no record');
  t.same(hostsMap([], [], slices), {}, 'no Service, no record');
});
