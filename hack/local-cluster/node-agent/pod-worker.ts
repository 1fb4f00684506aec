/**
 * One pod bound to this node, from start to removal: allocate its IP, prepare its
 * environment, volumes and sandbox, run its container as a process in its own mount
 * namespace, report each step through pods/status, and on deletion stop the process
 * within the grace period, clean up, and delete the pod with grace 0 as the kubelet's
 * status manager does, which is what finally removes a Terminating pod.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { RunningChild } from './child-process.js';
import { startChild } from './child-process.js';
import type { CommandTable } from './commands.js';
import { envSources, resolveEnv, type EnvSourceData } from './env.js';
import type { ImageLayout } from './image.js';
import type { LoopbackIpPool } from './ip-pool.js';
import type { ContainerLogSource } from './log-server.js';
import { ensureDir, materializeVolume } from './materialize.js';
import type { NodeApi } from './node-api.js';
import { etcHosts, resolvConf } from './pod-files.js';
import { PodConfigError, podRef } from './pod-ref.js';
import { podStatus, terminatedState, type ContainerState } from './pod-status.js';
import { buildContainerProcess, DEFAULT_PATH } from './process-spec.js';
import { SANDBOX_SETUP_FAILED, sandboxScript, unshareArgs, type BindMount } from './sandbox.js';
import type { SandboxSupport } from './sandbox-probe.js';
import { terminationMessage } from './termination-message.js';
import { planMounts, volumeFiles, type ClaimedPath, type HostPathType } from './volumes.js';

export interface WorkerDeps {
  api: NodeApi;
  ipPool: LoopbackIpPool;
  commands: CommandTable;
  nodeName: string;
  hostIP: string;
  /** Parent of this pod's private directory (volumes, sandbox root, termination log). */
  podsDir: string;
  /** Where container logs go (CRI format); they outlive the pod for debugging. */
  logsDir: string;
  /** The directory holding the DNS hosts file, mounted read-only in every pod. */
  dnsDir: string;
  dnsHookUrl: string;
  execPath: string;
  image: ImageLayout;
  /** The checkout: the image's working directory. */
  repoRoot: string;
  /** The cluster's state directory: hidden from pods when it lies inside the image. */
  stateDir: string;
  sandbox: SandboxSupport;
  /** The host's resolv.conf text (for nameservers). */
  hostResolvConf: string;
  /** Pause before retrying a pod whose Secret or ConfigMap is missing. */
  configRetryMs: number;
  log: (line: string) => void;
}

export const DEFAULT_GRACE_SECONDS = 30;
/** Where pods find the DNS hosts file (dns-hook.mjs reads it there). */
export const POD_DNS_DIR = '/run/local-cluster/dns';

function now(): string {
  return new Date().toISOString();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function decode(data: Record<string, Buffer> | undefined): Record<string, string> | undefined {
  return data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')]));
}

interface Prepared {
  spawnArgs: string[];
  env: Record<string, string>;
  terminationLogFile: string;
  errorFile: string;
}

export class PodWorker {
  readonly uid: string;
  readonly ref: string;
  readonly podDir: string;
  readonly logFile: string;
  readonly #pod: V1Pod;
  readonly #deps: WorkerDeps;
  readonly #scheduledAt = now();
  #ip: string | undefined;
  #child: RunningChild | undefined;
  #state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
  #stopping = false;
  #stopGraceMs = 0;
  #wake: () => void = () => undefined;
  readonly #stopped: Promise<void>;
  #finish: () => void = () => undefined;
  /** Resolves when the container ran and ended, or will never run. */
  readonly finished: Promise<void>;
  #gone = false;
  #statusChain: Promise<void> = Promise.resolve();
  #run: Promise<void> = Promise.resolve();

  constructor(pod: V1Pod, deps: WorkerDeps) {
    this.#pod = pod;
    this.#deps = deps;
    this.uid = pod.metadata?.uid ?? '';
    this.ref = podRef(pod);
    const dirName = `${pod.metadata?.namespace ?? 'default'}_${pod.metadata?.name ?? ''}_${this.uid.slice(0, 8)}`;
    this.podDir = join(deps.podsDir, dirName);
    this.logFile = join(deps.logsDir, `${dirName}.log`);
    this.#stopped = new Promise((resolve) => (this.#wake = resolve));
    this.finished = new Promise((resolve) => (this.#finish = resolve));
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get podIP(): string | undefined {
    return this.#ip;
  }

  /** The pod's own grace period in ms (spec.terminationGracePeriodSeconds). */
  graceMs(): number {
    return (this.#pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  }

  /** What the log endpoint serves for this pod's container. */
  logSource(): ContainerLogSource {
    return {
      logFile: this.logFile,
      containerName: this.#pod.spec?.containers[0]?.name ?? '',
      state: () => (this.#state.kind === 'waiting' ? { kind: 'waiting', reason: this.#state.reason } : { kind: this.#state.kind }),
      finished: this.finished,
    };
  }

  start(): void {
    this.#run = this.#lifecycle()
      .catch((err: unknown) => this.#deps.log(`pod ${this.ref}: ${errorText(err)}`))
      .finally(() => this.#finish());
  }

  /**
   * Kills the process (SIGTERM, then SIGKILL after `graceMs`), frees the IP, removes the
   * pod's files; with `deleteFromApi` then deletes the pod with grace 0 (it was Terminating).
   */
  async stop(graceMs: number, deleteFromApi: boolean): Promise<void> {
    this.#stopping = true;
    this.#stopGraceMs = graceMs;
    this.#wake();
    if (this.#child) await this.#child.stop(graceMs);
    await this.#run;
    await this.#statusChain;
    this.#releaseIp();
    await rm(this.podDir, { recursive: true, force: true });
    if (!deleteFromApi) return;
    const ns = this.#pod.metadata?.namespace ?? 'default';
    const name = this.#pod.metadata?.name ?? '';
    try {
      if (await this.#deps.api.deletePod(ns, name, this.uid)) this.#deps.log(`pod ${this.ref}: containers gone; deleted with grace 0`);
    } catch (err) {
      this.#deps.log(`pod ${this.ref}: final delete failed: ${errorText(err)}`);
    }
  }

  /** Synchronous last resort when the agent's own process is exiting. */
  killNow(): void {
    this.#child?.killNow();
  }

  async #lifecycle(): Promise<void> {
    const container = this.#pod.spec?.containers[0];
    if (!container) return;
    this.#ip = this.#deps.ipPool.allocate(this.ref);
    this.#report(container, { kind: 'waiting', reason: 'ContainerCreating' });
    const sandbox = this.#deps.sandbox;
    if (!sandbox.ok) {
      const at = now();
      this.#deps.log(`pod ${this.ref}: ${sandbox.message}`);
      this.#report(container, { kind: 'terminated', exitCode: 128, reason: 'StartError', message: sandbox.message, startedAt: at, finishedAt: at });
      return;
    }
    const prepared = await this.#prepareUntilReady(container, sandbox.userNamespace);
    if (prepared === undefined || this.#stopping) return;
    let child: RunningChild;
    try {
      child = await startChild({ file: 'unshare', args: prepared.spawnArgs, env: prepared.env, cwd: this.podDir }, this.logFile, { cri: true });
    } catch (err) {
      const at = now();
      this.#report(container, { kind: 'terminated', exitCode: 128, reason: 'StartError', message: `local cluster: cannot start unshare: ${errorText(err)}`, startedAt: at, finishedAt: at });
      return;
    }
    this.#child = child;
    // stop() may have come while the process was starting.
    if (this.#stopping) void child.stop(this.#stopGraceMs);
    const startedAt = now();
    this.#deps.log(`pod ${this.ref}: started pid ${child.pid} on ${this.#ip}`);
    this.#report(container, { kind: 'running', startedAt });
    const exit = await child.exited;
    const finishedAt = now();
    const setupError = exit.code === SANDBOX_SETUP_FAILED && existsSync(prepared.errorFile) ? await readFile(prepared.errorFile, 'utf8').catch(() => '') : '';
    if (setupError) {
      // The container never ran: its sandbox could not be built (a runtime's StartError).
      this.#deps.log(`pod ${this.ref}: ${setupError.trim()}`);
      this.#report(container, { kind: 'terminated', exitCode: 128, reason: 'StartError', message: setupError.trim(), startedAt, finishedAt });
    } else {
      const file = await readFile(prepared.terminationLogFile, 'utf8').catch(() => '');
      const message = terminationMessage({ policy: container.terminationMessagePolicy, exitCode: exit.code ?? 1, file, logTail: child.stderrTail() });
      this.#deps.log(`pod ${this.ref}: pid ${child.pid} exited (${exit.signal ?? `code ${String(exit.code)}`})`);
      this.#report(container, terminatedState(exit, constants.signals, { startedAt, finishedAt }, message));
    }
    // A finished pod keeps its IP in status, but the address may go to the next pod.
    this.#releaseIp();
  }

  /** Retries while a referenced Secret or ConfigMap is missing, as a kubelet does. */
  async #prepareUntilReady(container: V1Container, userNamespace: boolean): Promise<Prepared | undefined> {
    let lastMessage = '';
    for (;;) {
      if (this.#stopping) return undefined;
      try {
        return await this.#prepare(container, userNamespace);
      } catch (err) {
        const reason = err instanceof PodConfigError ? err.reason : 'CreateContainerConfigError';
        const message = err instanceof PodConfigError ? err.message : `pod ${this.ref}: ${errorText(err)}`;
        // Retries repeat the same complaint; say it once.
        if (message !== lastMessage) {
          this.#deps.log(message);
          this.#report(container, { kind: 'waiting', reason, message });
          lastMessage = message;
        }
        if (err instanceof PodConfigError && err.permanent) return undefined;
      }
      await Promise.race([new Promise((r) => setTimeout(r, this.#deps.configRetryMs).unref()), this.#stopped]);
    }
  }

  async #prepare(container: V1Container, userNamespace: boolean): Promise<Prepared> {
    const pod = this.#pod;
    const deps = this.#deps;
    const ns = pod.metadata?.namespace ?? 'default';
    const containers = pod.spec?.containers ?? [];
    if (containers.length !== 1 || (pod.spec?.initContainers ?? []).length > 0) {
      throw new PodConfigError('CreateContainerConfigError', `pod ${this.ref}: local cluster runs single-container pods without init containers (this one has ${containers.length} containers)`, true);
    }
    const refs = envSources(container);
    const secrets = new Map<string, Record<string, string>>();
    const configMaps = new Map<string, Record<string, string>>();
    for (const name of refs.secrets) {
      const data = decode(await deps.api.readSecret(ns, name));
      if (data) secrets.set(name, data);
    }
    for (const name of refs.configMaps) {
      const data = decode(await deps.api.readConfigMap(ns, name));
      if (data) configMaps.set(name, data);
    }
    const sources: EnvSourceData = { secrets, configMaps };
    const plans = planMounts(pod, container, this.podDir, await this.#resolveClaims());
    const volumes = [];
    for (const plan of plans) {
      const s = plan.source;
      const data = s.kind === 'secret' ? await deps.api.readSecret(ns, s.name) : s.kind === 'configMap' ? await deps.api.readConfigMap(ns, s.name) : undefined;
      volumes.push({ plan, files: volumeFiles(pod, plan, data) });
    }
    const env = resolveEnv(pod, container, { podIP: this.#ip ?? '', hostIP: deps.hostIP, nodeName: deps.nodeName }, sources);
    const proc = buildContainerProcess({ pod, container, env, commands: deps.commands, execPath: deps.execPath, dnsHookUrl: deps.dnsHookUrl, imageWorkingDir: deps.repoRoot });
    await ensureDir(this.podDir);
    const mounts: BindMount[] = [];
    for (const v of volumes) {
      const done = await materializeVolume(v.plan, v.files, this.ref);
      mounts.push({ source: v.plan.hostDir, target: v.plan.mountPath, readOnly: v.plan.readOnly, file: done.file });
    }
    const file = async (name: string, text: string, target: string, readOnly: boolean): Promise<string> => {
      const path = join(this.podDir, name);
      await writeFile(path, text, { mode: readOnly ? 0o644 : 0o666 });
      mounts.push({ source: path, target, readOnly, file: true });
      return path;
    };
    await file('etc-hosts', etcHosts(pod, this.#ip ?? '127.0.0.1'), '/etc/hosts', false);
    await file('resolv.conf', resolvConf(pod, deps.hostResolvConf), '/etc/resolv.conf', false);
    await file('hostname', `${proc.hostname}\n`, '/etc/hostname', false);
    const terminationLogFile = await file('termination-log', '', proc.terminationMessagePath, false);
    mounts.push({ source: deps.dnsDir, target: POD_DNS_DIR, readOnly: true });
    const rootDir = join(this.podDir, 'rootfs');
    const errorFile = join(this.podDir, 'sandbox-error');
    await ensureDir(rootDir);
    const readOnlyRoot = container.securityContext?.readOnlyRootFilesystem === true;
    const masks = deps.image.dirs.some((d) => deps.stateDir === d || deps.stateDir.startsWith(`${d}/`)) ? [deps.stateDir] : [];
    const script = sandboxScript({ rootDir, errorFile, hostname: proc.hostname, imageDirs: deps.image.dirs, imageLinks: deps.image.links, mounts, masks, readOnlyRoot, workingDir: proc.workingDir, command: proc.command, env: proc.env, userNamespace });
    const scriptPath = join(this.podDir, 'sandbox.sh');
    await writeFile(scriptPath, script, { mode: 0o600 });
    // The script sets the process's environment itself (env -i); the setup shell needs only a PATH.
    return { spawnArgs: unshareArgs(userNamespace, scriptPath), env: { PATH: DEFAULT_PATH }, terminationLogFile, errorFile };
  }

  /**
   * The directories behind the pod's PersistentVolumeClaims: each claim must exist and be
   * bound, and its volume must be a hostPath or local volume (the only kinds this machine has).
   */
  async #resolveClaims(): Promise<Map<string, ClaimedPath>> {
    const ns = this.#pod.metadata?.namespace ?? 'default';
    const out = new Map<string, ClaimedPath>();
    for (const v of this.#pod.spec?.volumes ?? []) {
      const ref = v.persistentVolumeClaim;
      if (!ref) continue;
      const where = `pod ${this.ref}: volume "${v.name}"`;
      const claim = await this.#deps.api.readClaim(ns, ref.claimName);
      if (!claim) throw new PodConfigError('ContainerCreating', `${where}: persistentvolumeclaim "${ref.claimName}" not found`);
      const pvName = claim.spec?.volumeName;
      if (claim.status?.phase !== 'Bound' || !pvName) throw new PodConfigError('ContainerCreating', `${where}: persistentvolumeclaim "${ref.claimName}" is not bound`);
      const pv = await this.#deps.api.readVolume(pvName);
      if (!pv) throw new PodConfigError('ContainerCreating', `${where}: persistentvolume "${pvName}" not found`);
      const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
      if (!path) throw new PodConfigError('CreateContainerConfigError', `${where}: persistentvolume "${pvName}" is neither hostPath nor local; the local cluster mounts only those`, true);
      out.set(ref.claimName, { path, type: (pv.spec?.hostPath?.type ?? (pv.spec?.local ? 'Directory' : '')) as HostPathType, readOnly: ref.readOnly ?? false });
    }
    return out;
  }

  #report(container: V1Container, state: ContainerState): void {
    this.#state = state;
    const status = podStatus({ containerName: container.name, image: container.image ?? '', scheduledAt: this.#scheduledAt, hostIP: this.#deps.hostIP, ...(this.#ip ? { podIP: this.#ip } : {}), state });
    const ns = this.#pod.metadata?.namespace ?? 'default';
    const name = this.#pod.metadata?.name ?? '';
    this.#statusChain = this.#statusChain.then(async () => {
      if (this.#gone) return;
      try {
        if (!(await this.#deps.api.patchPodStatus(ns, name, this.uid, status))) this.#gone = true;
      } catch (err) {
        this.#deps.log(`pod ${this.ref}: status update failed: ${errorText(err)}`);
      }
    });
  }

  #releaseIp(): void {
    if (this.#ip === undefined) return;
    this.#deps.ipPool.release(this.#ip);
    this.#ip = undefined;
  }
}
