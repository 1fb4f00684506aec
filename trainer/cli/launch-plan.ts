/**
 * What `cifar-trainer launch` runs: one child per local rank with its place in the group,
 * and how the children's exits add up to the pod's exit. Pure: the command (launch.ts)
 * does the spawning, signals and files.
 *
 * Ranks follow torchrun's layout: rank = nodeRank x nprocPerNode + localRank, so the ranks
 * of one pod are consecutive and neighbour each other in the ring ((rank + 1) mod world):
 * all but one of each pod's ring links stay inside the pod.
 */
import { UsageError } from '../util/errors.js';
import { TRAINER_ENV } from '../../contract/env.js';

export interface LaunchSpec {
  nprocPerNode: number;
  /** This pod's index among the pods of the job (NODE_RANK). */
  nodeRank: number;
  /** Ranks in the whole job (WORLD_SIZE); nprocPerNode when the job is this one pod. */
  worldSize: number;
  /** GPUs each process gets (CUDA_VISIBLE_DEVICES); 0 leaves the variable alone. */
  gpusPerProcess: number;
  /** CPU threads each process may use (OMP_NUM_THREADS, which the trainer's --threads default honours), unless the parent set it. */
  threadsPerProcess?: number;
  /** The subcommand and its arguments, run once per local rank. */
  command: readonly string[];
}

export interface ChildPlan {
  localRank: number;
  rank: number;
  args: string[];
  /** Variables set (or replaced) in the child's environment. */
  env: Record<string, string>;
}

/** Flags only one process per pod may use: the pod declares one metrics port. */
const FIRST_PROCESS_ONLY = ['--metrics-port', '--metrics-host'];

function withoutFirstProcessFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const flag = FIRST_PROCESS_ONLY.find((f) => arg === f || arg.startsWith(`${f}=`));
    if (flag === undefined) out.push(arg);
    else if (arg === flag) i++;
  }
  return out;
}

/**
 * The GPUs of local rank `localRank`: a block of `perProcess` devices. When the parent
 * already restricts CUDA_VISIBLE_DEVICES (a list of indexes or UUIDs), the block is taken
 * from that list; otherwise from the indexes the container sees.
 */
export function visibleDevices(localRank: number, perProcess: number, nproc: number, parent: string | undefined): string {
  const listed = parent === undefined || parent.trim() === '' ? undefined : parent.split(',').map((d) => d.trim());
  if (listed !== undefined && listed.length < perProcess * nproc) {
    throw new UsageError(`--gpus-per-process ${perProcess} x --nproc-per-node ${nproc} needs ${perProcess * nproc} GPUs but CUDA_VISIBLE_DEVICES lists ${listed.length} (${parent})`);
  }
  const block = Array.from({ length: perProcess }, (_, i) => localRank * perProcess + i);
  return block.map((i) => (listed === undefined ? String(i) : (listed[i] as string))).join(',');
}

export function planChildren(spec: LaunchSpec, env: Readonly<Record<string, string | undefined>>): ChildPlan[] {
  const { nprocPerNode: n, nodeRank, worldSize } = spec;
  if (worldSize % n !== 0) throw new UsageError(`WORLD_SIZE ${worldSize} is not a multiple of --nproc-per-node ${n}: every pod runs the same number of ranks`);
  if ((nodeRank + 1) * n > worldSize) {
    throw new UsageError(`--node-rank/NODE_RANK ${nodeRank} is out of range: WORLD_SIZE ${worldSize} / --nproc-per-node ${n} makes ${worldSize / n} pod(s), numbered from 0`);
  }
  if (spec.command.length === 0) throw new UsageError('launch: nothing to run; give the subcommand after --, e.g. launch --nproc-per-node 2 -- train ...');
  return Array.from({ length: n }, (_, localRank) => {
    const rank = nodeRank * n + localRank;
    const childEnv: Record<string, string> = {
      [TRAINER_ENV.worldSize]: String(worldSize),
      [TRAINER_ENV.rank]: String(rank),
      LOCAL_RANK: String(localRank),
      LOCAL_WORLD_SIZE: String(n),
    };
    if (spec.gpusPerProcess > 0) childEnv.CUDA_VISIBLE_DEVICES = visibleDevices(localRank, spec.gpusPerProcess, n, env.CUDA_VISIBLE_DEVICES);
    // The processes share the pod's CPUs; each one taking them all would oversubscribe them.
    if (spec.threadsPerProcess !== undefined && (env.OMP_NUM_THREADS ?? '') === '') childEnv.OMP_NUM_THREADS = String(spec.threadsPerProcess);
    return { localRank, rank, args: localRank === 0 ? [...spec.command] : withoutFirstProcessFlags(spec.command), env: childEnv };
  });
}

export interface ChildExit {
  rank: number;
  /** Exit code, or 128 + signal number when a signal ended it. */
  code: number;
  /** The child's termination message, if it wrote one. */
  message?: string;
}

const EXIT_RETRYABLE = 75;
const EXIT_SIGTERM = 143;
const EXIT_SIGKILL = 137;

/** How one child's exit ranks as the pod's cause: lower is reported first. */
function severity(code: number): number {
  if (code === 0) return 4;
  if (code === EXIT_SIGTERM) return 3;
  if (code === EXIT_RETRYABLE || code === EXIT_SIGKILL) return 2;
  // Anything else (1 failed, 2 usage, an unexpected code) is the root cause: the others
  // usually exited 75 only because this one died.
  return 1;
}

/**
 * The pod's exit code and termination message from its children's, in the order they
 * exited: the first child with the most telling code speaks for the pod. All succeeded:
 * 0 and local rank 0's message (its final progress).
 */
export function podExit(exits: readonly ChildExit[]): ChildExit {
  if (exits.length === 0) throw new Error('podExit: no child exits to combine');
  let cause: ChildExit = exits[0] as ChildExit;
  for (const exit of exits) if (severity(exit.code) < severity(cause.code)) cause = exit;
  if (cause.code === 0) {
    const first = exits.reduce((a, b) => (b.rank < a.rank ? b : a));
    return { rank: first.rank, code: 0, ...(first.message === undefined ? {} : { message: first.message }) };
  }
  const message = cause.message === undefined || cause.message.trim() === '' ? `exited with code ${cause.code}` : cause.message;
  return { rank: cause.rank, code: cause.code, message: `rank ${cause.rank}: ${message}` };
}
