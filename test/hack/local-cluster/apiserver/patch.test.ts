import t from 'tap';
import type { JsonObject } from '../../../../hack/local-cluster/apiserver/json.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from '../../../../hack/local-cluster/apiserver/patch.js';

t.test('RFC 7386 merge patch', async (t) => {
  const target = { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] };
  t.same(mergePatch(target, { a: 'z', c: { f: null }, list: [3] }), { a: 'z', c: { d: 'e' }, list: [3] });
  t.same(mergePatch({ a: 'b' }, { a: { x: 1 } }), { a: { x: 1 } });
  t.same(mergePatch(target, 'scalar'), 'scalar', 'a non-object patch replaces the whole document');
  t.same(target, { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] }, 'the target is not mutated');
});

t.test('RFC 6902 JSON patch', async (t) => {
  const doc = { a: { b: [1, 2] }, 'x/y': 1, 't~': 2 };
  t.same(
    jsonPatch(doc, [
      { op: 'add', path: '/a/b/-', value: 3 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'replace', path: '/x~1y', value: 9 },
      { op: 'remove', path: '/t~0' },
      { op: 'copy', from: '/a/b', path: '/c' },
      { op: 'move', from: '/c', path: '/d' },
      { op: 'test', path: '/d/3', value: 3 },
    ]),
    { a: { b: [0, 1, 2, 3] }, 'x/y': 9, d: [0, 1, 2, 3] },
  );
  t.throws(() => jsonPatch(doc, [{ op: 'test', path: '/x~1y', value: 2 }]), /test failed at \/x~1y/);
  t.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }]), /path \/nope does not exist/);
  t.throws(() => jsonPatch(doc, [{ op: 'replace', path: '/a/b/5', value: 1 }]), PatchError);
  t.throws(() => jsonPatch(doc, { op: 'add' }), /must be a list/);
  t.same(doc, { a: { b: [1, 2] }, 'x/y': 1, 't~': 2 }, 'a failed patch leaves the target alone');
});

t.test('strategic merge patch merges named lists and honours directives', async (t) => {
  const pod: JsonObject = {
    metadata: { finalizers: ['a'], labels: { x: '1' } },
    spec: {
      containers: [
        { name: 'main', image: 'v1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }] },
        { name: 'side', image: 's' },
      ],
      tolerations: [{ key: 'k1' }],
    },
  };
  const out = strategicMergePatch(pod, {
    metadata: { finalizers: ['b'], labels: { x: null } },
    spec: {
      containers: [{ name: 'main', image: 'v2', env: [{ name: 'B', value: '3' }] }, { name: 'side', $patch: 'delete' }, { name: 'new', image: 'n' }],
      tolerations: [{ key: 'k2' }],
    },
  });
  t.same(out, {
    metadata: { finalizers: ['a', 'b'], labels: {} },
    spec: {
      containers: [
        { name: 'main', image: 'v2', env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }], ports: [{ containerPort: 80 }] },
        { name: 'new', image: 'n' },
      ],
      tolerations: [{ key: 'k2' }],
    },
  }, 'containers and env merge by name, finalizers by value; other lists are replaced');
  const ordered = strategicMergePatch({ spec: { containers: [{ name: 'a' }, { name: 'b' }] } }, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'a', image: 'x' }] } });
  t.same(ordered, { spec: { containers: [{ name: 'b' }, { name: 'a', image: 'x' }] } }, '$setElementOrder orders the merged list');
  t.same(strategicMergePatch({ f: ['a', 'b'] }, { '$deleteFromPrimitiveList/f': ['a'] }), { f: ['b'] });
  t.same(strategicMergePatch({ s: { a: 1, b: 2 } }, { s: { $patch: 'replace', c: 3 } }), { s: { c: 3 } });
  t.same(strategicMergePatch({ s: { a: 1, b: 2 } }, { s: { $retainKeys: ['b', 'c'], c: 3 } }), { s: { b: 2, c: 3 } });
  t.same(strategicMergePatch({ l: [{ name: 'a' }] }, { l: [{ $patch: 'replace' }, { name: 'z' }] }), { l: [{ name: 'z' }] });
});
