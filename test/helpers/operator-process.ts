/**
 * An operator process's stderr, always read (a pipe nobody reads fills up and blocks the
 * operator's synchronous writes) and kept as a tail to show when a test fails.
 */
import type { ChildProcess } from 'node:child_process';

export function stderrTail(child: ChildProcess, keep = 4000): () => string {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => (tail = `${tail}${d.toString()}`.slice(-keep)));
  child.once('exit', (code, signal) => (tail += `\n[exited: ${signal ?? `code ${String(code)}`}]`));
  return () => tail;
}

/** Pod addresses of their own for a test's local cluster, so clusters of tests running side by side never share one. */
export function privatePodRange(thirdOctet: number): { first: string; last: string } {
  const second = 10 + Math.floor(Math.random() * 80);
  return { first: `127.${second}.${thirdOctet}.2`, last: `127.${second}.${thirdOctet}.250` };
}

/**
 * How long an operator started from source (node --import tsx) may take to serve: tsx
 * compiles it on start, which takes tens of seconds on a busy 2-core machine.
 */
export const OPERATOR_START_TIMEOUT_MS = 90_000;
