import type { SymbolNode } from './symbol.js';

/** An operator or attribute the importer cannot reproduce; the message names the node. */
export class UnsupportedError extends Error {
  constructor(node: SymbolNode, detail: string) {
    super(`node '${node.name}' (${node.op}): ${detail}`);
    this.name = 'UnsupportedError';
  }
}

/**
 * Typed access to one node's attributes, which MXNet stores as strings. The node's
 * accepted attribute names are declared up front; every other (except MXNet's hidden
 * `__name__` attributes, such as `__lr_mult__`) is an error naming the node, because an
 * attribute the importer does not know could change what the operator computes.
 */
export class Attrs {
  constructor(
    private readonly node: SymbolNode,
    accepted: readonly string[],
  ) {
    const known = new Set(accepted);
    for (const key of Object.keys(node.attrs)) {
      if (/^__.*__$/.test(key)) continue;
      if (!known.has(key)) throw new UnsupportedError(node, `attribute '${key}' (= '${node.attrs[key]}') is not supported`);
    }
  }

  /** Checks the attribute names of a node that reads none of their values. */
  static check(node: SymbolNode, accepted: readonly string[]): void {
    void new Attrs(node, accepted);
  }

  has(key: string): boolean {
    const raw = this.node.attrs[key];
    return raw !== undefined && raw !== 'None';
  }

  private bad(key: string, expected: string): UnsupportedError {
    return new UnsupportedError(this.node, `attribute '${key}' = '${this.node.attrs[key]}' is not ${expected}`);
  }

  int(key: string, fallback?: number): number {
    if (!this.has(key)) return this.required(key, fallback);
    const text = this.node.attrs[key].trim().replace(/L$/, '');
    if (!/^-?\d+$/.test(text)) throw this.bad(key, 'an integer');
    return Number(text);
  }

  float(key: string, fallback?: number): number {
    if (!this.has(key)) return this.required(key, fallback);
    const text = this.node.attrs[key].trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) throw this.bad(key, 'a number');
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const text = this.node.attrs[key].trim().toLowerCase();
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw this.bad(key, 'a boolean');
  }

  /** A tuple such as "(3, 3)", "[2,2]", "(3L, 3L)", "3" or "()". */
  shape(key: string, fallback?: number[]): number[] {
    if (!this.has(key)) return this.required(key, fallback);
    const text = this.node.attrs[key].trim();
    const inner = /^[([](.*)[)\]]$/.exec(text)?.[1] ?? text;
    if (inner.trim() === '') return [];
    const parts = inner.split(',').map((p) => p.trim().replace(/L$/, ''));
    if (parts[parts.length - 1] === '') parts.pop();
    if (!parts.every((p) => /^-?\d+$/.test(p))) throw this.bad(key, 'a tuple of integers');
    return parts.map(Number);
  }

  choice<C extends string>(key: string, choices: readonly C[], fallback?: C): C {
    if (!this.has(key)) return this.required(key, fallback);
    const text = this.node.attrs[key].trim();
    if ((choices as readonly string[]).includes(text)) return text as C;
    throw this.bad(key, `one of ${choices.join(', ')}`);
  }

  private required<T>(key: string, fallback: T | undefined): T {
    if (fallback === undefined) throw new UnsupportedError(this.node, `attribute '${key}' is required`);
    return fallback;
  }
}
