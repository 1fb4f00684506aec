/**
 * Lexer and parser for the subset of CEL that CRD validation rules use here:
 * literals, field selection, indexing, calls, macros (has, all, exists, exists_one, map,
 * filter), unary ! and -, arithmetic, comparison, `in`, && || and ?:.
 */

export class CelSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'CelSyntaxError';
  }
}

export type CelLiteral = null | boolean | bigint | number | string;

export type Expr =
  | { k: 'lit'; v: CelLiteral }
  | { k: 'ident'; name: string }
  | { k: 'list'; items: Expr[] }
  | { k: 'map'; entries: Array<[Expr, Expr]> }
  | { k: 'select'; operand: Expr; field: string }
  | { k: 'index'; operand: Expr; index: Expr }
  | { k: 'call'; fn: string; target?: Expr; args: Expr[] }
  | { k: 'unary'; op: '!' | '-'; operand: Expr }
  | { k: 'binary'; op: BinaryOp; left: Expr; right: Expr }
  | { k: 'cond'; test: Expr; then: Expr; otherwise: Expr }
  | { k: 'has'; operand: Expr; field: string }
  | { k: 'comprehension'; macro: 'all' | 'exists' | 'exists_one' | 'map' | 'filter'; target: Expr; variable: string; body: Expr };

export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | '+' | '-' | '*' | '/' | '%';

type Token =
  | { t: 'num'; v: bigint | number; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'id'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'eof'; at: number };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '%', '?', ':', '.', ',', '(', ')', '[', ']', '{', '}'];
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '`': '`', '?': '?', a: '\x07', b: '\b', f: '\f', v: '\v' };

function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const hex = /^0[xX][0-9a-fA-F]+[uU]?/.exec(src.slice(i));
      if (hex) {
        i += hex[0].length;
        out.push({ t: 'num', v: BigInt(hex[0].replace(/[uU]$/, '')), at: start });
        continue;
      }
      const m = /^(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|[0-9]+[uU]?)/.exec(src.slice(i));
      if (!m) throw new CelSyntaxError('bad number', i);
      i += m[0].length;
      const text = m[0];
      const isInt = /^[0-9]+[uU]?$/.test(text);
      out.push({ t: 'num', v: isInt ? BigInt(text.replace(/[uU]$/, '')) : Number(text), at: start });
      continue;
    }
    const raw = (c === 'r' || c === 'R') && (src[i + 1] === '"' || src[i + 1] === "'");
    if (c === '"' || c === "'" || raw) {
      if (raw) i++;
      const q = src[i];
      const triple = src.startsWith(q.repeat(3), i);
      const close = triple ? q.repeat(3) : q;
      i += close.length;
      let v = '';
      for (;;) {
        if (i >= src.length) throw new CelSyntaxError('unterminated string', start);
        if (src.startsWith(close, i)) {
          i += close.length;
          break;
        }
        const ch = src[i];
        if (!triple && ch === '\n') throw new CelSyntaxError('newline in string', i);
        if (ch === '\\' && !raw) {
          const e = src[i + 1];
          if (e === 'u' || e === 'x') {
            const len = e === 'u' ? 4 : 2;
            const h = src.slice(i + 2, i + 2 + len);
            if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new CelSyntaxError('bad escape', i);
            v += String.fromCodePoint(parseInt(h, 16));
            i += 2 + len;
            continue;
          }
          const mapped = ESCAPES[e];
          if (mapped === undefined) throw new CelSyntaxError(`bad escape \\${e}`, i);
          v += mapped;
          i += 2;
          continue;
        }
        v += ch;
        i++;
      }
      out.push({ t: 'str', v, at: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      out.push({ t: 'id', v: src.slice(start, i), at: start });
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CelSyntaxError(`unexpected character ${JSON.stringify(c)}`, i);
    i += op.length;
    out.push({ t: 'op', v: op, at: start });
  }
  out.push({ t: 'eof', at: src.length });
  return out;
}

const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const RESERVED = new Set(['as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

class Parser {
  private pos = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.pos];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private eat(v: string): void {
    const t = this.peek();
    if (t.t !== 'op' || t.v !== v) throw new CelSyntaxError(`expected ${JSON.stringify(v)}`, t.at);
    this.pos++;
  }

  parseAll(): Expr {
    const e = this.expr();
    const t = this.peek();
    if (t.t !== 'eof') throw new CelSyntaxError('unexpected token', t.at);
    return e;
  }

  private expr(): Expr {
    const test = this.or();
    if (!this.isOp('?')) return test;
    this.pos++;
    const then = this.or();
    this.eat(':');
    return { k: 'cond', test, then, otherwise: this.expr() };
  }

  private or(): Expr {
    let e = this.and();
    while (this.isOp('||')) {
      this.pos++;
      e = { k: 'binary', op: '||', left: e, right: this.and() };
    }
    return e;
  }

  private and(): Expr {
    let e = this.relation();
    while (this.isOp('&&')) {
      this.pos++;
      e = { k: 'binary', op: '&&', left: e, right: this.relation() };
    }
    return e;
  }

  private relation(): Expr {
    let e = this.additive();
    for (;;) {
      const t = this.peek();
      const op = t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v) ? t.v : t.t === 'id' && t.v === 'in' ? 'in' : undefined;
      if (!op) return e;
      this.pos++;
      e = { k: 'binary', op: op as BinaryOp, left: e, right: this.additive() };
    }
  }

  private additive(): Expr {
    let e = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.toks[this.pos++] as { v: string }).v as BinaryOp;
      e = { k: 'binary', op, left: e, right: this.multiplicative() };
    }
    return e;
  }

  private multiplicative(): Expr {
    let e = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.toks[this.pos++] as { v: string }).v as BinaryOp;
      e = { k: 'binary', op, left: e, right: this.unary() };
    }
    return e;
  }

  private unary(): Expr {
    if (this.isOp('!') || this.isOp('-')) {
      const op = (this.toks[this.pos++] as { v: string }).v as '!' | '-';
      const operand = this.unary();
      // Fold negative literals so that -9223372036854775808 and -1.5 stay literals.
      if (op === '-' && operand.k === 'lit' && (typeof operand.v === 'bigint' || typeof operand.v === 'number')) return { k: 'lit', v: -operand.v };
      return { k: 'unary', op, operand };
    }
    return this.member();
  }

  private member(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.pos++;
        const t = this.peek();
        if (t.t !== 'id') throw new CelSyntaxError('expected field name', t.at);
        this.pos++;
        if (this.isOp('(')) {
          this.pos++;
          const args = this.args(')');
          e = this.methodCall(e, t.v, args, t.at);
        } else e = { k: 'select', operand: e, field: t.v };
      } else if (this.isOp('[')) {
        this.pos++;
        const index = this.expr();
        this.eat(']');
        e = { k: 'index', operand: e, index };
      } else return e;
    }
  }

  private methodCall(target: Expr, fn: string, args: Expr[], at: number): Expr {
    if (!MACROS.has(fn)) return { k: 'call', fn, target, args };
    if (args.length !== 2 || args[0].k !== 'ident') throw new CelSyntaxError(`${fn}() takes a variable name and an expression`, at);
    return { k: 'comprehension', macro: fn as 'all', target, variable: args[0].name, body: args[1] };
  }

  private args(close: string): Expr[] {
    const out: Expr[] = [];
    if (this.isOp(close)) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.expr());
      if (this.isOp(',')) {
        this.pos++;
        if (this.isOp(close)) break; // trailing comma
        continue;
      }
      break;
    }
    this.eat(close);
    return out;
  }

  private primary(): Expr {
    const t = this.peek();
    this.pos++;
    switch (t.t) {
      case 'num':
      case 'str':
        return { k: 'lit', v: t.v };
      case 'id': {
        if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
        if (t.v === 'null') return { k: 'lit', v: null };
        if (RESERVED.has(t.v) || t.v === 'in') throw new CelSyntaxError(`reserved word ${t.v}`, t.at);
        if (this.isOp('(')) {
          this.pos++;
          const args = this.args(')');
          if (t.v === 'has') {
            const a = args[0];
            if (args.length !== 1 || a.k !== 'select') throw new CelSyntaxError('has() needs a field selection such as has(self.a.b)', t.at);
            return { k: 'has', operand: a.operand, field: a.field };
          }
          return { k: 'call', fn: t.v, args };
        }
        return { k: 'ident', name: t.v };
      }
      case 'op':
        if (t.v === '(') {
          const e = this.expr();
          this.eat(')');
          return e;
        }
        if (t.v === '[') return { k: 'list', items: this.args(']') };
        if (t.v === '{') return { k: 'map', entries: this.mapEntries() };
        throw new CelSyntaxError(`unexpected ${JSON.stringify(t.v)}`, t.at);
      case 'eof':
        throw new CelSyntaxError('unexpected end of expression', t.at);
    }
  }

  private mapEntries(): Array<[Expr, Expr]> {
    const out: Array<[Expr, Expr]> = [];
    while (!this.isOp('}')) {
      const key = this.expr();
      this.eat(':');
      out.push([key, this.expr()]);
      if (!this.isOp(',')) break;
      this.pos++;
    }
    this.eat('}');
    return out;
  }
}

export function parseCel(src: string): Expr {
  return new Parser(lex(src)).parseAll();
}
