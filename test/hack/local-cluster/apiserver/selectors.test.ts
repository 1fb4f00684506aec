import t from 'tap';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../../../../hack/local-cluster/apiserver/selectors.js';
import { parseRoute } from '../../../../hack/local-cluster/apiserver/router.js';

const labels = { app: 'web', tier: 'front', 'example.com/team': 'ml' };
const sel = (s: string) => matchesLabels(parseLabelSelector(s), labels);

t.test('label selectors: equality, sets and existence', async (t) => {
  t.ok(sel('app=web'));
  t.ok(sel('app==web'));
  t.notOk(sel('app!=web'));
  t.ok(sel('app!=db'), '!= matches a different value');
  t.ok(sel('missing!=x'), '!= matches an absent key');
  t.ok(sel('tier in (front, back)'));
  t.notOk(sel('tier notin (front)'));
  t.ok(sel('example.com/team'), 'prefixed key exists');
  t.ok(sel('!missing'));
  t.notOk(sel('!app'));
  t.ok(sel('app=web,tier in (front),!missing'), 'requirements are ANDed');
  t.notOk(sel('app=web,tier=back'));
  t.ok(sel(''), 'the empty selector matches everything');
  t.throws(() => parseLabelSelector('app=(x'), SelectorError);
  t.throws(() => parseLabelSelector('a in (b c)'), /unable to parse requirement/);
});

t.test('field selectors compare dotted paths as strings', async (t) => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  t.ok(matchesFields(parseFieldSelector('metadata.name=p,status.phase==Running'), pod));
  t.notOk(matchesFields(parseFieldSelector('spec.nodeName!=n1'), pod));
  t.ok(matchesFields(parseFieldSelector('spec.nodeName='), { spec: {} }), 'a missing field is the empty string');
  t.same(parseFieldSelector('a=x\\,y'), [{ field: 'a', op: '=', value: 'x,y' }], 'escaped commas stay in the value');
  t.throws(() => parseFieldSelector('nonsense'), /invalid field selector/);
});

t.test('routes: core and named groups, namespaced and cluster-scoped, subresources', async (t) => {
  const namespaced = (_g: string, _v: string, plural: string) => ['pods', 'widgets'].includes(plural);
  t.same(parseRoute('/api/v1/namespaces/ns/pods/p/status', namespaced), { kind: 'resource', group: '', version: 'v1', plural: 'pods', namespace: 'ns', name: 'p', subresource: 'status' });
  t.same(parseRoute('/api/v1/namespaces/ns/status', namespaced), { kind: 'resource', group: '', version: 'v1', plural: 'namespaces', name: 'ns', subresource: 'status' }, "a namespace's status");
  t.same(parseRoute('/api/v1/pods', namespaced), { kind: 'resource', group: '', version: 'v1', plural: 'pods' }, 'all namespaces');
  t.same(parseRoute('/apis/test.example.com/v1/namespaces/d/widgets', namespaced), { kind: 'resource', group: 'test.example.com', version: 'v1', plural: 'widgets', namespace: 'd' });
  t.same(parseRoute('/apis/test.example.com/v1', namespaced), { kind: 'groupVersion', group: 'test.example.com', version: 'v1' });
  t.same(parseRoute('/openapi/v3/apis/g.io/v1', namespaced), { kind: 'openapiGroupVersion', group: 'g.io', version: 'v1' });
  t.same(parseRoute('/openapi/v3/api/v1', namespaced), { kind: 'openapiGroupVersion', group: '', version: 'v1' });
  t.same(parseRoute('/nope', namespaced), { kind: 'unknown' });
});
