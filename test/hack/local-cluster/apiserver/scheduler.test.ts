/**
 * Fidelity of the local cluster's scheduler, through @kubernetes/client-node and the real
 * kubectl. Each test names the kube-scheduler behaviour it reproduces (plugins under
 * pkg/scheduler/framework/plugins; the message of pkg/scheduler/framework/types.go
 * FitError.Error() with the DefaultPreemption post-filter's; the binding of
 * pkg/registry/core/pod/storage BindingREST). Nodes are created through the API here,
 * as kubelets register them.
 */
import t from 'tap';
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Affinity, type V1Node, type V1Pod, type V1Toleration } from '@kubernetes/client-node';
import { milliValue, wholeValue } from '../../../../hack/local-cluster/apiserver/quantity.js';
import { unschedulableMessage } from '../../../../hack/local-cluster/apiserver/scheduling.js';
import type { ApiServer } from '../../../../hack/local-cluster/apiserver/server.js';
import { eventually, findKubectl, kubeConfigFor, kubectlFor, NO_KUBECTL, startTestApiServer } from '../../../helpers/apiserver.js';

const namespace = 'default';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function addNode(core: CoreV1Api, name: string, allocatable: Record<string, string>, opts: { gpuTaint?: boolean; labels?: Record<string, string>; ready?: boolean } = {}): Promise<void> {
  const node: V1Node = { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } }, spec: opts.gpuTaint ? { taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] } : {} };
  await core.createNode({ body: node });
  const ready = opts.ready ?? true;
  await core.patchNodeStatus({ name, body: { status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'KubeletReady' : 'KubeletNotReady' }] } } }, MERGE);
}

function pod(name: string, resources: { requests?: Record<string, string>; limits?: Record<string, string> } = {}, extra: { tolerations?: V1Toleration[]; nodeSelector?: Record<string, string>; affinity?: V1Affinity } = {}): V1Pod {
  return { metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', resources }], ...extra } };
}

async function scheduled(server: ApiServer, core: CoreV1Api, name: string): Promise<V1Pod> {
  await server.schedulerIdle();
  let p: V1Pod | undefined;
  await eventually(async () => {
    p = await core.readNamespacedPod({ namespace, name });
    return p.spec?.nodeName !== undefined || p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') === true;
  }, 5_000);
  return p as V1Pod;
}

function condition(p: V1Pod): { status?: string; reason?: string; message?: string } | undefined {
  return p.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

t.test('quantities and the FitError message format, pure', async (t) => {
  t.equal(milliValue('500m'), 500);
  t.equal(milliValue('2'), 2000);
  t.equal(milliValue('0.1'), 100);
  t.equal(wholeValue('1Gi'), 2 ** 30);
  t.equal(wholeValue('1.5'), 2, 'Value() rounds up');
  t.equal(wholeValue('1e3'), 1000);
  t.throws(() => wholeValue('2 cores'), /quantities must match/);
  t.equal(
    unschedulableMessage([{ fits: false, reasons: ['node(s) had untolerated taint {nvidia.com/gpu: }'], resolvable: false }, { fits: false, reasons: ['Insufficient memory', 'Insufficient cpu'], resolvable: true }, { fits: false, reasons: ['Insufficient cpu'], resolvable: true }]),
    '0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {nvidia.com/gpu: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    'reasons counted over nodes and sorted as strings, then the preemption summary',
  );
});

t.test('scheduling filters and messages (kube-scheduler default plugins)', async (t) => {
  const server = await startTestApiServer(t, { scheduler: true });
  const core = kubeConfigFor(server.url).makeApiClient(CoreV1Api);

  await t.test('no nodes: "no nodes available to schedule pods"', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('early') });
    const p = await scheduled(server, core, 'early');
    t.same(condition(p), { ...condition(p), status: 'False', reason: 'Unschedulable', message: 'no nodes available to schedule pods' });
    t.equal(p.status?.phase, 'Pending');
  });

  await t.test('a pod is bound through pods/binding when a node appears (PodScheduled=True)', async (t) => {
    await addNode(core, 'cpu-node', { cpu: '2', memory: '4Gi', pods: '110' });
    await server.schedulerIdle();
    const p = await scheduled(server, core, 'early');
    t.equal(p.spec?.nodeName, 'cpu-node');
    t.equal(condition(p)?.status, 'True');
  });

  await t.test('NodeResourcesFit: more nvidia.com/gpu than any node has', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('gpu-hungry', { limits: { 'nvidia.com/gpu': '1' } }) });
    const p = await scheduled(server, core, 'gpu-hungry');
    t.equal(p.spec?.nodeName, undefined);
    t.same(condition(p), { ...condition(p), status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.' });
    const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=gpu-hungry' });
    t.same(events.items.map((e) => [e.type, e.reason, e.source?.component]), [['Warning', 'FailedScheduling', 'default-scheduler']], 'a FailedScheduling event');
  });

  await t.test('TaintToleration and NodeResourcesFit together, several nodes', async (t) => {
    await addNode(core, 'gpu-a', { cpu: '8', memory: '32Gi', pods: '110', 'nvidia.com/gpu': '2' }, { gpuTaint: true, labels: { accelerator: 'a100' } });
    await addNode(core, 'gpu-b', { cpu: '8', memory: '32Gi', pods: '110', 'nvidia.com/gpu': '2' }, { gpuTaint: true, labels: { accelerator: 'a100' } });
    await core.createNamespacedPod({ namespace, body: pod('big-cpu', { requests: { cpu: '3' } }) });
    const p = await scheduled(server, core, 'big-cpu');
    t.equal(condition(p)?.message, '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {nvidia.com/gpu: }. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.');
    await server.schedulerIdle();
    const gpu = await scheduled(server, core, 'gpu-hungry');
    t.equal(gpu.spec?.nodeName, undefined, 'without a toleration the GPU pod still fits nowhere');
  });

  await t.test('a toleration and a matching nodeSelector place the pod on a GPU node', async (t) => {
    const tol = [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }];
    await core.createNamespacedPod({ namespace, body: pod('trainer', { limits: { 'nvidia.com/gpu': '2' } }, { tolerations: tol, nodeSelector: { accelerator: 'a100' } }) });
    const p = await scheduled(server, core, 'trainer');
    t.match(p.spec?.nodeName, /^gpu-[ab]$/);
    await core.createNamespacedPod({ namespace, body: pod('wrong-accel', {}, { tolerations: tol, nodeSelector: { accelerator: 'h100' } }) });
    const w = await scheduled(server, core, 'wrong-accel');
    t.equal(condition(w)?.message, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  });

  await t.test('required node affinity (In, NotIn, matchFields metadata.name)', async (t) => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['gpu-b'] }] }] } } };
    await core.createNamespacedPod({ namespace, body: pod('pinned', {}, { tolerations: [{ operator: 'Exists' }], affinity }) });
    t.equal((await scheduled(server, core, 'pinned')).spec?.nodeName, 'gpu-b');
    const notIn = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'accelerator', operator: 'NotIn', values: ['a100'] }] }] } } };
    await core.createNamespacedPod({ namespace, body: pod('not-a100', {}, { tolerations: [{ operator: 'Exists' }], affinity: notIn }) });
    t.equal((await scheduled(server, core, 'not-a100')).spec?.nodeName, 'cpu-node', 'NotIn matches nodes without the label');
  });

  await t.test('a pod that does not fit is bound when capacity frees up: finished pods do not count, Terminating ones do', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('hog', { requests: { cpu: '1500m' } }) });
    t.equal((await scheduled(server, core, 'hog')).spec?.nodeName, 'cpu-node');
    await core.createNamespacedPod({ namespace, body: pod('waiter', { requests: { cpu: '1' } }) });
    t.match(condition(await scheduled(server, core, 'waiter'))?.message, /^0\/3 nodes are available: 1 Insufficient cpu, 2 node\(s\) had untolerated taint/);
    await core.deleteNamespacedPod({ namespace, name: 'hog' });
    await server.schedulerIdle();
    const terminating = await core.readNamespacedPod({ namespace, name: 'hog' });
    t.ok(terminating.metadata?.deletionTimestamp, 'hog is Terminating');
    t.equal((await core.readNamespacedPod({ namespace, name: 'waiter' })).spec?.nodeName, undefined, 'a Terminating pod still holds its requests');
    await core.patchNamespacedPodStatus({ namespace, name: 'hog', body: { status: { phase: 'Failed' } } }, MERGE);
    t.ok(await eventually(async () => (await core.readNamespacedPod({ namespace, name: 'waiter' })).spec?.nodeName === 'cpu-node', 5_000), 'bound once the other pod finished');
  });

  await t.test('pods/binding: a bound pod is not rebound (409), the target must be named (422)', async (t) => {
    const bind = (name: string, target: object) => fetch(`${server.url}/api/v1/namespaces/default/pods/${name}/binding`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name }, target }), signal: AbortSignal.timeout(5_000) });
    const again = await bind('waiter', { kind: 'Node', name: 'gpu-a' });
    t.equal(again.status, 409);
    t.match(((await again.json()) as { message: string }).message, 'Operation cannot be fulfilled on pods/binding "waiter": pod waiter is already assigned to node "cpu-node"');
    const unnamed = await bind('gpu-hungry', { kind: 'Node' });
    t.equal(unnamed.status, 422);
    await core.createNamespacedPod({ namespace, body: { metadata: { name: 'custom' }, spec: { schedulerName: 'my-scheduler', containers: [{ name: 'c', image: 'i' }] } } });
    await server.schedulerIdle();
    t.equal((await core.readNamespacedPod({ namespace, name: 'custom' })).spec?.nodeName, undefined, 'pods for another scheduler are left alone');
    const ok = await bind('custom', { kind: 'Node', name: 'gpu-a' });
    t.equal(ok.status, 201, 'a custom scheduler binds through the same subresource');
    t.equal((await core.readNamespacedPod({ namespace, name: 'custom' })).spec?.nodeName, 'gpu-a');
  });

  await t.test('a NotReady node gets node.kubernetes.io/not-ready:NoSchedule (TaintNodesByCondition)', async (t) => {
    await addNode(core, 'sick', { cpu: '64', memory: '64Gi', pods: '110' }, { ready: false });
    t.ok(await eventually(async () => ((await core.readNode({ name: 'sick' })).spec?.taints ?? []).some((x) => x.key === 'node.kubernetes.io/not-ready' && x.effect === 'NoSchedule'), 5_000), 'tainted');
    await core.createNamespacedPod({ namespace, body: pod('huge', { requests: { cpu: '32' } }) });
    t.match(condition(await scheduled(server, core, 'huge'))?.message, /1 node\(s\) had untolerated taint \{node\.kubernetes\.io\/not-ready: \}/);
    await core.patchNodeStatus({ name: 'sick', body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] } } }, MERGE);
    t.ok(await eventually(async () => (await core.readNamespacedPod({ namespace, name: 'huge' })).spec?.nodeName === 'sick', 5_000), 'scheduled once the node is Ready again');
  });
});

t.test('PersistentVolumeClaims: static binding (PV controller) and VolumeBinding PreFilter', async (t) => {
  const server = await startTestApiServer(t, { scheduler: true });
  const core = kubeConfigFor(server.url).makeApiClient(CoreV1Api);
  await addNode(core, 'n1', { cpu: '2', memory: '4Gi', pods: '110' });
  const withClaim = (name: string, claim: string): V1Pod => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] } });
  await core.createNamespacedPod({ namespace, body: withClaim('no-claim', 'missing') });
  t.equal(condition(await scheduled(server, core, 'no-claim'))?.message, '0/1 nodes are available: persistentvolumeclaim "missing" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
  const pv = (name: string, size: string, modes: string[], extra: object = {}) => core.createPersistentVolume({ body: { metadata: { name }, spec: { capacity: { storage: size }, accessModes: modes, hostPath: { path: `/srv/${name}` }, ...extra } } });
  await pv('too-small', '1Gi', ['ReadWriteMany']);
  await pv('wrong-mode', '10Gi', ['ReadWriteOnce']);
  await pv('other-class', '10Gi', ['ReadWriteMany'], { storageClassName: 'fast' });
  await pv('big', '100Gi', ['ReadWriteMany', 'ReadWriteOnce']);
  await pv('fits', '10Gi', ['ReadWriteMany']);
  await server.gcIdle();
  const claimBody = (name: string, size: string) => ({ metadata: { name }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: size } } } });
  await core.createNamespacedPersistentVolumeClaim({ namespace, body: claimBody('huge', '1Ti') });
  await core.createNamespacedPod({ namespace, body: withClaim('waits', 'huge') });
  t.equal(condition(await scheduled(server, core, 'waits'))?.message, '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
  await core.createNamespacedPersistentVolumeClaim({ namespace, body: claimBody('data', '5Gi') });
  await core.createNamespacedPod({ namespace, body: withClaim('claimed', 'data') });
  await server.gcIdle();
  t.ok(await eventually(async () => (await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' })).status?.phase === 'Bound', 5_000), 'the claim is bound');
  const claim = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
  t.equal(claim.spec?.volumeName, 'fits', 'the smallest volume of its class that has the access modes and the size');
  t.same(claim.status?.capacity, { storage: '10Gi' });
  const bound = await core.readPersistentVolume({ name: 'fits' });
  t.equal(bound.status?.phase, 'Bound');
  t.same([bound.spec?.claimRef?.namespace, bound.spec?.claimRef?.name, bound.spec?.claimRef?.uid], [namespace, 'data', claim.metadata?.uid]);
  t.equal((await core.readPersistentVolume({ name: 'big' })).status?.phase, 'Available');
  t.ok(await eventually(async () => (await core.readNamespacedPod({ namespace, name: 'claimed' })).spec?.nodeName === 'n1', 5_000), 'a pod with a bound claim is scheduled');
  await pv('huge-pv', '2Ti', ['ReadWriteMany']);
  t.ok(await eventually(async () => (await core.readNamespacedPod({ namespace, name: 'waits' })).spec?.nodeName === 'n1', 5_000), 'the waiting pod is scheduled once a volume binds its claim');
  await core.deleteNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
  await server.gcIdle();
  t.ok(await eventually(async () => (await core.readPersistentVolume({ name: 'fits' })).status?.phase === 'Released', 5_000), 'Retain: Released when its claim is deleted');
  const kubectlBin = findKubectl();
  if (kubectlBin) {
    const k = await kubectlFor(t, kubectlBin, server.url);
    const got = await k.run(['get', 'pv']);
    t.match(got.stdout, /^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE\n/);
    t.match(got.stdout, /\nfits\s+10Gi\s+RWX\s+Retain\s+Released\s+default\/data\s+/);
  }
});

t.test('a node whose kubelet stops renewing its Lease turns Unknown and unreachable (node lifecycle controller)', async (t) => {
  const server = await startTestApiServer(t, { scheduler: true, nodeMonitorGracePeriodMs: 400 });
  const core = kubeConfigFor(server.url).makeApiClient(CoreV1Api);
  await addNode(core, 'quiet', { cpu: '2', memory: '1Gi', pods: '10' });
  t.ok(await eventually(async () => (await core.readNode({ name: 'quiet' })).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown', 5_000), 'Ready=Unknown without heartbeats');
  const node = await core.readNode({ name: 'quiet' });
  t.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'NodeStatusUnknown');
  t.ok(await eventually(async () => ((await core.readNode({ name: 'quiet' })).spec?.taints ?? []).some((x) => x.key === 'node.kubernetes.io/unreachable'), 5_000), 'unreachable taint');
  const err = await core.readNamespacedPod({ namespace, name: 'none' }).catch((e: unknown) => e);
  t.ok(err instanceof ApiException && err.code === 404);
});

t.test('kubectl: get nodes, describe an unschedulable pod', { skip: findKubectl() ? false : NO_KUBECTL }, async (t) => {
  const server = await startTestApiServer(t, { scheduler: true });
  const core = kubeConfigFor(server.url).makeApiClient(CoreV1Api);
  const k = await kubectlFor(t, findKubectl()!, server.url);
  await addNode(core, 'n1', { cpu: '2', memory: '4Gi', pods: '110' });
  const nodes = await k.run(['get', 'nodes']);
  t.equal(nodes.code, 0, nodes.stderr);
  t.match(nodes.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nn1\s+Ready\s+<none>\s+\d+s\s+\n?/);
  const manifest = await k.file('gpu.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: wants-gpu\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n    resources:\n      limits:\n        nvidia.com/gpu: 4\n');
  t.equal((await k.run(['apply', '-f', manifest])).code, 0);
  await server.schedulerIdle();
  t.ok(await eventually(async () => /Pending/.test((await k.run(['get', 'pod', 'wants-gpu'])).stdout), 5_000));
  const describe = await k.run(['describe', 'pod', 'wants-gpu']);
  t.match(describe.stdout, /PodScheduled\s+False/);
  t.match(describe.stdout, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu\. preemption: 0\/1 nodes are available: 1 No preemption victims found for incoming pod\./);
  const reason = await k.run(['get', 'pod', 'wants-gpu', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}']);
  t.equal(reason.stdout, 'Unschedulable');
});
