/**
 * CRD acceptance as the real kube-apiserver does it (apiextensions-apiserver
 * pkg/apis/apiextensions/validation/validation.go, pkg/apiserver/schema/validation.go and
 * pkg/apiserver/schema/defaulting/validation.go), through HTTP and the real kubectl.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { CRD_PATH } from '../../../helpers/crd.js';
import { findKubectl, kubectlFor, NO_KUBECTL, startTestApiServer } from '../../../helpers/apiserver.js';

type Json = Record<string, unknown>;

/** A small CRD whose `settings` block defaults to {} and carries rules on its own node. */
function gadgetCrd(settingsRules: Json[], extraProps: Json = {}): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'gadgets.test.example.com' },
    spec: {
      group: 'test.example.com',
      scope: 'Namespaced',
      names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    settings: {
                      type: 'object',
                      default: {},
                      'x-kubernetes-validations': settingsRules,
                      properties: { epochs: { type: 'integer', default: 10 }, warmup: { type: 'integer', default: 0 } },
                    },
                    ...extraProps,
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

const UNGUARDED = [{ rule: 'self.warmup < self.epochs', message: 'warmup must be less than epochs' }];
const GUARDED = [{ rule: '!has(self.warmup) || self.warmup < self.epochs', message: 'warmup must be less than epochs' }];
const DEFAULT_PATH = 'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[settings].default';
const NO_SUCH_KEY = 'Invalid value: "object": no such key: warmup evaluating rule: warmup must be less than epochs';

async function send(method: string, url: string, body: unknown): Promise<{ status: number; body: { message?: string; reason?: string; details?: { causes?: Array<{ field: string; reason: string; message: string }> } } }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as never };
}

t.test('CRD acceptance through the API', async (t) => {
  const server = await startTestApiServer(t);
  const crds = `${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`;

  await t.test('a default that breaks its own node\'s rule, evaluated as written, refuses the CRD (defaulting/validation.go)', async (t) => {
    const res = await send('POST', crds, gadgetCrd(UNGUARDED));
    t.equal(res.status, 422);
    t.equal(res.body.reason, 'Invalid');
    t.same(res.body.details?.causes, [{ reason: 'FieldValueInvalid', field: DEFAULT_PATH, message: NO_SUCH_KEY }]);
    t.equal(res.body.message, `CustomResourceDefinition.apiextensions.k8s.io "gadgets.test.example.com" is invalid: ${DEFAULT_PATH}: ${NO_SUCH_KEY}`);
  });

  await t.test('guarded with has(), the same CRD is accepted and its defaults apply to objects', async (t) => {
    t.equal((await send('POST', crds, gadgetCrd(GUARDED))).status, 201);
    const created = await send('POST', `${server.url}/apis/test.example.com/v1/namespaces/default/gadgets`, { apiVersion: 'test.example.com/v1', kind: 'Gadget', metadata: { name: 'g' }, spec: {} });
    t.equal(created.status, 201);
    t.same((created.body as Json).spec, { settings: { epochs: 10, warmup: 0 } }, 'nested defaults apply to objects, just not when the CRD itself is checked');
  });

  await t.test('an update that reintroduces the broken rule is refused the same way', async (t) => {
    const current = (await (await fetch(`${crds}/gadgets.test.example.com`, { signal: AbortSignal.timeout(5_000) })).json()) as Json;
    const next = { ...gadgetCrd(UNGUARDED), metadata: current.metadata };
    const res = await send('PUT', `${crds}/gadgets.test.example.com`, next);
    t.equal(res.status, 422);
    t.same(res.body.details?.causes?.map((c) => c.field), [DEFAULT_PATH]);
  });

  await t.test('scope and group are immutable (ValidateCustomResourceDefinitionSpecUpdate)', async (t) => {
    const current = (await (await fetch(`${crds}/gadgets.test.example.com`, { signal: AbortSignal.timeout(5_000) })).json()) as Json;
    const next = gadgetCrd(GUARDED);
    next.metadata = current.metadata;
    (next.spec as Json).scope = 'Cluster';
    const res = await send('PUT', `${crds}/gadgets.test.example.com`, next);
    t.equal(res.status, 422);
    t.same(res.body.details?.causes?.map((c) => `${c.field}: ${c.message}`), ['spec.scope: Invalid value: "Cluster": field is immutable']);
  });

  await t.test('structural schema rules (schema/validation.go) and pruned, schema-valid defaults', async (t) => {
    const crd = gadgetCrd(GUARDED, { untyped: { description: 'no type' }, list: { type: 'array' }, count: { type: 'integer', minimum: 1, default: 0 } });
    const res = await send('POST', crds, { ...crd, metadata: { name: 'gizmos.test.example.com' }, spec: { ...(crd.spec as Json), names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo', listKind: 'GizmoList' } } });
    t.equal(res.status, 422);
    t.same(
      res.body.details?.causes?.map((c) => `${c.field}: ${c.message}`).sort(),
      [
        'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items: Required value: must be specified',
        'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[untyped].type: Required value: must not be empty for specified object fields',
      ],
      'defaults are only checked once the schema is structural',
    );
    const fixed = { ...crd, metadata: { name: 'gizmos.test.example.com' }, spec: { ...(crd.spec as Json), names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo', listKind: 'GizmoList' } } };
    const props = ((((fixed.spec as Json).versions as Json[])[0].schema as Json).openAPIV3Schema as { properties: { spec: { properties: Json } } }).properties.spec.properties;
    props.untyped = { type: 'string' };
    props.list = { type: 'array', items: { type: 'string' } };
    props.opts = { type: 'object', properties: { a: { type: 'string' } }, default: { a: 'x', b: 1 } };
    const res2 = await send('POST', crds, fixed);
    t.equal(res2.status, 422);
    t.same(res2.body.details?.causes?.map((c) => `${c.field}: ${c.message}`), [
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[count].default: Invalid value: 0: spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[count].default in body should be greater than or equal to 1',
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[opts].default: Invalid value: map[string]interface {}{"a":"x", "b":1}: must not have unknown fields',
    ]);
  });

  await t.test('the shipped CRD is accepted, and the API server serves it', async (t) => {
    const ours = parse(await readFile(CRD_PATH, 'utf8')) as Json;
    const res = await send('POST', crds, ours);
    t.equal(res.status, 201, JSON.stringify(res.body.details?.causes ?? res.body.message));
  });
});

const kubectl = findKubectl();

t.test('the real kubectl sees the same refusal', { skip: kubectl ? false : NO_KUBECTL }, async (t) => {
  const server = await startTestApiServer(t);
  const k = await kubectlFor(t, kubectl!, server.url);
  const bad = await k.run(['apply', '-f', await k.file('bad.yaml', stringify(gadgetCrd(UNGUARDED)))]);
  t.not(bad.code, 0);
  t.match(bad.stderr, `The CustomResourceDefinition "gadgets.test.example.com" is invalid: ${DEFAULT_PATH}: ${NO_SUCH_KEY}`);
  const ours = await k.run(['apply', '-f', CRD_PATH]);
  t.equal(ours.code, 0, ours.stderr);
  t.match(ours.stdout, 'customresourcedefinition.apiextensions.k8s.io/cifartrainingjobs.training.cifar-operator.io created');
});
