import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveS3Config, type S3Config } from '../../trainer/io/s3-config.js';

/** The parts of a tap Test this helper uses. */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

export interface S3rverHandle {
  endpoint: string;
  config: S3Config;
  pid: number;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export interface S3rverOptions {
  buckets: string[];
  /** Loopback address to listen on; default 127.0.0.1. */
  address?: string;
  /** Default 0 (the system picks a free port). */
  port?: number;
  /** Keep the objects here across starts; default a fresh temporary directory, removed on stop. */
  dataDir?: string;
}

/**
 * Starts s3rver (a real HTTP S3 server) as a child process on 127.0.0.1 with a fresh
 * data directory and the given buckets, and stops it by PID when the test ends.
 * --openssl-legacy-provider: s3rver's continuation tokens use a cipher that Node 17+
 * only has with the legacy provider; without it paged ListObjectsV2 answers 500.
 */
export async function startS3rver(t: TeardownHost, opts: S3rverOptions): Promise<S3rverHandle> {
  const ownsDir = opts.dataDir === undefined;
  const dir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  if (!ownsDir) await mkdir(dir, { recursive: true });
  const address = opts.address ?? '127.0.0.1';
  const bin = join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
  // Path-style only: otherwise s3rver takes a host name that is not an IP (a Service name) for a bucket.
  const args = [bin, '-d', dir, '-a', address, '-p', String(opts.port ?? 0), '--silent', '--no-vhost-buckets'];
  for (const bucket of opts.buckets) args.push('--configure-bucket', bucket);
  // A clean NODE_OPTIONS also keeps tap's loaders out of the server process.
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= killAndClean(child, ownsDir ? dir : undefined));
  t.teardown(stop);
  if (pid === undefined) {
    await stop();
    throw new Error('s3rver: spawn failed (no pid)');
  }
  try {
    const port = await waitForPort(child);
    const endpoint = `http://${address}:${port}`;
    await waitUntilAnswering(endpoint);
    const config = resolveS3Config(
      { endpoint, region: 'us-east-1', forcePathStyle: true },
      { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    );
    return { endpoint, config, pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Reads the "S3rver listening on 127.0.0.1:PORT" line, bounded by START_TIMEOUT_MS. */
function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`s3rver (pid ${child.pid}): ${why}; stderr: ${err.slice(-2000) || '(empty)'}`));
    };
    const timer = setTimeout(() => fail(`did not report its port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onOut = (data: Buffer): void => {
      out += data.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) {
        cleanup();
        resolve(Number(m[1]));
      }
    };
    const onErr = (data: Buffer): void => {
      err += data.toString();
    };
    const onExit = (code: number | null, signal: string | null): void => fail(`exited early (code ${code}, signal ${signal})`);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.off('exit', onExit);
      // Keep draining so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
    };
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

/** Polls until any HTTP answer comes back: bounded in attempts and time. */
async function waitUntilAnswering(endpoint: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no attempt';
  for (let attempt = 0; attempt < 100 && Date.now() < deadline; attempt++) {
    try {
      await probe(endpoint);
      return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
      await sleep(100);
    }
  }
  throw new Error(`s3rver at ${endpoint} did not answer within ${START_TIMEOUT_MS} ms: ${last}`);
}

function probe(endpoint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}/`, { method: 'GET', timeout: 1_000 }, (res) => {
      res.resume();
      resolve();
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** SIGTERM by PID, SIGKILL if it lingers, then remove the data directory (when it is ours). */
async function killAndClean(child: ChildProcess, dir: string | undefined): Promise<void> {
  if (child.pid !== undefined && !hasExited(child)) {
    const exited = waitForExit(child, STOP_TIMEOUT_MS);
    process.kill(child.pid, 'SIGTERM');
    if (!(await exited) && !hasExited(child)) {
      const killed = waitForExit(child, STOP_TIMEOUT_MS);
      process.kill(child.pid, 'SIGKILL');
      await killed;
    }
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves true on exit, false after `ms`; clears its timer so the test can end at once. */
function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    child.once('exit', onExit);
  });
}
