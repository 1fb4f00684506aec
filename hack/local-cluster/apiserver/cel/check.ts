/**
 * Type-checks a parsed CEL expression against the schema-derived types of `self` and
 * `oldSelf`, as cel-go's checker does when the API server compiles a CRD's rules
 * (apiextensions-apiserver pkg/apiserver/schema/cel/compilation.go). @bufbuild/cel parses
 * and evaluates; its own checker does not yet cover selections and calls, so this one does,
 * taking every function overload from the environment the rules run in.
 *
 * Messages follow cel-go's: `undeclared reference to 'x' (in container '')`,
 * `undefined field 'x'`, `found no matching overload for 'f' applied to '(int, string)'`.
 */
import type { parse } from '@bufbuild/cel';
import { env } from './env.js';
import { fromLibraryType, isAssignable, isDynLike, join, listOf, mapOf, T, typeName, type DeclType } from './types.js';

type Expr = ReturnType<typeof parse>['expr'];

export interface CheckIssue {
  /** Offset of the offending expression in the source. */
  offset: number;
  message: string;
}

export interface CheckResult {
  type: DeclType;
  issues: CheckIssue[];
  /** A rule naming oldSelf is a transition rule: it only runs when there is an old value. */
  usesOldSelf: boolean;
}

const TYPE_IDENTS = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);

class Checker {
  readonly issues: CheckIssue[] = [];
  usesOldSelf = false;
  private scopes: Array<Map<string, DeclType>>;

  constructor(
    vars: ReadonlyMap<string, DeclType>,
    private readonly positions: { [id: string]: number },
  ) {
    this.scopes = [new Map(vars)];
  }

  private fail(e: Expr, message: string): DeclType {
    this.issues.push({ offset: this.positions[e.id.toString()] ?? 0, message });
    return T.error;
  }

  private lookup(name: string): DeclType | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const t = this.scopes[i].get(name);
      if (t !== undefined) {
        if (name === 'oldSelf' && i === 0) this.usesOldSelf = true;
        return t;
      }
    }
    return undefined;
  }

  check(e: Expr): DeclType {
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr':
        return this.constant(k.value.constantKind.case);
      case 'identExpr': {
        const t = this.lookup(k.value.name);
        if (t !== undefined) return t;
        if (TYPE_IDENTS.has(k.value.name)) return T.type;
        return this.fail(e, `undeclared reference to '${k.value.name}' (in container '')`);
      }
      case 'selectExpr': {
        if (!k.value.operand) return this.fail(e, 'selection without an operand');
        const operand = this.check(k.value.operand);
        const field = this.select(e, operand, k.value.field);
        return k.value.testOnly && field !== T.error ? T.bool : field;
      }
      case 'callExpr':
        return this.call(e, k.value.function, k.value.target, k.value.args);
      case 'listExpr': {
        let elem: DeclType = T.unknown;
        for (const item of k.value.elements) {
          const t = this.check(item);
          const joined = join(elem, t);
          if (joined === undefined) return this.fail(item, `expected type '${typeName(elem)}' but found '${typeName(t)}'`);
          elem = joined;
        }
        return listOf(elem);
      }
      case 'structExpr': {
        if (k.value.messageName !== '') return this.fail(e, `undeclared reference to '${k.value.messageName}' (in container '')`);
        let key: DeclType = T.unknown;
        let value: DeclType = T.unknown;
        for (const entry of k.value.entries) {
          if (entry.keyKind.case !== 'mapKey' || !entry.value) continue;
          const kt = this.check(entry.keyKind.value);
          const vt = this.check(entry.value);
          const nk = join(key, kt);
          const nv = join(value, vt);
          if (nk === undefined) return this.fail(entry.keyKind.value, `expected type '${typeName(key)}' but found '${typeName(kt)}'`);
          if (nv === undefined) return this.fail(entry.value, `expected type '${typeName(value)}' but found '${typeName(vt)}'`);
          key = nk;
          value = nv;
        }
        return mapOf(key, value);
      }
      case 'comprehensionExpr': {
        const c = k.value;
        if (!c.iterRange || !c.accuInit || !c.loopCondition || !c.loopStep || !c.result) return this.fail(e, 'incomplete comprehension');
        const range = this.check(c.iterRange);
        let iterType: DeclType;
        if (range.kind === 'list') iterType = range.elem;
        else if (range.kind === 'map') iterType = range.key;
        else if (isDynLike(range)) iterType = T.dyn;
        else return this.fail(c.iterRange, `expression of type '${typeName(range)}' cannot be range of a comprehension (must be list, map, or dynamic)`);
        const init = this.check(c.accuInit);
        this.scopes.push(new Map([[c.accuVar, init], [c.iterVar, iterType]]));
        const step = this.check(c.loopStep);
        const accu = join(init, step) ?? init;
        this.scopes[this.scopes.length - 1].set(c.accuVar, accu);
        this.expectBool(c.loopCondition, this.check(c.loopCondition), '@not_strictly_false');
        this.scopes.pop();
        this.scopes.push(new Map([[c.accuVar, accu]]));
        const result = this.check(c.result);
        this.scopes.pop();
        return result;
      }
      default:
        return this.fail(e, `unsupported expression ${String(k.case)}`);
    }
  }

  private constant(kind: string | undefined): DeclType {
    switch (kind) {
      case 'int64Value':
        return T.int;
      case 'uint64Value':
        return T.uint;
      case 'doubleValue':
        return T.double;
      case 'stringValue':
        return T.string;
      case 'boolValue':
        return T.bool;
      case 'bytesValue':
        return T.bytes;
      case 'nullValue':
        return T.null;
      default:
        return T.dyn;
    }
  }

  private select(e: Expr, operand: DeclType, field: string): DeclType {
    if (operand === T.error) return T.error;
    if (isDynLike(operand)) return T.dyn;
    if (operand.kind === 'object') {
      const f = operand.fields.get(field);
      return f ?? this.fail(e, `undefined field '${field}'`);
    }
    if (operand.kind === 'map' && isAssignable(operand.key, T.string)) return operand.value;
    return this.fail(e, `type '${typeName(operand)}' does not support field selection`);
  }

  private expectBool(e: Expr, t: DeclType, fn: string): void {
    if (!isAssignable(T.bool, t)) this.fail(e, `found no matching overload for '${fn}' applied to '(${typeName(t)})'`);
  }

  private noOverload(e: Expr, fn: string, target: DeclType | undefined, args: DeclType[]): DeclType {
    const list = `(${args.map(typeName).join(', ')})`;
    return this.fail(e, `found no matching overload for '${fn}' applied to '${target ? `${typeName(target)}.${list}` : list}'`);
  }

  private call(e: Expr, fn: string, targetExpr: Expr | undefined, argExprs: Expr[]): DeclType {
    const target = targetExpr ? this.check(targetExpr) : undefined;
    const args = argExprs.map((a) => this.check(a));
    if (target === T.error || args.includes(T.error)) return T.error;
    switch (fn) {
      case '_&&_':
      case '_||_':
        return args.every((a) => isAssignable(T.bool, a)) ? T.bool : this.noOverload(e, fn, undefined, args);
      case '@not_strictly_false':
        return T.bool;
      case '_?_:_': {
        const branch = join(args[1], args[2]);
        return isAssignable(T.bool, args[0]) && branch !== undefined ? branch : this.noOverload(e, fn, undefined, args);
      }
      case '_==_':
      case '_!=_':
        return isAssignable(args[0], args[1]) && isAssignable(args[1], args[0]) ? T.bool : this.noOverload(e, fn, undefined, args);
      case '_[_]':
        return this.index(e, args[0], args[1]);
      case '@in': {
        const [elem, container] = args;
        if (isDynLike(container)) return T.bool;
        if (container.kind === 'list' && isAssignable(container.elem, elem)) return T.bool;
        if (container.kind === 'map' && isAssignable(container.key, elem)) return T.bool;
        return this.noOverload(e, fn, undefined, args);
      }
      case '_+_':
        if (args[0].kind === 'list' && args[1].kind === 'list') {
          const elem = join(args[0].elem, args[1].elem);
          return elem ? listOf(elem) : this.noOverload(e, fn, undefined, args);
        }
        break;
    }
    return this.overload(e, fn, target, args);
  }

  private index(e: Expr, container: DeclType, key: DeclType): DeclType {
    if (isDynLike(container)) return T.dyn;
    if (container.kind === 'list' && (isAssignable(T.int, key) || isAssignable(T.uint, key))) return container.elem;
    if (container.kind === 'map' && isAssignable(container.key, key)) return container.value;
    return this.noOverload(e, '_[_]', undefined, [container, key]);
  }

  /** Picks the library overloads the argument types fit; several fits with different results give dyn. */
  private overload(e: Expr, fn: string, target: DeclType | undefined, args: DeclType[]): DeclType {
    const group = env.funcs.find(fn);
    if (!group) return this.fail(e, `undeclared reference to '${fn}' (in container '')`);
    const results: DeclType[] = [];
    for (const f of group) {
      if ((f.target === undefined) !== (target === undefined) || f.arguments.length !== args.length) continue;
      if (target && f.target && !isAssignable(fromLibraryType(f.target), target)) continue;
      if (!f.arguments.every((p, i) => isAssignable(fromLibraryType(p), args[i]))) continue;
      results.push(fromLibraryType(f.result));
    }
    if (results.length === 0) return this.noOverload(e, fn, target, args);
    return results.every((r) => typeName(r) === typeName(results[0])) ? results[0] : T.dyn;
  }
}

/** Checks `expr` with the given variables; `positions` maps expression ids to source offsets. */
export function checkExpr(expr: Expr, vars: ReadonlyMap<string, DeclType>, positions: { [id: string]: number }): CheckResult {
  const checker = new Checker(vars, positions);
  const type = checker.check(expr);
  return { type, issues: checker.issues, usesOldSelf: checker.usesOldSelf };
}
