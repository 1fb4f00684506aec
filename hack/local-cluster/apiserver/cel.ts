import { isObject, type JsonValue } from './json.js';
import { CelSyntaxError, parseCel, type BinaryOp, type Expr } from './cel-parser.js';

/**
 * A small CEL evaluator for CRD `x-kubernetes-validations`. Integers are bigint and
 * doubles are number, so that `7 / 2 == 3` holds as in CEL; mixed int/double arithmetic
 * is promoted to double (CEL would reject it at type-check time, which this subset skips).
 */
export type CelValue = null | boolean | bigint | number | string | CelValue[] | CelMap;
export interface CelMap {
  readonly [key: string]: CelValue;
}

export class CelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelError';
  }
}

export interface CelProgram {
  readonly source: string;
  /** Transition rules (those naming oldSelf) only run on updates, as in Kubernetes. */
  readonly usesOldSelf: boolean;
  evaluate(vars: Readonly<Record<string, CelValue>>): CelValue;
}

const GLOBAL_FUNCTIONS = new Set(['size', 'matches', 'int', 'double', 'string', 'bool', 'dyn']);
const METHODS = new Set(['size', 'startsWith', 'endsWith', 'contains', 'matches', 'lowerAscii', 'upperAscii', 'trim']);

/** Parses and checks an expression; every unsupported construct is reported here, not at evaluation. */
export function compileCel(source: string, variables: readonly string[] = ['self', 'oldSelf']): CelProgram {
  let ast: Expr;
  try {
    ast = parseCel(source);
  } catch (err) {
    if (err instanceof CelSyntaxError) throw new CelError(`syntax error: ${err.message}`);
    throw err;
  }
  let usesOldSelf = false;
  const check = (e: Expr, scope: ReadonlySet<string>): void => {
    switch (e.k) {
      case 'lit':
        return;
      case 'ident':
        if (!scope.has(e.name)) throw new CelError(`undeclared reference to '${e.name}'`);
        if (e.name === 'oldSelf') usesOldSelf = true;
        return;
      case 'list':
        return e.items.forEach((x) => check(x, scope));
      case 'map':
        return e.entries.forEach(([k, v]) => (check(k, scope), check(v, scope)));
      case 'select':
      case 'has':
        return check(e.operand, scope);
      case 'index':
        check(e.operand, scope);
        return check(e.index, scope);
      case 'call': {
        const known = e.target ? METHODS.has(e.fn) : GLOBAL_FUNCTIONS.has(e.fn);
        if (!known) throw new CelError(`unsupported function '${e.fn}'${e.target ? ' (as a method)' : ''}`);
        if (e.target) check(e.target, scope);
        return e.args.forEach((a) => check(a, scope));
      }
      case 'unary':
        return check(e.operand, scope);
      case 'binary':
        check(e.left, scope);
        return check(e.right, scope);
      case 'cond':
        check(e.test, scope);
        check(e.then, scope);
        return check(e.otherwise, scope);
      case 'comprehension': {
        check(e.target, scope);
        return check(e.body, new Set([...scope, e.variable]));
      }
    }
  };
  check(ast, new Set(variables));
  return { source, usesOldSelf, evaluate: (vars) => evaluate(ast, vars) };
}

/** JSON to CEL: whole numbers become ints unless the schema says `number`. */
export function celFromJson(v: JsonValue, numbersAreDoubles = false): CelValue {
  if (typeof v === 'number') return Number.isInteger(v) && !numbersAreDoubles ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => celFromJson(x));
  if (isObject(v)) {
    const out: Record<string, CelValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = celFromJson(x);
    return out;
  }
  return v;
}

function isMap(v: CelValue): v is CelMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: CelValue): string {
  if (v === null) return 'null_type';
  if (Array.isArray(v)) return 'list';
  switch (typeof v) {
    case 'bigint':
      return 'int';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    default:
      return 'map';
  }
}

function noOverload(op: string, ...args: CelValue[]): CelError {
  return new CelError(`no such overload: ${op}(${args.map(typeName).join(', ')})`);
}

function celEquals(a: CelValue, b: CelValue): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) return Number(a) === Number(b);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => celEquals(x, b[i]));
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && celEquals(a[k], b[k]));
  }
  return a === b;
}

function compare(op: BinaryOp, a: CelValue, b: CelValue): boolean {
  let c: number;
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    c = typeof a === 'bigint' && typeof b === 'bigint' ? (a < b ? -1 : a > b ? 1 : 0) : Number(a) - Number(b);
  } else if (typeof a === 'string' && typeof b === 'string') c = a < b ? -1 : a > b ? 1 : 0;
  else if (typeof a === 'boolean' && typeof b === 'boolean') c = Number(a) - Number(b);
  else throw noOverload(op, a, b);
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkInt(v: bigint): bigint {
  if (v < INT64_MIN || v > INT64_MAX) throw new CelError('integer overflow');
  return v;
}

function arithmetic(op: BinaryOp, a: CelValue, b: CelValue): CelValue {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if ((op === '/' || op === '%') && b === 0n) throw new CelError(op === '/' ? 'division by zero' : 'modulus by zero');
    switch (op) {
      case '+':
        return checkInt(a + b);
      case '-':
        return checkInt(a - b);
      case '*':
        return checkInt(a * b);
      case '/':
        return checkInt(a / b);
      default:
        return a % b;
    }
  }
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number') && op !== '%') {
    const x = Number(a);
    const y = Number(b);
    return op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
  }
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
  if (op === '+' && Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  throw noOverload(op, a, b);
}

function size(v: CelValue): bigint {
  if (typeof v === 'string') return BigInt([...v].length);
  if (Array.isArray(v)) return BigInt(v.length);
  if (isMap(v)) return BigInt(Object.keys(v).length);
  throw noOverload('size', v);
}

function asBool(v: CelValue, what: string): boolean {
  if (typeof v !== 'boolean') throw new CelError(`${what} must be bool, got ${typeName(v)}`);
  return v;
}

function regex(pattern: CelValue): RegExp {
  if (typeof pattern !== 'string') throw noOverload('matches', pattern);
  try {
    return new RegExp(pattern, 'u');
  } catch {
    throw new CelError(`invalid regular expression ${JSON.stringify(pattern)}`);
  }
}

function convert(fn: string, v: CelValue): CelValue {
  switch (fn) {
    case 'dyn':
      return v;
    case 'int':
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return checkInt(BigInt(Math.trunc(v)));
      if (typeof v === 'string' && /^[+-]?\d+$/.test(v)) return checkInt(BigInt(v));
      throw noOverload('int', v);
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      throw noOverload('double', v);
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
      if (typeof v === 'number') return Number.isInteger(v) ? v.toFixed(1).replace(/\.0$/, '') : String(v);
      throw noOverload('string', v);
    default:
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      throw noOverload('bool', v);
  }
}

function callMethod(fn: string, target: CelValue, args: CelValue[]): CelValue {
  if (fn === 'size' && args.length === 0) return size(target);
  if (typeof target !== 'string') throw noOverload(fn, target, ...args);
  const arg = args[0];
  switch (fn) {
    case 'startsWith':
    case 'endsWith':
    case 'contains':
      if (typeof arg !== 'string' || args.length !== 1) throw noOverload(fn, target, ...args);
      return fn === 'startsWith' ? target.startsWith(arg) : fn === 'endsWith' ? target.endsWith(arg) : target.includes(arg);
    case 'matches':
      return regex(arg).test(target);
    case 'lowerAscii':
      return target.replace(/[A-Z]/g, (c) => c.toLowerCase());
    case 'upperAscii':
      return target.replace(/[a-z]/g, (c) => c.toUpperCase());
    default:
      return target.trim();
  }
}

function select(v: CelValue, field: string): CelValue {
  if (!isMap(v)) throw new CelError(`type '${typeName(v)}' does not support field selection`);
  if (!Object.hasOwn(v, field)) throw new CelError(`no such key: ${field}`);
  return v[field];
}

function evaluate(e: Expr, vars: Readonly<Record<string, CelValue>>): CelValue {
  const ev = (x: Expr) => evaluate(x, vars);
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'ident':
      if (!Object.hasOwn(vars, e.name)) throw new CelError(`no value for '${e.name}'`);
      return vars[e.name];
    case 'list':
      return e.items.map(ev);
    case 'map': {
      const out: Record<string, CelValue> = {};
      for (const [k, v] of e.entries) {
        const key = ev(k);
        if (typeof key !== 'string') throw new CelError('map keys must be strings in this evaluator');
        out[key] = ev(v);
      }
      return out;
    }
    case 'select':
      return select(ev(e.operand), e.field);
    case 'has': {
      const v = ev(e.operand);
      if (!isMap(v)) throw new CelError(`has() on type '${typeName(v)}'`);
      return Object.hasOwn(v, e.field) && v[e.field] !== null;
    }
    case 'index': {
      const v = ev(e.operand);
      const i = ev(e.index);
      if (Array.isArray(v)) {
        if (typeof i !== 'bigint' && !(typeof i === 'number' && Number.isInteger(i))) throw noOverload('_[_]', v, i);
        const n = Number(i);
        if (n < 0 || n >= v.length) throw new CelError(`index out of range: ${n}`);
        return v[n];
      }
      if (isMap(v) && typeof i === 'string') return select(v, i);
      throw noOverload('_[_]', v, i);
    }
    case 'call': {
      if (e.target) return callMethod(e.fn, ev(e.target), e.args.map(ev));
      const args = e.args.map(ev);
      if (e.fn === 'size' && args.length === 1) return size(args[0]);
      if (e.fn === 'matches' && args.length === 2) return callMethod('matches', args[0], [args[1]]);
      if (args.length !== 1) throw new CelError(`${e.fn}() takes one argument`);
      return convert(e.fn, args[0]);
    }
    case 'unary': {
      const v = ev(e.operand);
      if (e.op === '!') return !asBool(v, 'operand of !');
      if (typeof v === 'bigint') return checkInt(-v);
      if (typeof v === 'number') return -v;
      throw noOverload('-_', v);
    }
    case 'binary':
      return binary(e.op, e.left, e.right, vars);
    case 'cond':
      return asBool(ev(e.test), 'condition of ?:') ? ev(e.then) : ev(e.otherwise);
    case 'comprehension':
      return comprehension(e, vars);
  }
}

/** CEL's && and || absorb errors when the other side decides the result. */
function logical(op: '&&' | '||', left: Expr, right: Expr, vars: Readonly<Record<string, CelValue>>): boolean {
  const decisive = op === '||';
  let leftErr: unknown;
  try {
    if (asBool(evaluate(left, vars), `operand of ${op}`) === decisive) return decisive;
  } catch (err) {
    leftErr = err;
  }
  const r = asBool(evaluate(right, vars), `operand of ${op}`);
  if (r === decisive) return decisive;
  if (leftErr !== undefined) throw leftErr;
  return !decisive;
}

function binary(op: BinaryOp, left: Expr, right: Expr, vars: Readonly<Record<string, CelValue>>): CelValue {
  if (op === '&&' || op === '||') return logical(op, left, right, vars);
  const a = evaluate(left, vars);
  const b = evaluate(right, vars);
  switch (op) {
    case '==':
      return celEquals(a, b);
    case '!=':
      return !celEquals(a, b);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(op, a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => celEquals(a, x));
      if (isMap(b) && typeof a === 'string') return Object.hasOwn(b, a);
      throw noOverload('in', a, b);
    default:
      return arithmetic(op, a, b);
  }
}

function comprehension(e: Extract<Expr, { k: 'comprehension' }>, vars: Readonly<Record<string, CelValue>>): CelValue {
  const target = evaluate(e.target, vars);
  const elements: CelValue[] = Array.isArray(target) ? target : isMap(target) ? Object.keys(target) : [];
  if (!Array.isArray(target) && !isMap(target)) throw noOverload(e.macro, target);
  const run = (x: CelValue) => evaluate(e.body, { ...vars, [e.variable]: x });
  switch (e.macro) {
    case 'all':
      return elements.every((x) => asBool(run(x), 'all() predicate'));
    case 'exists':
      return elements.some((x) => asBool(run(x), 'exists() predicate'));
    case 'exists_one':
      return elements.filter((x) => asBool(run(x), 'exists_one() predicate')).length === 1;
    case 'map':
      return elements.map(run);
    case 'filter':
      return elements.filter((x) => asBool(run(x), 'filter() predicate'));
  }
}
