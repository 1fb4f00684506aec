/**
 * Fidelity of deletion in the local API server, through @kubernetes/client-node and the
 * real kubectl. Each test names the Kubernetes behaviour it reproduces:
 * - graceful pod deletion: staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go
 *   (BeforeDelete) and pkg/registry/core/pod/strategy.go (CheckGracefulDelete);
 * - finalizers and GC finalizers: staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go;
 * - garbage collection: https://kubernetes.io/docs/concepts/architecture/garbage-collection/
 *   and pkg/controller/garbagecollector;
 * - namespace termination: pkg/controller/namespace and the NamespaceLifecycle admission plugin.
 * No node agent runs here: the tests play the kubelet (DELETE with grace 0) themselves.
 */
import t from 'tap';
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import type { ApiServer } from '../../../../hack/local-cluster/apiserver/server.js';
import { eventually, findKubectl, kubeConfigFor, kubectlFor, NO_KUBECTL, startTestApiServer } from '../../../helpers/apiserver.js';

const namespace = 'default';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function pod(name: string, extra: { nodeName?: string; grace?: number; finalizers?: string[]; owners?: V1OwnerReference[] } = {}): V1Pod {
  return {
    metadata: { name, ...(extra.finalizers ? { finalizers: extra.finalizers } : {}), ...(extra.owners ? { ownerReferences: extra.owners } : {}) },
    spec: { ...(extra.nodeName ? { nodeName: extra.nodeName } : {}), ...(extra.grace === undefined ? {} : { terminationGracePeriodSeconds: extra.grace }), containers: [{ name: 'c', image: 'busybox:1.36' }] },
  };
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

async function exists(core: CoreV1Api, name: string): Promise<boolean> {
  return (await status(core.readNamespacedPod({ namespace, name }))) === 200;
}

async function settle(server: ApiServer): Promise<void> {
  await server.gcIdle();
}

t.test('graceful pod deletion (rest/delete.go BeforeDelete, pod strategy CheckGracefulDelete)', async (t) => {
  const server = await startTestApiServer(t);
  const core = kubeConfigFor(server.url).makeApiClient(CoreV1Api);

  await t.test('a bound pod stays Terminating with deletionTimestamp = now + spec.terminationGracePeriodSeconds', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('bound', { nodeName: 'node-a', grace: 45 }) });
    const before = Date.now();
    const res = await core.deleteNamespacedPod({ namespace, name: 'bound' });
    t.equal(res.metadata?.deletionGracePeriodSeconds, 45);
    const at = res.metadata?.deletionTimestamp ? new Date(res.metadata.deletionTimestamp).getTime() : 0;
    t.ok(at >= Math.floor(before / 1000) * 1000 + 44_000 && at <= Date.now() + 46_000, `deletionTimestamp is in ~45 s (${String(res.metadata?.deletionTimestamp)})`);
    t.ok(await exists(core, 'bound'), 'the pod is still there: only its kubelet removes it');
  });

  await t.test("DeleteOptions.gracePeriodSeconds overrides the pod's; a second delete may only shorten it", async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('short', { nodeName: 'node-a', grace: 30 }) });
    const first = await core.deleteNamespacedPod({ namespace, name: 'short', gracePeriodSeconds: 20 });
    t.equal(first.metadata?.deletionGracePeriodSeconds, 20);
    const longer = await core.deleteNamespacedPod({ namespace, name: 'short', gracePeriodSeconds: 60 });
    t.equal(longer.metadata?.deletionGracePeriodSeconds, 20, 'a longer period is ignored (graceful deletion already pending)');
    const shorter = await core.deleteNamespacedPod({ namespace, name: 'short', gracePeriodSeconds: 5 });
    t.equal(shorter.metadata?.deletionGracePeriodSeconds, 5, 'a shorter one moves the deletion forward');
    t.ok(await exists(core, 'short'));
  });

  await t.test('the kubelet removes a Terminating pod with grace 0 and a uid precondition', async (t) => {
    const current = await core.readNamespacedPod({ namespace, name: 'bound' });
    const stale = await status(core.deleteNamespacedPod({ namespace, name: 'bound', body: { gracePeriodSeconds: 0, preconditions: { uid: 'not-the-uid' } } }));
    t.equal(stale, 409, 'a wrong uid precondition is a Conflict');
    await core.deleteNamespacedPod({ namespace, name: 'bound', body: { gracePeriodSeconds: 0, preconditions: { uid: current.metadata!.uid! } } });
    t.notOk(await exists(core, 'bound'), 'gone');
  });

  await t.test('unbound pods and finished pods are deleted at once', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('unbound', { grace: 30 }) });
    await core.deleteNamespacedPod({ namespace, name: 'unbound' });
    t.notOk(await exists(core, 'unbound'), 'no spec.nodeName: deleted immediately');
    await core.createNamespacedPod({ namespace, body: pod('done', { nodeName: 'node-a', grace: 30 }) });
    await core.patchNamespacedPodStatus({ namespace, name: 'done', body: { status: { phase: 'Succeeded' } } }, MERGE);
    await core.deleteNamespacedPod({ namespace, name: 'done' });
    t.notOk(await exists(core, 'done'), 'phase Succeeded: deleted immediately');
  });

  await t.test('gracePeriodSeconds 0 forces removal of a running pod (kubectl delete --force --grace-period=0)', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('forced', { nodeName: 'node-gone', grace: 30 }) });
    await core.deleteNamespacedPod({ namespace, name: 'forced' });
    t.ok(await exists(core, 'forced'), 'on a node nobody serves it stays Terminating');
    await core.deleteNamespacedPod({ namespace, name: 'forced', gracePeriodSeconds: 0 });
    t.notOk(await exists(core, 'forced'));
  });

  await t.test('a finalizer holds a pod the kubelet deleted with grace 0 until it is removed (ShouldDeleteDuringUpdate)', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('held', { nodeName: 'node-a', grace: 10, finalizers: ['example.com/hold'] }) });
    await core.deleteNamespacedPod({ namespace, name: 'held' });
    await core.deleteNamespacedPod({ namespace, name: 'held', gracePeriodSeconds: 0 });
    const held = await core.readNamespacedPod({ namespace, name: 'held' });
    t.equal(held.metadata?.deletionGracePeriodSeconds, 0);
    const added = await status(core.patchNamespacedPod({ namespace, name: 'held', body: { metadata: { finalizers: ['example.com/hold', 'example.com/new'] } } }, MERGE));
    t.equal(added, 422, 'no new finalizers on an object being deleted');
    await core.patchNamespacedPod({ namespace, name: 'held', body: { metadata: { finalizers: null } } }, MERGE);
    t.notOk(await exists(core, 'held'), 'removing the last finalizer removes it');
  });

  await t.test('removing the finalizer of a pod still in its grace period does not remove it', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('graceful-fin', { nodeName: 'node-a', grace: 30, finalizers: ['example.com/hold'] }) });
    await core.deleteNamespacedPod({ namespace, name: 'graceful-fin' });
    await core.patchNamespacedPod({ namespace, name: 'graceful-fin', body: { metadata: { finalizers: null } } }, MERGE);
    t.ok(await exists(core, 'graceful-fin'), 'deletionGracePeriodSeconds 30: the kubelet still has to remove it');
  });
});

t.test('finalizers and garbage collection (store.go, garbage collector)', async (t) => {
  const server = await startTestApiServer(t);
  const core = kubeConfigFor(server.url).makeApiClient(CoreV1Api);
  const cm = async (name: string, meta: object = {}) => core.createNamespacedConfigMap({ namespace, body: { metadata: { name, ...meta } } });
  const owner = (o: { metadata?: { name?: string; uid?: string } }, block = false) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid!, ...(block ? { blockOwnerDeletion: true } : {}) });
  const cmExists = async (name: string) => (await status(core.readNamespacedConfigMap({ namespace, name }))) === 200;

  await t.test('any object with a finalizer gets deletionTimestamp and stays until the finalizer goes', async (t) => {
    await cm('fin', { finalizers: ['example.com/hold'] });
    await core.deleteNamespacedConfigMap({ namespace, name: 'fin' });
    const held = await core.readNamespacedConfigMap({ namespace, name: 'fin' });
    t.ok(held.metadata?.deletionTimestamp, 'deletionTimestamp set');
    t.equal(held.metadata?.deletionGracePeriodSeconds, 0, 'grace period 0 (markAsDeleting)');
    await core.patchNamespacedConfigMap({ namespace, name: 'fin', body: { metadata: { finalizers: [] } } }, MERGE);
    t.notOk(await cmExists('fin'));
  });

  await t.test('Background: the owner goes at once, then its dependents, cascading', async (t) => {
    const o = await cm('bg-owner');
    const child = await cm('bg-child', { ownerReferences: [owner(o)] });
    await cm('bg-grandchild', { ownerReferences: [owner(child)] });
    const other = await cm('bg-other-owner');
    await cm('bg-shared', { ownerReferences: [owner(o), owner(other)] });
    await core.deleteNamespacedConfigMap({ namespace, name: 'bg-owner', propagationPolicy: 'Background' });
    t.notOk(await cmExists('bg-owner'), 'the owner is removed immediately');
    await settle(server);
    t.ok(await eventually(async () => !(await cmExists('bg-child')) && !(await cmExists('bg-grandchild')), 5_000), 'dependents collected, cascading');
    const shared = await core.readNamespacedConfigMap({ namespace, name: 'bg-shared' });
    t.same(shared.metadata?.ownerReferences?.map((r) => r.name), ['bg-other-owner'], 'a dependent with a live owner stays; the dangling reference is removed');
  });

  await t.test('Foreground: the owner waits (foregroundDeletion) for dependents that block it', async (t) => {
    const o = await cm('fg-owner');
    await core.createNamespacedPod({ namespace, body: pod('fg-pod', { nodeName: 'node-a', grace: 30, owners: [owner(o, true)] }) });
    await cm('fg-cm', { ownerReferences: [owner(o)] });
    await core.deleteNamespacedConfigMap({ namespace, name: 'fg-owner', propagationPolicy: 'Foreground' });
    const waiting = await core.readNamespacedConfigMap({ namespace, name: 'fg-owner' });
    t.ok(waiting.metadata?.deletionTimestamp, 'the owner is being deleted');
    t.same(waiting.metadata?.finalizers, ['foregroundDeletion']);
    await settle(server);
    t.ok(await eventually(async () => !(await cmExists('fg-cm')), 5_000), 'a non-blocking dependent is deleted too');
    const p = await core.readNamespacedPod({ namespace, name: 'fg-pod' });
    t.ok(p.metadata?.deletionTimestamp, 'the blocking pod is Terminating (graceful)');
    t.ok(await cmExists('fg-owner'), 'the owner stays while a blocking dependent exists');
    await core.deleteNamespacedPod({ namespace, name: 'fg-pod', body: { gracePeriodSeconds: 0 } });
    await settle(server);
    t.ok(await eventually(async () => !(await cmExists('fg-owner')), 5_000), 'then the owner goes');
  });

  await t.test('Orphan: dependents lose the reference and stay; the orphan finalizer is removed', async (t) => {
    const o = await cm('or-owner');
    await cm('or-child', { ownerReferences: [owner(o)] });
    await core.deleteNamespacedConfigMap({ namespace, name: 'or-owner', propagationPolicy: 'Orphan' });
    await settle(server);
    t.ok(await eventually(async () => !(await cmExists('or-owner')), 5_000), 'the owner is gone');
    const child = await core.readNamespacedConfigMap({ namespace, name: 'or-child' });
    t.same(child.metadata?.ownerReferences ?? [], [], 'no reference left');
  });

  await t.test('an owner with a finalizer of its own keeps its dependents (they have a live owner)', async (t) => {
    const o = await cm('held-owner', { finalizers: ['example.com/hold'] });
    await cm('held-child', { ownerReferences: [owner(o)] });
    await core.deleteNamespacedConfigMap({ namespace, name: 'held-owner' });
    await settle(server);
    t.ok(await cmExists('held-child'));
    await core.patchNamespacedConfigMap({ namespace, name: 'held-owner', body: { metadata: { finalizers: [] } } }, MERGE);
    await settle(server);
    t.ok(await eventually(async () => !(await cmExists('held-child')), 5_000), 'collected once the owner is really gone');
  });

  await t.test('a deleted namespace is Terminating until its contents are gone; nothing new may be created in it', async (t) => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedPod({ namespace: 'doomed', body: pod('inside', { nodeName: 'node-a', grace: 30 }) });
    await core.deleteNamespace({ name: 'doomed' });
    await settle(server);
    const ns = await core.readNamespace({ name: 'doomed' });
    t.equal(ns.status?.phase, 'Terminating', 'waits for its Terminating pod');
    const refused = await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'late' } } }).then(() => undefined, (e: unknown) => e as ApiException<string>);
    t.equal(refused?.code, 403);
    t.match(String(refused?.body), /unable to create new content in namespace doomed because it is being terminated/);
    await core.deleteNamespacedPod({ namespace: 'doomed', name: 'inside', gracePeriodSeconds: 0 });
    await settle(server);
    t.ok(await eventually(async () => (await status(core.readNamespace({ name: 'doomed' }))) === 404, 5_000), 'then the namespace goes');
    t.equal(await status(core.deleteNamespace({ name: 'default' })), 403, 'default may not be deleted');
  });
});

t.test('kubectl delete against graceful deletion and cascading', { skip: findKubectl() ? false : NO_KUBECTL }, async (t) => {
  const server = await startTestApiServer(t);
  const core = kubeConfigFor(server.url).makeApiClient(CoreV1Api);
  const k = await kubectlFor(t, findKubectl()!, server.url);
  await core.createNamespacedPod({ namespace, body: pod('k1', { nodeName: 'node-a', grace: 30 }) });
  const wait = await k.run(['delete', 'pod', 'k1', '--wait=false']);
  t.equal(wait.code, 0, wait.stderr);
  const get = await k.run(['get', 'pod', 'k1']);
  t.match(get.stdout, /k1\s+0\/1\s+Terminating/, 'kubectl shows Terminating');
  const timeout = await k.run(['delete', 'pod', 'k1', '--timeout=2s']);
  t.not(timeout.code, 0, 'kubectl delete waits for the pod to go, and it does not without its kubelet');
  const forced = await k.run(['delete', 'pod', 'k1', '--force', '--grace-period=0']);
  t.equal(forced.code, 0, forced.stderr);
  t.match(forced.stderr, /Immediate deletion does not wait for confirmation/);
  t.notOk(await exists(core, 'k1'));

  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kowner' } } });
  const o = await core.readNamespacedConfigMap({ namespace, name: 'kowner' });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kchild', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'kowner', uid: o.metadata!.uid! }] } } });
  const orphan = await k.run(['delete', 'configmap', 'kowner', '--cascade=orphan']);
  t.equal(orphan.code, 0, orphan.stderr);
  await settle(server);
  t.ok(await eventually(async () => ((await core.readNamespacedConfigMap({ namespace, name: 'kchild' })).metadata?.ownerReferences ?? []).length === 0, 5_000), '--cascade=orphan keeps the dependent');
});
