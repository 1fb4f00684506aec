/**
 * Pod → local process: which program, with which arguments, environment and directories.
 * Pure, so that what a pod turns into can be read and tested without starting anything.
 */
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { CommandTable } from './commands.js';
import { PodConfigError, podRef } from './pod-ref.js';
import { mapMountedPath, type MountPlan } from './volumes.js';

export interface ProcessSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Where the container's termination message lands (CIFAR_TERMINATION_LOG). */
  terminationLogFile: string;
}

export interface ProcessSpecInput {
  pod: V1Pod;
  container: V1Container;
  /** Resolved by env.ts, before path rewriting. */
  env: Record<string, string>;
  mounts: readonly MountPlan[];
  commands: CommandTable;
  /** The pod's private directory on this machine. */
  podDir: string;
  /** The node binary children run on. */
  execPath: string;
  /** The DNS preload (file URL) and the hosts file it reads. */
  dnsHookUrl: string;
  hostsFile: string;
  /** PATH for the child; nothing else of the agent's environment leaks into pods. */
  path: string;
}

export const TERMINATION_LOG_ENV = 'CIFAR_TERMINATION_LOG';
export const HOSTS_FILE_ENV = 'LOCAL_CLUSTER_HOSTS';
export const NAMESPACE_ENV = 'LOCAL_CLUSTER_NAMESPACE';

const FLAG_WITH_VALUE = /^(--?[^=\s]+=)(.*)$/;

/** Rewrites an argument that is a mounted path, bare or as `--flag=/path`. */
export function mapArgument(arg: string, mounts: readonly MountPlan[]): string {
  const m = FLAG_WITH_VALUE.exec(arg);
  if (m) return m[1] + mapMountedPath(m[2], mounts);
  return mapMountedPath(arg, mounts);
}

export function buildProcessSpec(input: ProcessSpecInput): ProcessSpec {
  const { pod, container, mounts } = input;
  const [name, ...commandArgs] = container.command ?? [];
  if (name === undefined) {
    throw new PodConfigError('ErrImageNeverPull', `pod ${podRef(pod)}: local cluster: container ${container.name} has no command; images are not run here, only known commands (${[...input.commands.keys()].join(', ')})`, true);
  }
  const program = input.commands.get(name);
  if (program === undefined) {
    throw new PodConfigError('ErrImageNeverPull', `pod ${podRef(pod)}: local cluster: unknown command ${name} (known: ${[...input.commands.keys()].join(', ')})`, true);
  }
  const tmp = mounts.find((m) => m.mountPath === '/tmp');
  const scratch = tmp?.hostDir ?? join(input.podDir, 'tmp');
  const terminationLogFile = join(input.podDir, 'termination-log');
  const env: Record<string, string> = {
    PATH: input.path,
    HOSTNAME: pod.spec?.hostname ?? pod.metadata?.name ?? '',
    HOME: scratch,
    TMPDIR: scratch,
    [TERMINATION_LOG_ENV]: terminationLogFile,
    [HOSTS_FILE_ENV]: input.hostsFile,
    [NAMESPACE_ENV]: pod.metadata?.namespace ?? 'default',
  };
  for (const [k, v] of Object.entries(input.env)) env[k] = mapMountedPath(v, mounts);
  return {
    file: input.execPath,
    args: ['--import', input.dnsHookUrl, ...program.nodeArgs, ...[...commandArgs, ...(container.args ?? [])].map((a) => mapArgument(a, mounts))],
    env,
    cwd: container.workingDir ? mapMountedPath(container.workingDir, mounts) : scratch,
    terminationLogFile: env[TERMINATION_LOG_ENV] === terminationLogFile ? terminationLogFile : env[TERMINATION_LOG_ENV],
  };
}
