import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './datasets.js';

/** The ceiling every hostile-input test holds the trainer to (issue 14). */
export const HOSTILE_RSS_LIMIT_BYTES = 600 * 1024 * 1024;

export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size of the process, in bytes. */
  peakRss: number;
  ms: number;
}

/** The peak RSS (VmHWM) of a running process, in bytes; 0 once it is gone. */
export function vmHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A child past this is killed at once: the test has failed, and the shared machine is spared. */
const KILL_ABOVE_BYTES = 1536 * 1024 * 1024;

/**
 * Runs `cifar-trainer ARGS` from source as its own process and reports its peak RSS: the
 * child writes getrusage's maxrss on exit, and /proc's VmHWM is sampled while it runs in
 * case it dies without an exit handler (an abort). Killed after `limitMs`, or as soon as
 * its RSS passes 1.5 GB.
 */
export async function runTrainerMeasured(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 120_000, onSpawn?: (child: ChildProcess) => void): Promise<MeasuredRun> {
  const dir = mkdtempSync(join(tmpdir(), 'peak-rss-'));
  const report = join(dir, 'rss');
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', pathToFileURL(join(repoRoot, 'test', 'fixtures', 'report-peak-rss.mjs')).href, join(repoRoot, 'trainer', 'cli', 'main.ts'), ...args],
    { cwd: repoRoot, env: { ...process.env, ...env, PEAK_RSS_FILE: report }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  let sampled = 0;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const sampler = setInterval(() => {
    if (child.pid === undefined) return;
    sampled = Math.max(sampled, vmHwm(child.pid));
    if (sampled > KILL_ABOVE_BYTES) child.kill('SIGKILL');
  }, 20);
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve([c, s]));
    });
    const reported = Number(await readFile(report, 'utf8').catch(() => '0'));
    return { code, signal, stdout, stderr, peakRss: Math.max(reported, sampled), ms: Date.now() - started };
  } finally {
    clearInterval(sampler);
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

/** Asserts a measured run stayed under the hostile-input memory ceiling. */
export function underLimit(t: Test, run: MeasuredRun, what: string): void {
  t.ok(run.peakRss > 0 && run.peakRss < HOSTILE_RSS_LIMIT_BYTES, `${what}: peak RSS ${mb(run.peakRss)} < 600 MB (${run.ms} ms)`);
}
