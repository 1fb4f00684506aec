/**
 * Pod → the program its container runs, as the image would run it: which program, with
 * the container's arguments and environment exactly as the pod gives them (paths are
 * not rewritten: the sandbox puts volumes at their mountPaths), plus what a runtime adds
 * (PATH, HOSTNAME, HOME). Pure, so what a pod turns into can be read and tested without
 * starting anything.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { CommandTable } from './commands.js';
import { PodConfigError, podRef } from './pod-ref.js';

export interface ContainerProcess {
  /** Program and arguments, run inside the pod's root. */
  command: string[];
  env: Record<string, string>;
  workingDir: string;
  /** Where the container writes its termination message (mounted from the pod's directory). */
  terminationMessagePath: string;
  hostname: string;
}

export interface ProcessSpecInput {
  pod: V1Pod;
  container: V1Container;
  /** Resolved by env.ts. */
  env: Record<string, string>;
  commands: CommandTable;
  /** The node binary the "image" runs programs on. */
  execPath: string;
  /** The DNS preload (file URL), the local stand-in for cluster DNS. */
  dnsHookUrl: string;
  /** The image's WORKDIR: the checkout, as /app is in the trainer image. */
  imageWorkingDir: string;
}

/** The PATH container runtimes give an image that sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/** The pod's hostname: spec.hostname, else its name (truncated to 63 as the kubelet does). */
export function podHostname(pod: V1Pod): string {
  return (pod.spec?.hostname ?? pod.metadata?.name ?? '').slice(0, 63);
}

export function buildContainerProcess(input: ProcessSpecInput): ContainerProcess {
  const { pod, container } = input;
  const [name, ...commandArgs] = container.command ?? [];
  if (name === undefined) {
    throw new PodConfigError('ErrImageNeverPull', `pod ${podRef(pod)}: local cluster: container ${container.name} has no command; images are not run here, only known commands (${[...input.commands.keys()].join(', ')})`, true);
  }
  const program = input.commands.get(name);
  if (program === undefined) {
    throw new PodConfigError('ErrImageNeverPull', `pod ${podRef(pod)}: local cluster: unknown command ${name} (known: ${[...input.commands.keys()].join(', ')})`, true);
  }
  const hostname = podHostname(pod);
  return {
    command: [input.execPath, '--import', input.dnsHookUrl, ...program.nodeArgs, ...commandArgs, ...(container.args ?? [])],
    // Runtime defaults first; the container's own variables win, as with an image's ENV.
    env: { PATH: DEFAULT_PATH, HOSTNAME: hostname, HOME: '/root', ...input.env },
    workingDir: container.workingDir ?? input.imageWorkingDir,
    terminationMessagePath: container.terminationMessagePath ?? DEFAULT_TERMINATION_MESSAGE_PATH,
    hostname,
  };
}
