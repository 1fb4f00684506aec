import t from 'tap';
import { celFromJson, compileCel, CelError, type CelValue } from '../hack/local-cluster/apiserver/cel.js';

const run = (src: string, self: unknown = {}, oldSelf?: unknown): CelValue => {
  const vars: Record<string, CelValue> = { self: celFromJson(self as never) };
  if (oldSelf !== undefined) vars.oldSelf = celFromJson(oldSelf as never);
  return compileCel(src).evaluate(vars);
};

t.test('literals and arithmetic keep int and double apart', async (t) => {
  t.equal(run('1 + 2 * 3'), 7n);
  t.equal(run('7 / 2'), 3n, 'integer division truncates');
  t.equal(run('-7 % 3'), -1n);
  t.equal(run('7.0 / 2.0'), 3.5);
  t.equal(run('0x10 + 1u'), 17n);
  t.equal(run('"a" + \'b\''), 'ab');
  t.equal(run('r"\\d" == "\\\\d"'), true, 'raw strings keep backslashes');
  t.same(run('[1, 2] + [3]'), [1n, 2n, 3n]);
  t.equal(run('null == null'), true);
  t.equal(run('(1 + 2) * 3'), 9n, 'parentheses');
  t.throws(() => run('1 / 0'), CelError, 'division by zero is an error');
  t.throws(() => run('9223372036854775807 + 1'), /overflow/);
});

t.test('comparison, logic, ternary and in', async (t) => {
  t.equal(run('1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3'), true);
  t.equal(run('1 == 1.0'), true, 'numeric equality across int and double');
  t.equal(run('"a" < "b"'), true);
  t.equal(run('!(1 != 1)'), true);
  t.equal(run('true ? "y" : "n"'), 'y');
  t.equal(run('false ? 1 : true ? 2 : 3'), 2n, 'ternary nests to the right');
  t.equal(run('2 in [1, 2, 3]'), true);
  t.equal(run('"x" in {"x": 1}'), true);
  t.equal(run('false || 1 + 1 == 2 && true'), true, '&& binds tighter than ||');
});

t.test('errors are absorbed by a deciding && / || operand', async (t) => {
  t.equal(run('self.missing == 1 || true'), true);
  t.equal(run('false && self.missing == 1'), false);
  t.throws(() => run('self.missing == 1 || false'), /no such key: missing/);
});

t.test('field access, has(), size() and string functions', async (t) => {
  const self = { a: { b: 'hello', n: 3, list: [1, 2], m: { k: 'v' } } };
  t.equal(run('self.a.b', self), 'hello');
  t.equal(run('self.a.list[1]', self), 2n);
  t.equal(run('self.a["b"]', self), 'hello');
  t.equal(run('has(self.a.b)', self), true);
  t.equal(run('has(self.a.zz)', self), false);
  t.equal(run('size(self.a.b) == 5 && self.a.list.size() == 2 && size(self.a.m) == 1', self), true);
  t.equal(run('self.a.b.startsWith("he") && self.a.b.endsWith("lo") && self.a.b.contains("ll")', self), true);
  t.equal(run('self.a.b.matches("^h.*o$") && matches(self.a.b, "l+")', self), true);
  t.equal(run('"ÄB".lowerAscii()'), 'Äb');
  t.equal(run('int("12") + int(2.9) == 14 && double(1) == 1.0 && string(5) == "5"'), true);
  t.throws(() => run('self.a.nope', self), /no such key: nope/);
  t.throws(() => run('self.a.list[5]', self), /index out of range/);
});

t.test('macros: all, exists, exists_one, map, filter', async (t) => {
  const self = { xs: [1, 2, 3], names: ['a', 'bb'] };
  t.equal(run('self.xs.all(x, x > 0)', self), true);
  t.equal(run('self.xs.exists(x, x == 2)', self), true);
  t.equal(run('self.xs.exists_one(x, x > 1)', self), false);
  t.same(run('self.xs.map(x, x * 2)', self), [2n, 4n, 6n]);
  t.same(run('self.names.filter(n, size(n) > 1)', self), ['bb']);
});

t.test('oldSelf marks a transition rule', async (t) => {
  t.equal(compileCel('self == oldSelf').usesOldSelf, true);
  t.equal(compileCel('self > 1').usesOldSelf, false);
  t.equal(run('self >= oldSelf', 3, 2), true);
});

t.test('unsupported expressions fail at compile time, naming what is wrong', async (t) => {
  t.throws(() => compileCel('self.a.frobnicate()'), /unsupported function 'frobnicate'/);
  t.throws(() => compileCel('quantity("1Gi")'), /unsupported function 'quantity'/);
  t.throws(() => compileCel('other.a == 1'), /undeclared reference to 'other'/);
  t.throws(() => compileCel('self.a ==='), /syntax error/);
  t.throws(() => compileCel('"unterminated'), /unterminated string/);
  t.throws(() => compileCel('has(self)'), /has\(\) needs a field selection/);
});

t.test('type errors name the overload', async (t) => {
  t.throws(() => run('"a" + 1'), /no such overload: \+\(string, int\)/);
  t.throws(() => run('!1'), /must be bool/);
  t.throws(() => run('size(1)'), /no such overload: size\(int\)/);
});
