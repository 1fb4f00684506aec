/**
 * A container's environment, resolved the way the kubelet does it: literal values,
 * downward-API fieldRefs, and keys of Secrets and ConfigMaps read from the API server.
 * Pure: the Secrets and ConfigMaps arrive already fetched (see `envSources`).
 */
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { PodConfigError, podRef } from './pod-ref.js';

/** Facts about the running pod that fieldRefs may read. */
export interface PodRuntimeFacts {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

/** Decoded data of the Secrets and ConfigMaps a container refers to; absent = not found. */
export interface EnvSourceData {
  secrets: ReadonlyMap<string, Readonly<Record<string, string>>>;
  configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** Names of the Secrets and ConfigMaps the container's env and envFrom refer to. */
export function envSources(container: V1Container): { secrets: string[]; configMaps: string[] } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
  }
  for (const f of container.envFrom ?? []) {
    if (f.secretRef?.name) secrets.add(f.secretRef.name);
    if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
  }
  return { secrets: [...secrets].sort(), configMaps: [...configMaps].sort() };
}

const LABEL_OR_ANNOTATION = /^metadata\.(labels|annotations)\['([^']+)'\]$/;

/** The downward API for env: the fieldPaths the kubelet supports. */
export function fieldRefValue(pod: V1Pod, facts: PodRuntimeFacts, fieldPath: string): string | undefined {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
  }
  const m = LABEL_OR_ANNOTATION.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]] ?? '';
  return undefined;
}

function keyRef(
  pod: V1Pod,
  kind: 'secret' | 'configmap',
  data: ReadonlyMap<string, Readonly<Record<string, string>>>,
  ref: { name?: string; key: string; optional?: boolean },
  variable: string,
): string | undefined {
  const name = ref.name ?? '';
  const source = data.get(name);
  const where = `pod ${podRef(pod)}: env ${variable}`;
  if (source === undefined) {
    if (ref.optional) return undefined;
    throw new PodConfigError('CreateContainerConfigError', `${where}: ${kind} "${name}" not found`);
  }
  const value = source[ref.key];
  if (value === undefined) {
    if (ref.optional) return undefined;
    throw new PodConfigError('CreateContainerConfigError', `${where}: couldn't find key ${ref.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${pod.metadata?.namespace ?? 'default'}/${name}`);
  }
  return value;
}

function resolveOne(pod: V1Pod, facts: PodRuntimeFacts, sources: EnvSourceData, e: V1EnvVar): string | undefined {
  if (e.valueFrom === undefined) return e.value ?? '';
  const { fieldRef, secretKeyRef, configMapKeyRef, resourceFieldRef } = e.valueFrom;
  if (fieldRef) {
    const value = fieldRefValue(pod, facts, fieldRef.fieldPath);
    if (value === undefined) throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: env ${e.name}: fieldRef ${fieldRef.fieldPath} is not supported`, true);
    return value;
  }
  if (secretKeyRef) return keyRef(pod, 'secret', sources.secrets, secretKeyRef, e.name);
  if (configMapKeyRef) return keyRef(pod, 'configmap', sources.configMaps, configMapKeyRef, e.name);
  if (resourceFieldRef) throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: env ${e.name}: resourceFieldRef is not supported by the local cluster`, true);
  throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: env ${e.name}: valueFrom names no source`, true);
}

/**
 * The container's variables in Kubernetes order: envFrom first, then env (later entries
 * win). An optional reference that is missing leaves its variable unset, as in a cluster.
 * `$(VAR)` expansion is not done: the operator's pods do not use it.
 */
export function resolveEnv(pod: V1Pod, container: V1Container, facts: PodRuntimeFacts, sources: EnvSourceData): Record<string, string> {
  const env: Record<string, string> = {};
  for (const f of container.envFrom ?? []) {
    const ref = f.secretRef ?? f.configMapRef;
    const isSecret = f.secretRef !== undefined;
    const name = ref?.name ?? '';
    const data = (isSecret ? sources.secrets : sources.configMaps).get(name);
    if (data === undefined) {
      if (ref?.optional) continue;
      throw new PodConfigError('CreateContainerConfigError', `pod ${podRef(pod)}: envFrom: ${isSecret ? 'secret' : 'configmap'} "${name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${f.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    const value = resolveOne(pod, facts, sources, e);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}
