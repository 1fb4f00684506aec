import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { eventually, kubeConfigFor, startTestApiServer, WIDGET_CRD } from '../../../helpers/apiserver.js';

const group = 'test.example.com';
const version = 'v1';
const plural = 'widgets';
const namespace = 'default';

interface Widget {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; uid?: string; generation?: number; resourceVersion?: string; ownerReferences?: unknown[] };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const widget = (name: string, spec: Record<string, unknown>): Widget => ({ apiVersion: `${group}/${version}`, kind: 'Widget', metadata: { name }, spec });

async function failure(p: Promise<unknown>): Promise<{ code: number; body: { message?: string; reason?: string; details?: { causes?: Array<{ field: string }> } } }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, body: JSON.parse(String(err.body)) as never };
    throw err;
  }
  throw new Error('expected the call to fail');
}

/**
 * CRDs are posted as plain JSON: client-node's typed models would drop the schema keys
 * (`default`, `enum`, `x-kubernetes-*`) of an untyped object literal.
 */
async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function getJson(url: string, accept = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

t.test('custom resources of a CRD created through the API', async (t) => {
  const server = await startTestApiServer(t);
  const kc = kubeConfigFor(server.url);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const crdsUrl = `${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`;
  const crd = await postJson(crdsUrl, WIDGET_CRD);
  t.equal(crd.status, 201);
  t.same((crd.body.status as { conditions: Array<{ type: string; status: string }> }).conditions.map((c) => [c.type, c.status]), [['NamesAccepted', 'True'], ['Established', 'True']]);
  const create = (w: Widget, fieldValidation?: string) => custom.createNamespacedCustomObject({ group, version, namespace, plural, body: w, ...(fieldValidation ? { fieldValidation } : {}) }) as Promise<Widget>;

  await t.test('discovery and OpenAPI v3 describe the new resource', async (t) => {
    const groups = await getJson(`${server.url}/apis`);
    t.match(JSON.stringify(groups.body), /"name":"test.example.com","versions":\[\{"groupVersion":"test.example.com\/v1","version":"v1"\}\]/);
    const resources = await getJson(`${server.url}/apis/${group}/${version}`);
    t.same(resources.body.resources, [
      { name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['wg'], categories: ['all'] },
      { name: 'widgets/status', singularName: '', namespaced: true, kind: 'Widget', verbs: ['get', 'patch', 'update'] },
    ]);
    const root = await getJson(`${server.url}/openapi/v3`);
    const entry = (root.body.paths as Record<string, { serverRelativeURL: string }>)[`apis/${group}/${version}`];
    t.match(entry.serverRelativeURL, /^\/openapi\/v3\/apis\/test.example.com\/v1\?hash=[0-9A-F]{16}$/);
    const doc = await getJson(`${server.url}${entry.serverRelativeURL}`);
    const schemas = (doc.body.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
    const schema = schemas['com.example.test.v1.Widget'];
    t.same(schema['x-kubernetes-group-version-kind'], [{ group, version, kind: 'Widget' }]);
    t.match(schema, { properties: { spec: { required: ['image'] } } }, 'the CRD schema is served');
    const patchOp = (doc.body.paths as Record<string, { patch?: { parameters: Array<{ name: string }>; 'x-kubernetes-group-version-kind': unknown } }>)['/apis/test.example.com/v1/namespaces/{namespace}/widgets/{name}'].patch;
    t.ok(patchOp?.parameters.some((p) => p.name === 'fieldValidation'), 'PATCH advertises fieldValidation (kubectl then validates on the server)');
    t.same(patchOp?.['x-kubernetes-group-version-kind'], { group, version, kind: 'Widget' });
    const core = await getJson(`${server.url}/openapi/v3/api/v1`);
    t.same((core.body.components as { schemas: Record<string, Record<string, unknown>> }).schemas['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
  });

  await t.test('defaults are applied and generation counts spec changes only', async (t) => {
    const w = await create(widget('w1', { image: 'busybox' }));
    t.same(w.spec, { image: 'busybox', replicas: 1, mode: 'small' });
    t.equal(w.metadata.generation, 1);
    const s = (await custom.patchNamespacedCustomObjectStatus({ group, version, namespace, plural, name: 'w1', body: { status: { phase: 'Running', epoch: 3 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as Widget;
    t.same(s.status, { phase: 'Running', epoch: 3 });
    t.equal(s.metadata.generation, 1, 'a status change keeps the generation');
    const m = (await custom.patchNamespacedCustomObject({ group, version, namespace, plural, name: 'w1', body: { spec: { replicas: 2 }, status: { phase: 'Hacked' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as Widget;
    t.equal(m.metadata.generation, 2, 'a spec change bumps the generation');
    t.equal(m.status?.phase, 'Running', 'the main resource ignores status');
    const l = (await custom.patchNamespacedCustomObject({ group, version, namespace, plural, name: 'w1', body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as Widget;
    t.equal(l.metadata.generation, 2, 'a metadata change keeps the generation');
    const smp = await failure(custom.patchNamespacedCustomObject({ group, version, namespace, plural, name: 'w1', body: { spec: {} } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)));
    t.equal(smp.code, 415, 'no strategic merge patch for custom resources');
    const list = (await custom.listNamespacedCustomObject({ group, version, namespace, plural, labelSelector: 'a=b' })) as { items: Widget[]; metadata: { resourceVersion: string } };
    t.same(list.items.map((i) => i.metadata.name), ['w1']);
  });

  await t.test('schema violations are one 422 naming every field', async (t) => {
    const res = await failure(create(widget('bad', { replicas: 0, mode: 'huge', tags: ['UPPER', 'b', 'c'], port: true })));
    t.equal(res.code, 422);
    t.equal(res.body.reason, 'Invalid');
    t.equal(
      res.body.message,
      'Widget.test.example.com "bad" is invalid: [spec.image: Required value, spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1, spec.mode: Unsupported value: "huge": supported values: "small", "big", spec.tags: Too many: 3: must have at most 2 items, spec.tags[0]: Invalid value: "UPPER": spec.tags[0] in body should match \'^[a-z]+$\', spec.port: Invalid value: "boolean": spec.port in body must be of type integer or string: "boolean", <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]',
    );
    // The last cause is the real server's: its CEL rules are skipped after blocking schema errors (customresource/strategy.go).
    t.same(res.body.details?.causes?.map((c) => c.field), ['spec.image', 'spec.replicas', 'spec.mode', 'spec.tags', 'spec.tags[0]', 'spec.port', '<nil>']);
  });

  await t.test('CEL rules reject with their message at their path', async (t) => {
    const res = await failure(create(widget('cel', { image: 'x', replicas: 6 })));
    t.equal(res.code, 422);
    t.equal(res.body.message, 'Widget.test.example.com "cel" is invalid: spec: Invalid value: "object": more than 4 replicas needs mode big');
    const ok = await create(widget('cel', { image: 'x', replicas: 6, mode: 'big' }));
    t.equal(ok.spec?.replicas, 6);
    const upd = await failure(custom.patchNamespacedCustomObject({ group, version, namespace, plural, name: 'cel', body: { spec: { mode: 'small' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    t.equal(upd.code, 422, 'rules run on updates too');
  });

  await t.test('unknown fields: pruned with a warning by default, rejected under Strict', async (t) => {
    const pruned = await create(widget('pr', { image: 'x', bogus: 1, resources: { anything: { goes: 1 } } }));
    t.same(pruned.spec, { image: 'x', resources: { anything: { goes: 1 } }, replicas: 1, mode: 'small' }, 'bogus pruned, preserve-unknown-fields kept');
    const strict = await failure(create(widget('st', { image: 'x', bogus: 1 }), 'Strict'));
    t.equal(strict.code, 400);
    t.equal(strict.body.message, 'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.bogus"');
    const res = await fetch(`${server.url}/apis/${group}/${version}/namespaces/default/widgets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(widget('warn', { image: 'x', bogus: 1 })), signal: AbortSignal.timeout(5_000) });
    t.equal(res.status, 201);
    t.equal(res.headers.get('warning'), '299 - "unknown field \\"spec.bogus\\""');
  });

  await t.test('kubectl-style Tables evaluate the printer columns', async (t) => {
    const table = await getJson(`${server.url}/apis/${group}/${version}/namespaces/default/widgets?labelSelector=a`, 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    t.equal(table.body.kind, 'Table');
    t.same((table.body.columnDefinitions as Array<{ name: string }>).map((c) => c.name), ['Name', 'Replicas', 'Phase', 'Age']);
    const rows = table.body.rows as Array<{ cells: unknown[]; object: { kind: string } }>;
    t.same(rows[0].cells.slice(0, 3), ['w1', 2, 'Running']);
    t.match(rows[0].cells[3], /^\d+s$/, 'dates are shown as ages');
    t.equal(rows[0].object.kind, 'PartialObjectMetadata');
  });

  await t.test('deleting an owner collects its dependents, cascading', async (t) => {
    const owner = await create(widget('owner', { image: 'x' }));
    const ref = { apiVersion: `${group}/${version}`, kind: 'Widget', name: 'owner', uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
    const p = await core.createNamespacedPod({ namespace, body: { metadata: { name: 'owned', ownerReferences: [ref] }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'grandchild', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'owned', uid: p.metadata!.uid! }] } } });
    const bystander = await core.createNamespacedPod({ namespace, body: { metadata: { name: 'bystander' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    await core.createNamespacedService({ namespace, body: { metadata: { name: 'kept', ownerReferences: [ref, { apiVersion: 'v1', kind: 'Pod', name: 'bystander', uid: bystander.metadata!.uid! }] }, spec: { ports: [{ port: 80 }] } } });
    await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name: 'owner' });
    await server.gcIdle();
    const names = async () => [...(await core.listNamespacedPod({ namespace })).items, ...(await core.listNamespacedConfigMap({ namespace })).items].map((o) => o.metadata?.name);
    t.ok(await eventually(async () => (await names()).length === 1), 'owned pod and its configmap are gone');
    t.same(await names(), ['bystander']);
    t.ok(await core.readNamespacedService({ namespace, name: 'kept' }), 'an object with another live owner stays');
  });

  await t.test('Orphan propagation leaves dependents without the owner reference', async (t) => {
    const owner = await create(widget('o2', { image: 'x' }));
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'orphan', ownerReferences: [{ apiVersion: `${group}/${version}`, kind: 'Widget', name: 'o2', uid: owner.metadata.uid! }] } } });
    await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name: 'o2', propagationPolicy: 'Orphan' });
    await server.gcIdle();
    const cm = await core.readNamespacedConfigMap({ namespace, name: 'orphan' });
    t.same(cm.metadata?.ownerReferences, []);
  });

  await t.test('finalizers hold deletion until they are removed', async (t) => {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'fin', finalizers: ['test/hold'] } } });
    await core.deleteNamespacedConfigMap({ namespace, name: 'fin' });
    const held = await core.readNamespacedConfigMap({ namespace, name: 'fin' });
    t.ok(held.metadata?.deletionTimestamp, 'deletionTimestamp set');
    await core.patchNamespacedConfigMap({ namespace, name: 'fin', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    t.equal((await failure(core.readNamespacedConfigMap({ namespace, name: 'fin' }))).code, 404);
  });

  await t.test('a CRD with a rule that does not compile is rejected naming the rule, as apiextensions does', async (t) => {
    const bad = structuredClone(WIDGET_CRD);
    bad.metadata.name = 'gadgets.test.example.com';
    bad.spec.names = { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', shortNames: [], categories: [] };
    bad.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'] = [{ rule: 'self.image.frob()', message: 'x' }];
    const res = await postJson(crdsUrl, bad);
    t.equal(res.status, 422);
    t.match(res.body.message, /spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[0\]\.rule: Invalid value: apiextensions\.ValidationRule\{Rule:"self\.image\.frob\(\)", .*\}: compilation failed: ERROR: <input>:1:11: undeclared reference to 'frob' \(in container ''\)/);
  });

  await t.test('deleting the CRD removes its resources and its endpoints', async (t) => {
    const del = await fetch(`${crdsUrl}/widgets.test.example.com`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) });
    t.equal(del.status, 200);
    t.equal([...server.store.list(`${group}/${plural}`)].length, 0);
    t.equal((await getJson(`${server.url}/apis/${group}/${version}/namespaces/default/widgets`)).status, 404);
  });
});

t.test('CRDs are loaded from a directory at start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'apiserver-crds-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'widget.yaml'), `# a comment\n${stringify(WIDGET_CRD)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n`);
  const lines: string[] = [];
  const server = await startTestApiServer(t, { crdDir: dir, log: (l) => lines.push(l) });
  const res = await getJson(`${server.url}/apis/${group}/${version}`);
  t.equal(res.status, 200);
  t.ok(lines.some((l) => /skipped .*ConfigMap/.test(l)), 'other kinds are reported as skipped');
  await writeFile(join(dir, 'broken.yaml'), 'kind: [unclosed');
  await t.rejects(startTestApiServer(t, { crdDir: dir }), /broken\.yaml/, 'a malformed file is named');
});
