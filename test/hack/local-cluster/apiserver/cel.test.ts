/**
 * The CEL layer of the local API server: @bufbuild/cel parses and evaluates, a checker types
 * each rule against its schema node as cel-go does for the real server
 * (apiextensions-apiserver pkg/apiserver/schema/cel/compilation.go, model/schemas.go), and
 * runtime errors are worded as cel-go words them (cel/validation.go).
 */
import t from 'tap';
import { compileRule, ruleVariables, runExpression } from '../../../../hack/local-cluster/apiserver/cel/compile.js';
import { escapeName } from '../../../../hack/local-cluster/apiserver/cel/types.js';
import type { JsonValue } from '../../../../hack/local-cluster/apiserver/json.js';
import { parseSchema, type Schema } from '../../../../hack/local-cluster/apiserver/schema.js';
import type { FieldCause } from '../../../../hack/local-cluster/apiserver/status.js';

const node: Schema = (() => {
  const causes: FieldCause[] = [];
  const s = parseSchema(
    {
      type: 'object',
      properties: {
        n: { type: 'integer' },
        ratio: { type: 'number' },
        s: { type: 'string' },
        'max-surge': { type: 'integer' },
        list: { type: 'array', items: { type: 'integer' } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        port: { 'x-kubernetes-int-or-string': true },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        sub: { type: 'object', properties: { k: { type: 'string' } } },
      },
    },
    'schema',
    causes,
  );
  if (causes.length > 0) throw new Error(JSON.stringify(causes));
  return s;
})();

const vars = ruleVariables(node, false);

function compile(rule: string, messageExpression?: string) {
  return compileRule({ rule, ...(messageExpression === undefined ? {} : { messageExpression }) }, vars);
}

/** Runs a rule that must compile; returns its value or its runtime error text. */
function run(rule: string, self: JsonValue, oldSelf?: JsonValue): unknown {
  const c = compile(rule);
  if (!c.program) throw new Error(`${rule}: ${c.error}`);
  const out = runExpression(c.program, node, false, self, oldSelf);
  return out.ok ? out.value : `error: ${out.error}`;
}

t.test('the rules our CRD uses evaluate as in Kubernetes', async (t) => {
  const self = { n: 20, s: 's3://bucket/x', list: [1, 2], sub: { k: 'v' } };
  t.equal(run('self.n >= 8 && (self.n - 2) % 6 == 0', self), true);
  t.equal(run("self.s.startsWith('s3://') || self.s.startsWith('/')", self), true);
  t.equal(run('!has(self.ratio) || self.ratio < 1.0', self), true);
  t.equal(run('size(self.list) < self.n', self), true);
  t.equal(run('self.n / 3 == 6', self), true, 'integer division truncates');
  t.equal(run('!has(self.sub) || !has(self.sub.k) || self.sub.k == "v"', {}), true, 'a guarded rule holds on {}');
});

t.test('runtime errors are worded as cel-go words them', async (t) => {
  t.equal(run('self.sub.k == "v"', {}), 'error: no such key: sub');
  t.equal(run('has(self.sub.k)', {}), 'error: no such key: sub', 'has() needs its parent to exist');
  t.equal(run('self.n / 0 == 1', { n: 1 }), 'error: division by zero');
  t.equal(run('self.port == 80', { port: 'http' }), false, 'int-or-string is dyn: comparing a string to an int is false, not an error');
  t.equal(run('self.n == 1 || true', {}), true, 'an error is absorbed by a deciding ||');
});

t.test('Kubernetes CEL: macros, strings extension, RE2 matches, maps and escaped names', async (t) => {
  const self = { list: [1, 2, 3], s: 'Hello', labels: { app: 'x' }, 'max-surge': 2, free: { any: { deep: 1 } } };
  t.equal(run('self.list.all(x, x > 0) && self.list.exists(x, x == 2) && self.list.exists_one(x, x > 2)', self), true);
  t.equal(run('self.list.map(x, x * 2)[2] == 6 && self.list.filter(x, x > 1).size() == 2', self), true);
  t.equal(run("self.s.lowerAscii() == 'hello' && self.s.indexOf('l') == 2 && self.s.split('l').size() == 3", self), true);
  t.equal(run("self.s.matches('^H[a-z]+$') && matches(self.s, 'l+')", self), true);
  t.equal(run("'app' in self.labels && self.labels['app'] == 'x' && self.labels.all(k, k == 'app')", self), true);
  t.equal(escapeName('max-surge'), 'max__dash__surge');
  t.equal(run('self.max__dash__surge == 2', self), true, 'a property with a dash is reached by its escaped name');
  t.equal(run('self.free.any.deep == 1', self), true, 'preserve-unknown-fields is dyn');
  t.equal(run('self.n == oldSelf.n', { n: 1 }, { n: 1 }), true);
  t.ok(compile('self.n == oldSelf.n').program?.usesOldSelf, 'naming oldSelf makes a transition rule');
  t.notOk(compile('self.list.exists(oldSelf, oldSelf > 1)').program?.usesOldSelf, 'a comprehension variable named oldSelf is not oldSelf');
});

t.test('compile errors are those cel-go reports, with its position format', async (t) => {
  t.equal(compile('self.nope > 1').error, "compilation failed: ERROR: <input>:1:5: undefined field 'nope'\n | self.nope > 1\n | ....^");
  t.equal(compile("self.n + 'x' == 1").error, "compilation failed: ERROR: <input>:1:8: found no matching overload for '_+_' applied to '(int, string)'\n | self.n + 'x' == 1\n | .......^");
  t.match(compile('self.n == 1.0').error, /found no matching overload for '_==_' applied to '\(int, double\)'/, 'no implicit int/double equality');
  t.equal(compile('self.ratio < 1').error, undefined, 'but ordering across int and double is allowed (cross-type numeric comparisons)');
  t.match(compile("self.s.frob('x')").error, /undeclared reference to 'frob' \(in container ''\)/);
  t.match(compile('quantity(self.s).isGreaterThan(quantity("1"))').error, /undeclared reference to 'quantity'/, 'the quantity library is not provided');
  t.match(compile('self.n.startsWith("a")').error, /found no matching overload for 'startsWith' applied to 'int\.\(string\)'/);
  t.match(compile('self.list.k == 1').error, /type 'list\(int\)' does not support field selection/);
  t.match(compile('other == 1').error, /undeclared reference to 'other'/);
  t.match(compile('self.n >').error, /^compilation failed: ERROR: <input>:1:8: Syntax error: /);
  t.equal(compile('self.s').error, 'cel expression must evaluate to a bool');
  t.equal(compile('self.n > 0', '1').messageError, 'messageExpression must evaluate to a string');
  t.match(compile('self.n > 0', 'self.nope').messageError, /^messageExpression compilation failed: ERROR: <input>:1:5: undefined field 'nope'/);
  t.equal(compile('self.n > 0', "'n is ' + string(self.n)").messageError, undefined);
});
