import t from 'tap';
import { ApiException, CoreV1Api, CoordinationV1Api, makeInformer, PatchStrategy, setHeaderOptions, Watch, type V1Pod } from '@kubernetes/client-node';
import { eventually, kubeConfigFor, startTestApiServer } from '../../../helpers/apiserver.js';

const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({ metadata: { name, labels }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } });

/** The Status body of a failed client-node call. */
async function failure(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, body: JSON.parse(String(err.body)) as Record<string, unknown> };
    throw err;
  }
  throw new Error('expected the call to fail');
}

t.test('client-node against the local API server', async (t) => {
  const server = await startTestApiServer(t, { historySize: 50 });
  const kc = kubeConfigFor(server.url);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = 'default';

  await t.test('create, get, list, update and delete a pod', async (t) => {
    const created = await core.createNamespacedPod({ namespace, body: pod('p1', { app: 'web' }) });
    t.ok(created.metadata?.uid, 'uid assigned');
    t.match(created.metadata?.creationTimestamp?.toISOString(), /^\d{4}-/);
    t.equal(created.status?.phase, 'Pending', 'pods start Pending');
    t.equal(created.spec?.restartPolicy, 'Always', 'defaults applied');
    const got = await core.readNamespacedPod({ namespace, name: 'p1' });
    t.equal(got.metadata?.resourceVersion, created.metadata?.resourceVersion);
    const list = await core.listNamespacedPod({ namespace });
    t.same(list.items.map((p) => p.metadata?.name), ['p1']);
    t.ok(Number(list.metadata?.resourceVersion) >= Number(created.metadata?.resourceVersion), 'list carries a resourceVersion');
    got.metadata!.labels = { app: 'web', extra: 'yes' };
    const updated = await core.replaceNamespacedPod({ namespace, name: 'p1', body: got });
    t.ok(Number(updated.metadata?.resourceVersion) > Number(got.metadata?.resourceVersion), 'resourceVersion increases');
    const again = await core.replaceNamespacedPod({ namespace, name: 'p1', body: updated });
    t.equal(again.metadata?.resourceVersion, updated.metadata?.resourceVersion, 'a no-op update does not bump resourceVersion');
    await core.deleteNamespacedPod({ namespace, name: 'p1' });
    t.equal((await core.listNamespacedPod({ namespace })).items.length, 0);
  });

  await t.test('errors are Status objects shaped like the real ones', async (t) => {
    const missing = await failure(core.readNamespacedPod({ namespace, name: 'x' }));
    t.equal(missing.code, 404);
    t.same(missing.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "x" not found', reason: 'NotFound', details: { name: 'x', kind: 'pods' }, code: 404 });
    await core.createNamespacedPod({ namespace, body: pod('dup') });
    const dup = await failure(core.createNamespacedPod({ namespace, body: pod('dup') }));
    t.equal(dup.code, 409);
    t.equal(dup.body.reason, 'AlreadyExists');
    t.equal(dup.body.message, 'pods "dup" already exists');
    const stale = await core.readNamespacedPod({ namespace, name: 'dup' });
    await core.patchNamespacedPod({ namespace, name: 'dup', body: { metadata: { labels: { v: '2' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const conflict = await failure(core.replaceNamespacedPod({ namespace, name: 'dup', body: stale }));
    t.equal(conflict.code, 409);
    t.equal(conflict.body.reason, 'Conflict');
    t.match(String(conflict.body.message), /^Operation cannot be fulfilled on pods "dup": the object has been modified/);
    const noNs = await failure(core.createNamespacedPod({ namespace: 'nowhere', body: pod('p') }));
    t.equal(noNs.code, 404);
    t.equal(noNs.body.message, 'namespaces "nowhere" not found');
    const invalid = await failure(core.createNamespacedPod({ namespace, body: { metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c', image: '' }] } } }));
    t.equal(invalid.code, 422);
    t.match(String(invalid.body.message), /^Pod "Bad_Name" is invalid: \[metadata.name: Invalid value: "Bad_Name": .*spec.containers\[0\].image: Required value\]$/);
    await core.deleteNamespacedPod({ namespace, name: 'dup' });
  });

  await t.test('generateName gives a fresh name', async (t) => {
    const a = await core.createNamespacedPod({ namespace, body: { metadata: { generateName: 'gen-' }, spec: pod('').spec } });
    t.match(a.metadata?.name, /^gen-[a-z0-9]{5}$/);
    await core.deleteNamespacedPod({ namespace, name: a.metadata!.name! });
  });

  await t.test('merge, JSON and strategic merge patches', async (t) => {
    await core.createNamespacedPod({ namespace, body: { metadata: { name: 'pp', labels: { a: '1', b: '2' } }, spec: { containers: [{ name: 'main', image: 'i:1', env: [{ name: 'X', value: '1' }] }] } } });
    const merged = await core.patchNamespacedPod({ namespace, name: 'pp', body: { metadata: { labels: { a: null, c: '3' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    t.same(merged.metadata?.labels, { b: '2', c: '3' });
    const jp = await core.patchNamespacedPod({ namespace, name: 'pp', body: [{ op: 'replace', path: '/spec/containers/0/image', value: 'i:2' }, { op: 'add', path: '/metadata/labels/d', value: '4' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    t.equal(jp.spec?.containers[0].image, 'i:2');
    t.equal(jp.metadata?.labels?.d, '4');
    const smp = await core.patchNamespacedPod({ namespace, name: 'pp', body: { spec: { containers: [{ name: 'main', env: [{ name: 'Y', value: '2' }] }] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    t.same(smp.spec?.containers[0].env, [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }], 'env merged by name');
    t.equal(smp.spec?.containers[0].image, 'i:2');
    const failedTest = await failure(core.patchNamespacedPod({ namespace, name: 'pp', body: [{ op: 'test', path: '/metadata/name', value: 'other' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)));
    t.equal(failedTest.code, 422);
    const apply = await failure(core.patchNamespacedPod({ namespace, name: 'pp', body: {} }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)));
    t.equal(apply.code, 415, 'server-side apply is refused');
    await core.deleteNamespacedPod({ namespace, name: 'pp' });
  });

  await t.test('status subresource: the main endpoint ignores status, /status ignores the rest', async (t) => {
    const p = await core.createNamespacedPod({ namespace, body: { ...pod('st'), status: { phase: 'Running' } } });
    t.equal(p.status?.phase, 'Pending', 'status on create is the server\'s');
    const s = await core.patchNamespacedPodStatus({ namespace, name: 'st', body: { status: { phase: 'Running', podIP: '10.0.0.7' }, metadata: { labels: { ignored: 'y' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    t.equal(s.status?.phase, 'Running');
    t.notOk(s.metadata?.labels?.ignored, 'status writes ignore metadata');
    const m = await core.patchNamespacedPod({ namespace, name: 'st', body: { status: { phase: 'Failed' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    t.equal(m.status?.phase, 'Running', 'main-resource writes ignore status');
    const byField = await core.listNamespacedPod({ namespace, fieldSelector: 'status.phase=Running' });
    t.same(byField.items.map((x) => x.metadata?.name), ['st']);
    await core.deleteNamespacedPod({ namespace, name: 'st' });
  });

  await t.test('label and field selectors on lists', async (t) => {
    await core.createNamespacedPod({ namespace, body: pod('s1', { app: 'a', tier: 'x' }) });
    await core.createNamespacedPod({ namespace, body: pod('s2', { app: 'b' }) });
    const names = async (q: { labelSelector?: string; fieldSelector?: string }) => (await core.listNamespacedPod({ namespace, ...q })).items.map((p) => p.metadata?.name);
    t.same(await names({ labelSelector: 'app=a' }), ['s1']);
    t.same(await names({ labelSelector: 'app in (a,b),!tier' }), ['s2']);
    t.same(await names({ labelSelector: 'tier' }), ['s1']);
    t.same(await names({ fieldSelector: 'metadata.name!=s1' }), ['s2']);
    t.same(await names({ fieldSelector: 'spec.nodeName=' }), ['s1', 's2']);
    const bad = await failure(core.listNamespacedPod({ namespace, fieldSelector: 'spec.image=x' }));
    t.equal(bad.code, 400);
    t.equal(bad.body.message, 'field label not supported: spec.image');
    const all = await core.listPodForAllNamespaces({ labelSelector: 'app' });
    t.equal(all.items.length, 2, 'cluster-wide list');
    await core.deleteCollectionNamespacedPod({ namespace, labelSelector: 'app=b' });
    t.same(await names({}), ['s1'], 'delete collection honours the label selector');
    await core.deleteNamespacedPod({ namespace, name: 's1' });
  });

  await t.test('an informer sees adds, updates and deletes', async (t) => {
    const seen: string[] = [];
    const informer = makeInformer(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace }), 'informed=yes');
    informer.on('add', (p) => seen.push(`add ${p.metadata?.name}`));
    informer.on('update', (p) => seen.push(`update ${p.metadata?.name} ${p.metadata?.labels?.v ?? ''}`));
    informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name}`));
    await informer.start();
    t.teardown(() => informer.stop());
    await core.createNamespacedPod({ namespace, body: pod('inf', { informed: 'yes' }) });
    await core.createNamespacedPod({ namespace, body: pod('other') });
    await core.patchNamespacedPod({ namespace, name: 'inf', body: { metadata: { labels: { v: '2' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await core.deleteNamespacedPod({ namespace, name: 'inf' });
    t.ok(await eventually(() => seen.length >= 3), 'events arrive');
    t.same(seen, ['add inf', 'update inf 2', 'delete inf'], 'only objects matching the selector');
    t.same(informer.list(namespace), []);
    await core.deleteNamespacedPod({ namespace, name: 'other' });
  });

  await t.test('watch resumes from a resourceVersion and answers 410 when it is too old', async (t) => {
    const coord = kc.makeApiClient(CoordinationV1Api);
    const first = await coord.createNamespacedLease({ namespace, body: { metadata: { name: 'l1' }, spec: { holderIdentity: 'a' } } });
    const from = first.metadata!.resourceVersion!;
    await coord.patchNamespacedLease({ namespace, name: 'l1', body: { spec: { holderIdentity: 'b' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await coord.deleteNamespacedLease({ namespace, name: 'l1' });
    const events: string[] = [];
    const watch = new Watch(kc);
    const done = new Promise<unknown>((resolve) => {
      void watch.watch('/apis/coordination.k8s.io/v1/namespaces/default/leases', { resourceVersion: from, timeoutSeconds: 1 }, (type, obj: { spec?: { holderIdentity?: string } }) => events.push(`${type} ${obj.spec?.holderIdentity}`), resolve);
    });
    t.equal(await done, null, 'the stream ends when timeoutSeconds passes');
    t.same(events, ['MODIFIED b', 'DELETED b'], 'events after the given version, in order');
    for (let i = 0; i < 60; i++) await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `cm${i}` } } });
    const errors: Array<{ code?: number; reason?: string }> = [];
    const ended = new Promise<unknown>((resolve) => {
      void watch.watch('/apis/coordination.k8s.io/v1/namespaces/default/leases', { resourceVersion: from }, (type, obj: { code?: number; reason?: string }) => type === 'ERROR' && errors.push(obj), resolve);
    });
    await ended;
    t.same(errors.map((e) => [e.code, e.reason]), [[410, 'Expired']], 'too old: an ERROR event with a 410 Status, then the end');
    await core.deleteCollectionNamespacedConfigMap({ namespace });
  });

  await t.test('deleting a namespace deletes what is in it', async (t) => {
    await core.createNamespace({ body: { metadata: { name: 'scratch' } } });
    await core.createNamespacedPod({ namespace: 'scratch', body: pod('inside') });
    await core.createNamespacedConfigMap({ namespace: 'scratch', body: { metadata: { name: 'cm' } } });
    await core.deleteNamespace({ name: 'scratch' });
    await server.gcIdle();
    t.same((await core.listPodForAllNamespaces()).items.filter((p) => p.metadata?.namespace === 'scratch'), []);
    t.same((await core.listConfigMapForAllNamespaces()).items.filter((c) => c.metadata?.namespace === 'scratch'), []);
    t.equal((await core.readNamespace({ name: 'default' })).status?.phase, 'Active');
  });

  await t.test('watch without a resourceVersion starts with the current objects', async (t) => {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 's' }, stringData: { k: 'v' } } });
    const secret = await core.readNamespacedSecret({ namespace, name: 's' });
    t.same(secret.data, { k: Buffer.from('v').toString('base64') }, 'stringData folded into data');
    const events: string[] = [];
    const watch = new Watch(kc);
    await new Promise<unknown>((resolve) => {
      void watch.watch('/api/v1/namespaces/default/secrets', { timeoutSeconds: 1 }, (type, obj: { metadata?: { name?: string } }) => events.push(`${type} ${obj.metadata?.name}`), resolve);
    });
    t.same(events, ['ADDED s']);
  });
});
