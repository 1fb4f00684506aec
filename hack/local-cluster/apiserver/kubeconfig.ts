import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const CONTEXT_NAME = 'local-cluster';

/**
 * A kubeconfig for the local API server: plain http and no credentials, which is only
 * acceptable because the server listens on loopback and exists for development and tests.
 */
export function kubeconfigYaml(url: string, namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${CONTEXT_NAME}`,
    '  cluster:',
    `    server: ${JSON.stringify(url)}`,
    // client-node 1.x refuses a plain-http server unless this is set; there is no TLS to skip.
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${CONTEXT_NAME}`,
    '  user: {}',
    'contexts:',
    `- name: ${CONTEXT_NAME}`,
    '  context:',
    `    cluster: ${CONTEXT_NAME}`,
    `    user: ${CONTEXT_NAME}`,
    `    namespace: ${JSON.stringify(namespace)}`,
    `current-context: ${CONTEXT_NAME}`,
    '',
  ].join('\n');
}

export async function writeKubeconfig(path: string, url: string, namespace = 'default'): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, kubeconfigYaml(url, namespace), { mode: 0o600 });
}
