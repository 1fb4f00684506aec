/**
 * Helpers for communication-layer tests: configs for ranks on loopback, deterministic
 * inputs, a float64 reference average, and child-process ranks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { distConfigFromEnv, type DistConfig } from '../../trainer/dist/config.js';
import { joinGroup, type Group } from '../../trainer/dist/group.js';
import { Rng } from '../../trainer/util/rng.js';

export const SECRET = 'test-secret-0123456789abcdef';
export const FINGERPRINT = 'sha256:test-model';

/** An unused TCP port on `host` (bind to 0, read, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Each rank gets its own loopback address, like pods get their own IPs. */
export function podIp(rank: number): string {
  return `127.0.0.${rank + 2}`;
}

export interface ClusterOptions {
  peerTimeoutS?: number;
  rendezvousTimeoutS?: number;
  chunkBytes?: number;
  secret?: string;
  jobId?: string;
}

export function rankEnv(n: number, rank: number, masterPort: number, o: ClusterOptions = {}): Record<string, string> {
  return {
    WORLD_SIZE: String(n),
    RANK: String(rank),
    MASTER_ADDR: podIp(0),
    MASTER_PORT: String(masterPort),
    POD_IP: podIp(rank),
    CIFAR_PEER_SECRET: o.secret ?? SECRET,
    CIFAR_JOB_ID: o.jobId ?? 'test-job',
    CIFAR_PEER_TIMEOUT: String(o.peerTimeoutS ?? 5),
    CIFAR_RENDEZVOUS_TIMEOUT: String(o.rendezvousTimeoutS ?? 10),
    ...(o.chunkBytes === undefined ? {} : { CIFAR_ALLREDUCE_CHUNK_BYTES: String(o.chunkBytes) }),
  };
}

export function rankConfig(n: number, rank: number, masterPort: number, o: ClusterOptions = {}): DistConfig {
  return distConfigFromEnv(rankEnv(n, rank, masterPort, o));
}

/** Starts n ranks as async tasks in this process. */
export async function startGroups(n: number, o: ClusterOptions = {}, log: (line: string) => void = () => undefined): Promise<Group[]> {
  const port = await freePort(podIp(0));
  return Promise.all(
    Array.from({ length: n }, (_, r) => joinGroup(rankConfig(n, r, port, o), { fingerprint: FINGERPRINT, log })),
  );
}

/** Rank r's deterministic input: values of mixed magnitude so summation order matters. */
export function inputFor(rank: number, length: number, seed = 1): Float32Array {
  const rng = Rng.derive(seed, rank);
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = (rng.next() - 0.5) * 2 ** ((i % 17) - 8);
  return a;
}

export function referenceAverage(inputs: readonly Float32Array[]): Float64Array {
  const out = new Float64Array(inputs[0]?.length ?? 0);
  for (const a of inputs) for (let i = 0; i < a.length; i++) out[i] = (out[i] as number) + (a[i] as number);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / inputs.length;
  return out;
}

/**
 * Largest |got - reference| over the element's input scale (max |input| across ranks):
 * float32 summation of n terms is good to about n * 2^-24 of that scale.
 */
export function maxScaledError(got: Float32Array, inputs: readonly Float32Array[]): number {
  const want = referenceAverage(inputs);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    let scale = 1e-30;
    for (const a of inputs) scale = Math.max(scale, Math.abs(a[i] as number));
    worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)) / scale);
  }
  return worst;
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const TSX = fileURLToPath(import.meta.resolve('tsx'));
export const RANK_FIXTURE = fileURLToPath(new URL('../fixtures/dist-rank.ts', import.meta.url));

/** Spawns `node --import tsx <script>` with only the environment given (plus PATH). */
export function spawnTs(script: string, args: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, script, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's stdout lines as parsed JSON objects; resolves on exit with its code. */
export function watchChild(child: ChildProcess): { lines: Record<string, unknown>[]; exited: Promise<number | null>; stderr: () => string } {
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ text: line });
      }
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { lines, exited, stderr: () => err };
}

/** Waits until `pred` holds, polling, for at most `ms`. */
export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
