/**
 * One pod on this node, from scheduling to removal: allocate its IP, prepare its
 * environment and volumes, run its container as a process, report each step through
 * pods/status, and tear it all down when the pod is deleted.
 */
import { rm, readFile, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { RunningChild } from './child-process.js';
import { startChild } from './child-process.js';
import type { CommandTable } from './commands.js';
import { envSources, resolveEnv, type EnvSourceData } from './env.js';
import type { LoopbackIpPool } from './ip-pool.js';
import { ensureDir, materializeVolume } from './materialize.js';
import type { NodeApi } from './node-api.js';
import { PodConfigError, podRef } from './pod-ref.js';
import { podStatus, terminatedState, type ContainerState } from './pod-status.js';
import { buildProcessSpec, type ProcessSpec } from './process-spec.js';
import { terminationMessage } from './termination-message.js';
import { planMounts, volumeFiles } from './volumes.js';

export interface WorkerDeps {
  api: NodeApi;
  ipPool: LoopbackIpPool;
  commands: CommandTable;
  nodeName: string;
  hostIP: string;
  /** Parent of this pod's private directory (volumes, scratch, termination log). */
  podsDir: string;
  /** Where container logs go; they outlive the pod for debugging. */
  logsDir: string;
  hostsFile: string;
  dnsHookUrl: string;
  execPath: string;
  /** PATH given to pod processes. */
  path: string;
  /** Pause before retrying a pod whose Secret or ConfigMap is missing. */
  configRetryMs: number;
  log: (line: string) => void;
}

export const DEFAULT_GRACE_SECONDS = 30;

function now(): string {
  return new Date().toISOString();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function decode(data: Record<string, Buffer> | undefined): Record<string, string> | undefined {
  return data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')]));
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
  #stopping = false;
  #stopGraceMs = 0;
  #wake: () => void = () => undefined;
  readonly #stopped: Promise<void>;
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
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get podIP(): string | undefined {
    return this.#ip;
  }

  /** The pod's grace period in ms; a node shutdown may cap it. */
  graceMs(): number {
    return (this.#pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  }

  start(): void {
    this.#run = this.#lifecycle().catch((err: unknown) => this.#deps.log(`pod ${this.ref}: ${errorText(err)}`));
  }

  /** Kills the process (SIGTERM, then SIGKILL after `graceMs`), frees the IP, removes the pod's files. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#stopGraceMs = graceMs;
    this.#wake();
    if (this.#child) await this.#child.stop(graceMs);
    await this.#run;
    await this.#statusChain;
    this.#releaseIp();
    await rm(this.podDir, { recursive: true, force: true });
  }

  /** Synchronous last resort when the agent's own process is exiting. */
  killNow(): void {
    this.#child?.killNow();
  }

  async #lifecycle(): Promise<void> {
    const { api, nodeName } = this.#deps;
    const ns = this.#pod.metadata?.namespace ?? 'default';
    const name = this.#pod.metadata?.name ?? '';
    if (!this.#pod.spec?.nodeName && !(await api.bindPod(ns, name, this.uid, nodeName))) return;
    const container = this.#pod.spec?.containers[0];
    if (!container) return;
    this.#ip = this.#deps.ipPool.allocate(this.ref);
    this.#report(container, { kind: 'waiting', reason: 'ContainerCreating' });
    const spec = await this.#prepareUntilReady(container);
    if (spec === undefined || this.#stopping) return;
    let child: RunningChild;
    try {
      child = await startChild(spec, this.logFile);
    } catch (err) {
      const at = now();
      this.#report(container, { kind: 'terminated', exitCode: 128, reason: 'StartError', message: `local cluster: cannot start ${spec.file}: ${errorText(err)}`, startedAt: at, finishedAt: at });
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
    const file = await readFile(spec.terminationLogFile, 'utf8').catch(() => '');
    const exitCode = exit.code ?? 1;
    const message = terminationMessage({ policy: container.terminationMessagePolicy, exitCode, file, logTail: child.stderrTail() });
    const state = terminatedState(exit, constants.signals, { startedAt, finishedAt }, message);
    this.#deps.log(`pod ${this.ref}: pid ${child.pid} exited (${exit.signal ?? `code ${String(exit.code)}`})`);
    this.#report(container, state);
    // A finished pod keeps its IP in status, but the address may go to the next pod.
    this.#releaseIp();
  }

  /** Retries while a referenced Secret or ConfigMap is missing, as a kubelet does. */
  async #prepareUntilReady(container: V1Container): Promise<ProcessSpec | undefined> {
    let lastMessage = '';
    for (;;) {
      if (this.#stopping) return undefined;
      try {
        return await this.#prepare(container);
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

  async #prepare(container: V1Container): Promise<ProcessSpec> {
    const pod = this.#pod;
    const { api } = this.#deps;
    const ns = pod.metadata?.namespace ?? 'default';
    const containers = pod.spec?.containers ?? [];
    if (containers.length !== 1 || (pod.spec?.initContainers ?? []).length > 0) {
      throw new PodConfigError('CreateContainerConfigError', `pod ${this.ref}: local cluster runs single-container pods without init containers (this one has ${containers.length} containers)`, true);
    }
    const refs = envSources(container);
    const secrets = new Map<string, Record<string, string>>();
    const configMaps = new Map<string, Record<string, string>>();
    for (const name of refs.secrets) {
      const data = decode(await api.readSecret(ns, name));
      if (data) secrets.set(name, data);
    }
    for (const name of refs.configMaps) {
      const data = decode(await api.readConfigMap(ns, name));
      if (data) configMaps.set(name, data);
    }
    const sources: EnvSourceData = { secrets, configMaps };
    const mounts = planMounts(pod, container, this.podDir);
    const volumes = [];
    for (const plan of mounts) {
      const s = plan.source;
      const data = s.kind === 'secret' ? await api.readSecret(ns, s.name) : s.kind === 'configMap' ? await api.readConfigMap(ns, s.name) : undefined;
      volumes.push({ plan, files: volumeFiles(pod, plan, data) });
    }
    const env = resolveEnv(pod, container, { podIP: this.#ip ?? '', hostIP: this.#deps.hostIP, nodeName: this.#deps.nodeName }, sources);
    const spec = buildProcessSpec({
      pod,
      container,
      env,
      mounts,
      commands: this.#deps.commands,
      podDir: this.podDir,
      execPath: this.#deps.execPath,
      dnsHookUrl: this.#deps.dnsHookUrl,
      hostsFile: this.#deps.hostsFile,
      path: this.#deps.path,
    });
    await ensureDir(this.podDir);
    for (const v of volumes) await materializeVolume(v.plan, v.files);
    await ensureDir(spec.cwd);
    await ensureDir(spec.env.TMPDIR ?? spec.cwd);
    await writeFile(spec.terminationLogFile, '', { mode: 0o600 });
    return spec;
  }

  #report(container: V1Container, state: ContainerState): void {
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
