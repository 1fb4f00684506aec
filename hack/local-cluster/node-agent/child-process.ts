/**
 * A child process the local cluster owns: output to a log file, a bounded tail of stderr
 * in memory, and a stop that escalates from SIGTERM to SIGKILL after a grace period.
 * Each child leads its own process group, so a terminal's Ctrl-C reaches only the agent,
 * which then stops children in order, and a stop reaches the child's own children too.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { formatRecord, RecordSplitter } from './cri-log.js';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface RunningChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  /** The last `STDERR_TAIL_BYTES` of stderr. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs: number): Promise<ChildExit>;
  /** Immediate SIGKILL of the process group, for synchronous last-resort cleanup. */
  killNow(): void;
}

export const STDERR_TAIL_BYTES = 8192;
/** After exit, how long to wait for the pipes to drain (a grandchild may hold them open). */
const DRAIN_MS = 500;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export interface ChildOptions {
  /** Write the log in the CRI format (timestamped records per stream), as container runtimes do. */
  cri?: boolean;
}

export function startChild(spec: ChildSpec, logFile: string, opts: ChildOptions = {}): Promise<RunningChild> {
  const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  // Losing the log file must not take the agent down; the process keeps running.
  log.on('error', () => undefined);
  const child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let tail = Buffer.alloc(0);
  const splitters = opts.cri ? { stdout: new RecordSplitter('stdout', (r) => log.write(formatRecord(r))), stderr: new RecordSplitter('stderr', (r) => log.write(formatRecord(r))) } : undefined;
  // Decoders keep a character split across two chunks whole.
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  child.stdout.on('data', (chunk: Buffer) => (splitters ? splitters.stdout.write(decoders.stdout.write(chunk)) : log.write(chunk)));
  child.stderr.on('data', (chunk: Buffer) => {
    if (splitters) splitters.stderr.write(decoders.stderr.write(chunk));
    else log.write(chunk);
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      const drained = new Promise<void>((r) => setTimeout(r, DRAIN_MS).unref());
      void Promise.race([closed, drained]).then(() => {
        splitters?.stdout.flush();
        splitters?.stderr.flush();
        log.end(() => resolve({ code, signal }));
      });
    });
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      log.end();
      reject(err);
    });
    child.once('spawn', () => {
      const pid = child.pid ?? 0;
      let done = false;
      void exited.then(() => (done = true));
      resolve({
        pid,
        exited,
        stderrTail: () => tail.toString('utf8'),
        async stop(graceMs) {
          if (done) return exited;
          signalGroup(pid, 'SIGTERM');
          const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
          const exit = await exited;
          clearTimeout(timer);
          return exit;
        },
        killNow() {
          if (!done) signalGroup(pid, 'SIGKILL');
        },
      });
    });
  });
}
