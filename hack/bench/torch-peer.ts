/**
 * The PyTorch peer of bench:train as a child process (hack/bench/torch_peer.py --serve):
 * found when some python3 imports torch (Debian's python3-torch lives under /usr/bin/python3,
 * which need not be the python3 first on PATH), asked for one timing at a time so that the
 * caller can interleave PyTorch's timings with its own on a busy machine.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface PeerRequest {
  model: 'lenet' | 'resnet20' | 'resnext29';
  threads: number;
  batch: number;
  /** Input height and width (32 for CIFAR-10, 28 for the tutorial's crops). */
  size: number;
  maxSeconds: number;
  maxSteps: number;
}

export interface PeerTiming {
  imagesPerSecond: number;
  msPerStep: number;
  cpuMsPerStep: number;
  steps: number;
}

const SCRIPT = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

/** The first interpreter that imports torch, with its version, or why none does. */
export function findTorch(candidates = ['/usr/bin/python3', 'python3']): { python: string; version: string } | { reason: string } {
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python, version: r.stdout.trim() };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { reason: `no python3 here imports torch (${tried.join('; ')}); on Debian: apt-get install python3-torch` };
}

export class TorchPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  private stderr = '';
  private exited: string | undefined;

  constructor(python: string) {
    // The same OpenMP wait policy as the native backend sets for itself (see native/addon.ts),
    // so that the comparison is of the kernels, not of how threads wait on a busy machine.
    const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
    this.child = spawn(python, [SCRIPT, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.child.on('exit', (code, signal) => {
      this.exited = `the PyTorch peer exited (${signal ?? `code ${code}`}): ${this.stderr.trim().split('\n').slice(-3).join(' ')}`;
      for (const p of this.pending.splice(0)) p('');
    });
  }

  /** One timing; rejects with the peer's error, or when it does not answer within `limitMs`. */
  time(request: PeerRequest, limitMs = 15 * 60_000): Promise<PeerTiming> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the PyTorch peer did not answer ${JSON.stringify(request)} within ${limitMs / 1000} s`)), limitMs);
      this.pending.push((line) => {
        clearTimeout(timer);
        if (line === '') return reject(new Error(this.exited ?? 'the PyTorch peer closed its output'));
        const answer = JSON.parse(line) as Partial<PeerTiming> & { error?: string };
        if (answer.error !== undefined) return reject(new Error(`PyTorch peer, ${JSON.stringify(request)}: ${answer.error}`));
        resolve(answer as PeerTiming);
      });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
    if (this.exited === undefined) this.child.kill('SIGTERM');
  }
}
