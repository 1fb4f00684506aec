/**
 * All-reduce bus bandwidth against raw TCP, measured in the same run.
 *
 *   npm run bench:allreduce
 *
 * Definitions as in nccl-tests: algbw = bytes / time, busbw = algbw * 2(n-1)/n, which is
 * the per-link traffic of a ring all-reduce, so busbw is comparable to a link's bandwidth.
 * References: (a) one process streaming to another on loopback; (b) n processes streaming
 * round a ring at once (each to its successor), i.e. what one link gives when every link
 * is busy, which is the real bound for busbw on a machine where loopback shares the CPUs.
 *
 * Optional: n=4 ranks in network namespaces joined by veth through a bridge, each veth
 * shaped to 1 Gbit/s with tc tbf; reports time against the ring bound 2(n-1)/n * S / B.
 * Skipped with a line saying why when namespaces cannot be created.
 *
 * Ranks and stream endpoints are child processes running this file with --child.
 */
import { execFileSync, spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { distConfigFromEnv } from '../../trainer/dist/config.js';
import { joinGroup } from '../../trainer/dist/group.js';

const MiB = 1024 * 1024;
const SELF = fileURLToPath(import.meta.url);
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const SECRET = 'bench-secret-0123456789abcdef';

interface ChildResult {
  [key: string]: unknown;
}

// ---------------------------------------------------------------- children

/** One endpoint of the raw TCP reference: listen, connect to the successor, stream, count. */
async function rawChild(args: string[]): Promise<void> {
  const [rankS, nS, bytesS, hostsS, portS, modeS] = args;
  const rank = Number(rankS);
  const n = Number(nS);
  const total = Number(bytesS);
  const hosts = String(hostsS).split(',');
  const port = Number(portS);
  const oneWay = modeS === 'oneway';
  const send = !oneWay || rank === 0;
  const recv = !oneWay || rank === 1;
  const host = (r: number): string => hosts[r] as string;
  const received = new Promise<number>((resolve, reject) => {
    const server = createServer((s) => {
      let got = 0;
      let t0 = 0;
      s.on('data', (d: Buffer) => {
        if (got === 0) t0 = performance.now();
        got += d.length;
        if (got >= total) {
          resolve(total / ((performance.now() - t0) / 1000));
          s.destroy();
          server.close();
        }
      });
      s.on('error', reject);
    });
    server.listen(port, host(rank));
    if (!recv) {
      server.close();
      resolve(0);
    }
  });
  process.stdout.write('{"listening":true}\n');
  await new Promise((r) => setTimeout(r, 500 + 100 * n));
  const sent = send ? streamTo(host((rank + 1) % n), port, total, host(rank)) : Promise.resolve();
  const [rate] = await Promise.all([received, sent]);
  process.stdout.write(`${JSON.stringify({ rank, rate })}\n`);
}

async function streamTo(host: string, port: number, total: number, localAddress: string): Promise<void> {
  const s: Socket = await new Promise((resolve, reject) => {
    const sock = connect({ host, port, localAddress, noDelay: true }, () => resolve(sock));
    sock.on('error', reject);
  });
  const buf = Buffer.alloc(MiB, 1);
  for (let sent = 0; sent < total; sent += buf.length) {
    if (!s.write(buf)) await new Promise((r) => s.once('drain', r));
  }
  await new Promise<void>((r) => s.end(r));
}

/** One rank of the all-reduce benchmark, configured by the operator's environment variables. */
async function rankChild(args: string[]): Promise<void> {
  const sizes = args.map(Number);
  const cfg = distConfigFromEnv(process.env);
  const group = await joinGroup(cfg, { fingerprint: 'bench' });
  const big = new Float32Array(Math.max(...sizes) / 4);
  big.fill(cfg.rank + 1);
  const want = (cfg.worldSize + 1) / 2;
  // Warm up the sockets and JIT before timing anything.
  for (let i = 0; i < 3; i++) await group.allReduce(big.subarray(0, (4 * MiB) / 4));
  for (const size of sizes) {
    const view = big.subarray(0, size / 4);
    const iters = Math.max(2, Math.min(20, Math.round((256 * MiB) / size)));
    await group.allReduce(view);
    await group.barrier();
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) await group.allReduce(view);
    const seconds = (performance.now() - t0) / 1000 / iters;
    // Averaging arrays of constants stays exactly (n+1)/2: a cheap end-to-end check.
    const ok = view[0] === want && view[view.length - 1] === want;
    if (cfg.rank === 0) process.stdout.write(`${JSON.stringify({ size, seconds, iters, ok })}\n`);
  }
  await group.barrier();
  await group.close();
}

// ---------------------------------------------------------------- parent

interface Launch {
  args: string[];
  env?: Record<string, string>;
  netns?: string;
}

function run(launches: Launch[], timeoutMs: number): Promise<ChildResult[][]> {
  return Promise.all(
    launches.map(
      (l) =>
        new Promise<ChildResult[]>((resolve, reject) => {
          const node = [process.execPath, '--import', TSX, SELF, '--child', ...l.args];
          const [cmd, ...argv] = l.netns ? ['ip', 'netns', 'exec', l.netns, ...node] : node;
          const child = spawn(cmd as string, argv, {
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(l.env ?? {}) },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          child.on('exit', (code) => {
            clearTimeout(timer);
            if (code !== 0) return reject(new Error(`child ${l.args.join(' ')} exited with ${code}`));
            resolve(out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ChildResult));
          });
        }),
    ),
  );
}

const loopbackHosts = (n: number): string[] => Array.from({ length: n }, (_, r) => `127.0.0.${r + 2}`);
let nextPort = 21000 + Math.floor(Math.random() * 20000);

/** Raw TCP throughput (bytes/s): one-way between two processes, or per link of an n-ring. */
async function rawRate(n: number, mode: 'oneway' | 'ring', bytes: number, hosts = loopbackHosts(n), netns?: string[]): Promise<number> {
  const port = nextPort++;
  const out = await run(
    hosts.map((_, r) => ({ args: ['raw', String(r), String(n), String(bytes), hosts.join(','), String(port), mode], netns: netns?.[r] })),
    120_000,
  );
  const rates = out.flat().flatMap((o) => (typeof o.rate === 'number' && o.rate > 0 ? [o.rate] : []));
  return Math.min(...rates);
}

interface Point {
  size: number;
  seconds: number;
  iters: number;
  ok: boolean;
}

/** CIFAR_ALLREDUCE_CHUNK_BYTES in the bench's environment is passed on, to compare sub-chunk sizes. */
async function allReduceRun(
  n: number,
  sizes: number[],
  hosts = loopbackHosts(n),
  netns?: string[],
  chunkBytes = process.env.CIFAR_ALLREDUCE_CHUNK_BYTES,
): Promise<Point[]> {
  const port = nextPort++;
  const env = (r: number): Record<string, string> => ({
    WORLD_SIZE: String(n),
    RANK: String(r),
    MASTER_ADDR: hosts[0] as string,
    MASTER_PORT: String(port),
    POD_IP: hosts[r] as string,
    CIFAR_PEER_SECRET: SECRET,
    CIFAR_PEER_TIMEOUT: '30',
    CIFAR_RENDEZVOUS_TIMEOUT: '30',
    ...(chunkBytes ? { CIFAR_ALLREDUCE_CHUNK_BYTES: chunkBytes } : {}),
  });
  const out = await run(
    hosts.map((_, r) => ({ args: ['rank', ...sizes.map(String)], env: env(r), netns: netns?.[r] })),
    300_000,
  );
  return out.flat().filter((o): o is ChildResult & Point => typeof o.size === 'number') as Point[];
}

const mbps = (bps: number): string => `${(bps / 1e6).toFixed(0)} MB/s`;
const busFactor = (n: number): number => (2 * (n - 1)) / n;

// ------------------------------------------------------------- netns variant

const NS_PREFIX = 'cifarbench';
const BRIDGE_NS = `${NS_PREFIX}-br`;

function sh(...argv: string[]): void {
  execFileSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

function netnsCleanup(n: number): void {
  for (const ns of [BRIDGE_NS, ...Array.from({ length: n }, (_, r) => `${NS_PREFIX}-${r}`)]) {
    try {
      sh('ip', 'netns', 'del', ns);
    } catch {
      // absent: nothing to clean
    }
  }
}

/** n namespaces, each with a veth to a bridge namespace, egress shaped to `rate` by tbf. */
function netnsSetup(n: number, rate: string): { hosts: string[]; namespaces: string[] } {
  netnsCleanup(n);
  sh('ip', 'netns', 'add', BRIDGE_NS);
  sh('ip', '-n', BRIDGE_NS, 'link', 'add', 'br0', 'type', 'bridge');
  sh('ip', '-n', BRIDGE_NS, 'link', 'set', 'br0', 'up');
  const hosts: string[] = [];
  const namespaces: string[] = [];
  for (let r = 0; r < n; r++) {
    const ns = `${NS_PREFIX}-${r}`;
    const host = `10.77.0.${r + 1}`;
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${r}`, 'netns', BRIDGE_NS);
    sh('ip', '-n', ns, 'addr', 'add', `${host}/24`, 'dev', 'eth0');
    sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    sh('ip', '-n', BRIDGE_NS, 'link', 'set', `p${r}`, 'master', 'br0');
    sh('ip', '-n', BRIDGE_NS, 'link', 'set', `p${r}`, 'up');
    sh('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', rate, 'burst', '256kb', 'latency', '100ms');
    hosts.push(host);
    namespaces.push(ns);
  }
  return { hosts, namespaces };
}

async function netnsVariant(): Promise<string> {
  const n = 4;
  const size = 64 * MiB;
  const bandwidth = 1e9 / 8;
  let setup: { hosts: string[]; namespaces: string[] };
  try {
    setup = netnsSetup(n, '1gbit');
  } catch (err) {
    netnsCleanup(n);
    const why = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    console.log(`netns: SKIP (cannot create network namespaces with tc shaping here: ${why})`);
    return 'netns skipped';
  }
  try {
    const link = await rawRate(2, 'oneway', 64 * MiB, setup.hosts.slice(0, 2), setup.namespaces.slice(0, 2));
    const [p] = await allReduceRun(n, [size], setup.hosts, setup.namespaces);
    if (!p) throw new Error('no result from rank 0');
    const bound = (busFactor(n) * size) / bandwidth;
    const eff = bound / p.seconds;
    console.log(
      `netns: n=${n} ranks, veth shaped by tbf to 1 Gbit/s (raw TCP through one shaped link: ${mbps(link)}); ` +
        `all-reduce of ${size / MiB} MiB took ${p.seconds.toFixed(3)} s vs ring bound 2(n-1)/n*S/B = ${bound.toFixed(3)} s ` +
        `-> ${(eff * 100).toFixed(0)}% of the bound, busbw ${mbps((size / p.seconds) * busFactor(n))}${p.ok ? '' : ' RESULT WRONG'}`,
    );
    return `netns 1 Gbit/s n=4: ${(eff * 100).toFixed(0)}% of ring bound`;
  } finally {
    netnsCleanup(n);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const sizes = [1, 4, 16, 64, 256].map((m) => m * MiB);
  const rawBytes = 1024 * MiB;
  const started = Date.now();
  const raw = await rawRate(2, 'oneway', rawBytes);
  console.log(`raw TCP, one process streaming to another on loopback: ${mbps(raw)}`);
  const summary: string[] = [];
  for (const n of [2, 4]) {
    const ring = await rawRate(n, 'ring', 512 * MiB);
    console.log(`raw TCP, ${n} processes streaming round a ring at once: ${mbps(ring)} per link`);
    const points = await allReduceRun(n, sizes);
    let best = 0;
    for (const p of points) {
      const algbw = p.size / p.seconds;
      const busbw = algbw * busFactor(n);
      best = Math.max(best, busbw);
      console.log(
        `n=${n} size=${String(p.size / MiB).padStart(3)} MiB  time=${(p.seconds * 1000).toFixed(1).padStart(7)} ms (x${p.iters})  ` +
          `algbw=${mbps(algbw).padStart(9)}  busbw=${mbps(busbw).padStart(9)}  ` +
          `busbw/raw=${(busbw / raw).toFixed(2)}  busbw/ring-raw=${(busbw / ring).toFixed(2)}${p.ok ? '' : '  RESULT WRONG'}`,
      );
    }
    summary.push(`n=${n} peak busbw ${mbps(best)} = ${(best / raw).toFixed(2)}x raw, ${(best / ring).toFixed(2)}x ring-raw`);
  }
  summary.push(await netnsVariant());
  console.log(`summary: raw ${mbps(raw)}; ${summary.join('; ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  const [, kind, ...rest] = argv;
  (kind === 'raw' ? rawChild(rest) : rankChild(rest)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    netnsCleanup(4);
    process.exit(1);
  });
}
