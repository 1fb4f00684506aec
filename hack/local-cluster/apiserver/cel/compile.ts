/**
 * Compiles x-kubernetes-validations rules and their messageExpressions for one schema node
 * and runs them, with the outcomes the API server reports
 * (apiextensions-apiserver pkg/apiserver/schema/cel/compilation.go and validation.go).
 */
import { isCelError, parse, plan, type CelInput, type CelValue } from '@bufbuild/cel';
import type { Schema, ValidationRule } from '../schema.js';
import { checkExpr, type CheckIssue } from './check.js';
import { env } from './env.js';
import { celValueOf, declTypeOf, T, type DeclType } from './types.js';

type Evaluator = (vars: Record<string, CelInput>) => unknown;

export interface CompiledExpression {
  run: Evaluator;
  usesOldSelf: boolean;
}

export interface CompiledRule {
  rule: ValidationRule;
  /** Undefined for an empty rule (refused at CRD acceptance) or one that did not compile. */
  program?: CompiledExpression;
  /** `compilation failed: ...` or `cel expression must evaluate to a bool`. */
  error?: string;
  message?: CompiledExpression;
  messageError?: string;
}

/** cel-go's issue format: `ERROR: <input>:1:5: msg` then the source line and a caret under the column. */
function formatIssue(source: string, offset: number, message: string): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = offset - lineStart;
  const text = source.split('\n')[line - 1] ?? '';
  return `ERROR: <input>:${line}:${column + 1}: ${message}\n | ${text}\n | ${'.'.repeat(column)}^`;
}

/** Parses and type-checks one expression; returns the issues as cel-go would print them. */
function compileExpression(source: string, vars: ReadonlyMap<string, DeclType>): { program?: CompiledExpression; type?: DeclType; issues?: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    const m = /^<input>:(\d+):(\d+): (.*)$/s.exec((err as Error).message);
    if (!m) return { issues: `ERROR: <input>:1:1: Syntax error: ${(err as Error).message}` };
    const lines = source.split('\n');
    const offset = lines.slice(0, Number(m[1]) - 1).reduce((n, l) => n + l.length + 1, 0) + Number(m[2]) - 1;
    return { issues: formatIssue(source, offset, `Syntax error: ${m[3]}`) };
  }
  const checked = checkExpr(parsed.expr, vars, parsed.sourceInfo?.positions ?? {});
  if (checked.issues.length > 0) return { issues: checked.issues.map((i: CheckIssue) => formatIssue(source, i.offset, i.message)).join('\n') };
  const run = plan(env, parsed) as Evaluator;
  return { program: { run, usesOldSelf: checked.usesOldSelf }, type: checked.type };
}

/** The variables a node's rules see: self and oldSelf, both of the node's type. */
export function ruleVariables(s: Schema, resourceRoot: boolean): Map<string, DeclType> {
  const t = declTypeOf(s, resourceRoot);
  return new Map([
    ['self', t],
    ['oldSelf', t],
  ]);
}

export function compileRule(rule: ValidationRule, vars: ReadonlyMap<string, DeclType>): CompiledRule {
  const out: CompiledRule = { rule };
  if (rule.rule.trim() === '') return out;
  const compiled = compileExpression(rule.rule, vars);
  if (compiled.issues !== undefined) out.error = `compilation failed: ${compiled.issues}`;
  else if (compiled.type !== T.bool) out.error = 'cel expression must evaluate to a bool';
  else out.program = compiled.program;
  // As in cel-go's compilation, a messageExpression is only compiled once its rule has.
  if (out.program && rule.messageExpression !== undefined && rule.messageExpression.trim() !== '') {
    const msg = compileExpression(rule.messageExpression, vars);
    if (msg.issues !== undefined) out.messageError = `messageExpression compilation failed: ${msg.issues}`;
    else if (msg.type !== T.string) out.messageError = 'messageExpression must evaluate to a string';
    else out.message = msg.program;
  }
  return out;
}

const compiledByNode = new WeakMap<Schema, CompiledRule[]>();

/** The node's rules, compiled once per schema node. */
export function compiledRules(s: Schema, resourceRoot: boolean): CompiledRule[] {
  let rules = compiledByNode.get(s);
  if (!rules) {
    const vars = ruleVariables(s, resourceRoot);
    rules = (s.validations ?? []).map((r) => compileRule(r, vars));
    compiledByNode.set(s, rules);
  }
  return rules;
}

/** cel-go's wording for the runtime errors a rule can hit, where @bufbuild/cel words them differently. */
export function runtimeErrorText(message: string): string {
  const field = /^field not found: (.*)$/.exec(message);
  if (field) return `no such key: ${field[1]}`;
  if (/^found no matching overload/.test(message)) return 'no such overload';
  if (/divide by zero/.test(message)) return 'division by zero';
  if (/modulus by zero/.test(message)) return 'modulus by zero';
  return message;
}

export type Outcome = { ok: true; value: CelValue } | { ok: false; error: string };

/** Runs a compiled expression on a node's value (and old value for transition rules). */
export function runExpression(program: CompiledExpression, s: Schema, resourceRoot: boolean, self: Parameters<typeof celValueOf>[0], oldSelf?: Parameters<typeof celValueOf>[0]): Outcome {
  const vars: Record<string, CelInput> = { self: celValueOf(self, s, resourceRoot) };
  if (oldSelf !== undefined) vars.oldSelf = celValueOf(oldSelf, s, resourceRoot);
  let result: unknown;
  try {
    result = program.run(vars);
  } catch (err) {
    return { ok: false, error: runtimeErrorText((err as Error).message) };
  }
  if (isCelError(result)) return { ok: false, error: runtimeErrorText(result.message) };
  return { ok: true, value: result as CelValue };
}
