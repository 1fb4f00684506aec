/**
 * `cifar-trainer launch`: several ranks in one pod, as `torchrun --nproc-per-node`. Each
 * local rank is a child process of this CLI with its RANK, LOCAL_RANK and (on GPU nodes)
 * its own CUDA_VISIBLE_DEVICES; the launcher forwards signals, stops the others when one
 * fails, and leaves one exit code and one termination message for the pod.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command, CommandIO } from './command.js';
import { intFlag, parseFlags } from './command.js';
import { UsageError } from '../util/errors.js';
import { planChildren, podExit, type ChildExit, type ChildPlan, type LaunchSpec } from './launch-plan.js';
import { writeTerminationMessage } from './termination-message.js';
import { defaultThreadCount } from '../engine/backend/threads.js';
import { TRAINER_ENV } from '../../contract/env.js';

const usage = `Usage: cifar-trainer launch --nproc-per-node N [options] -- COMMAND [ARGS...]

Runs N ranks of a data-parallel group in this pod (or machine), like torchrun
--nproc-per-node: local rank i runs 'cifar-trainer COMMAND ARGS' with
RANK = NODE_RANK x N + i, LOCAL_RANK = i and WORLD_SIZE from the environment (N when
unset). Ranks of one pod are neighbours in the all-reduce ring. Only local rank 0 keeps
--metrics-port and --metrics-host: the pod has one metrics port. Unless OMP_NUM_THREADS is
set, each rank gets OMP_NUM_THREADS = the pod's CPUs / N (its --threads default).

Options:
  --nproc-per-node N       processes (ranks) in this pod, 1 to 64
  --node-rank R            this pod's index among the job's pods (default NODE_RANK, else 0)
  --gpus-per-process K     pin each rank to its own K GPUs with CUDA_VISIBLE_DEVICES (default 0: unchanged)
  --stop-timeout SECONDS   after one rank fails or a signal arrives, how long the others get
                           to exit before they are killed (default 30)

Exit code: the first rank to fail with a permanent error (1, 2, ...) speaks for the pod;
else 75 if a rank lost its peers, else 143 if they stopped on SIGTERM, else 0. The pod's
termination message is that rank's, prefixed with its rank.`;

const flags = {
  'nproc-per-node': { type: 'string' },
  'node-rank': { type: 'string' },
  'gpus-per-process': { type: 'string' },
  'stop-timeout': { type: 'string' },
} as const;

/** Starts one child; tests inject a fake. */
export type SpawnChild = (args: string[], env: NodeJS.ProcessEnv) => ChildProcess;

/** This CLI again, run the way this process was (node flags such as a TypeScript loader included). */
export const spawnSelf: SpawnChild = (args, env) => {
  const here = fileURLToPath(import.meta.url);
  const main = join(here, '..', `main${extname(here)}`);
  return spawn(process.execPath, [...process.execArgv, main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
};

export function parseLaunch(argv: readonly string[], env: NodeJS.ProcessEnv): { spec: LaunchSpec; stopTimeoutMs: number } {
  const split = argv.indexOf('--');
  if (split < 0) throw new UsageError("launch: give the subcommand after '--', e.g. launch --nproc-per-node 2 -- train --data-train ...");
  const { values: v } = parseFlags('launch', argv.slice(0, split), flags);
  if (v['nproc-per-node'] === undefined) throw new UsageError('launch: --nproc-per-node N is required');
  const nprocPerNode = intFlag('nproc-per-node', v['nproc-per-node'], 1, 1, 64);
  const nodeRankText = v['node-rank'] ?? env[TRAINER_ENV.nodeRank];
  const nodeRank = intFlag(v['node-rank'] === undefined ? 'node-rank (NODE_RANK)' : 'node-rank', nodeRankText, 0, 0, 4095);
  const worldSize = env[TRAINER_ENV.worldSize] === undefined || env[TRAINER_ENV.worldSize] === '' ? nprocPerNode : intFlag('WORLD_SIZE', env[TRAINER_ENV.worldSize], 1, 1, 4096);
  const gpusPerProcess = intFlag('gpus-per-process', v['gpus-per-process'], 0, 0, 16);
  const stopTimeoutMs = intFlag('stop-timeout', v['stop-timeout'], 30, 1, 3600) * 1000;
  return { spec: { nprocPerNode, nodeRank, worldSize, gpusPerProcess, command: argv.slice(split + 1) }, stopTimeoutMs };
}

/** Copies a child's output line by line with a `[rank N]` prefix, so interleaved logs stay readable. */
function relay(stream: NodeJS.ReadableStream | null, out: NodeJS.WritableStream, rank: number): void {
  if (stream === null) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) out.write(`[rank ${rank}] ${line}\n`);
  });
  stream.on('end', () => {
    if (pending !== '') out.write(`[rank ${rank}] ${pending}\n`);
  });
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : osConstants.signals[signal];
  return 128 + (number ?? 1);
}

interface Running {
  plan: ChildPlan;
  child: ChildProcess;
  terminationLog: string;
  done: Promise<ChildExit>;
}

export async function runLaunch(argv: string[], io: CommandIO, spawnChild: SpawnChild = spawnSelf): Promise<number> {
  const { spec, stopTimeoutMs } = parseLaunch(argv, io.env);
  // The pod's CPUs (its cgroup limit, else the cores) split between its processes.
  const plans = planChildren({ ...spec, threadsPerProcess: Math.max(1, Math.floor(defaultThreadCount(undefined, undefined, {}) / spec.nprocPerNode)) }, io.env);
  const scratch = await mkdtemp(join(tmpdir(), 'cifar-launch-'));
  const running: Running[] = [];
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stopAll = (signal: NodeJS.Signals): void => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill(signal);
    if (stopping) return;
    stopping = true;
    killTimer = setTimeout(() => {
      for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }, stopTimeoutMs);
    killTimer.unref();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    io.stderr.write(`launch: ${signal}: passing it to ${running.length} rank(s)\n`);
    stopAll(signal);
  };
  const sigterm = (): void => onSignal('SIGTERM');
  const sigint = (): void => onSignal('SIGINT');
  process.on('SIGTERM', sigterm);
  process.on('SIGINT', sigint);
  try {
    io.stderr.write(`launch: ranks ${plans.map((p) => p.rank).join(', ')} of ${spec.worldSize} (pod ${spec.nodeRank}, ${spec.nprocPerNode} per pod)\n`);
    for (const plan of plans) {
      const terminationLog = join(scratch, `termination-${plan.localRank}`);
      const child = spawnChild(plan.args, { ...io.env, ...plan.env, CIFAR_TERMINATION_LOG: terminationLog });
      relay(child.stdout, io.stdout, plan.rank);
      relay(child.stderr, io.stderr, plan.rank);
      const done = new Promise<ChildExit>((resolve) => {
        const finish = (code: number): void => {
          void readFile(terminationLog, 'utf8').then(
            (message) => resolve({ rank: plan.rank, code, message }),
            () => resolve({ rank: plan.rank, code }),
          );
        };
        child.once('error', (err) => {
          io.stderr.write(`launch: rank ${plan.rank} could not start: ${err.message}\n`);
          finish(127);
        });
        child.once('close', (code, signal) => finish(exitCodeOf(code, signal)));
      });
      running.push({ plan, child, terminationLog, done });
    }
    const exits: ChildExit[] = [];
    await Promise.all(
      running.map(async (r) => {
        const exit = await r.done;
        exits.push(exit);
        // One rank gone means the group is broken: the others stop instead of waiting out a peer timeout.
        if (exit.code !== 0 && !stopping) {
          io.stderr.write(`launch: rank ${exit.rank} exited with code ${exit.code}; stopping the other ranks\n`);
          stopAll('SIGTERM');
        }
      }),
    );
    const result = podExit(exits);
    if (result.message !== undefined) await writeTerminationMessage(result.message, io.env);
    io.stderr.write(`launch: every rank has exited; pod exit code ${result.code}${result.code === 0 ? '' : ` (from rank ${result.rank})`}\n`);
    return result.code;
  } finally {
    if (killTimer !== undefined) clearTimeout(killTimer);
    process.off('SIGTERM', sigterm);
    process.off('SIGINT', sigint);
    await rm(scratch, { recursive: true, force: true });
  }
}

export const launchCommand: Command = {
  name: 'launch',
  summary: 'run several ranks in one pod, one per GPU (as torchrun --nproc-per-node)',
  usage,
  run: (argv, io) => runLaunch(argv, io),
};
