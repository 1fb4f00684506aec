/** The real operator as a child process, as production runs it, and its memory from /proc. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild, type ChildExit, type RunningChild } from '../../local-cluster/node-agent/child-process.js';
import { logTail } from '../../local-cluster/node-agent/termination-message.js';

export interface OperatorMemory {
  /** Resident set now, and its high-water mark since start, in MB (10^6 bytes, as the target is stated). */
  rssMB: number;
  hwmMB: number;
}

export interface OperatorProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process exits (on its own or after stop()). */
  readonly exited: Promise<ChildExit>;
  memory(): Promise<OperatorMemory>;
  stderrTail(): string;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

/** How the operator starts: its TypeScript source through tsx (default), or a compiled or bundled main (see bundle.ts). */
export function operatorArgs(root: string, kubeconfig: string, workers: number, compiledMain?: string): string[] {
  const program = compiledMain === undefined ? ['--import', 'tsx', join(root, 'operator', 'main.ts')] : [compiledMain];
  return [...program, '--kubeconfig', kubeconfig, '--leader-elect=false', '--metrics-addr', '127.0.0.1:0',
    '--progress-interval', '0', '--workers', String(workers), '--log-level', 'warn'];
}

/** VmRSS and VmHWM of a process, from /proc/<pid>/status (Linux). */
export async function processMemory(pid: number): Promise<OperatorMemory> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
    if (m === null) throw new Error(`/proc/${pid}/status: no ${field} line`);
    return Number(m[1]);
  };
  return { rssMB: (kib('VmRSS') * 1024) / 1e6, hwmMB: (kib('VmHWM') * 1024) / 1e6 };
}

export async function startOperatorProcess(root: string, kubeconfig: string, workers: number, logFile: string, compiledMain?: string): Promise<OperatorProcess> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const child: RunningChild = await startChild({ file: process.execPath, args: operatorArgs(root, kubeconfig, workers, compiledMain), env, cwd: root }, logFile);
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    logFile,
    exited: child.exited,
    memory: () => processMemory(child.pid),
    stderrTail: () => logTail(child.stderrTail(), 20),
    stop() {
      stopping ??= child.stop(STOP_GRACE_MS).then(() => undefined);
      return stopping;
    },
  };
}
