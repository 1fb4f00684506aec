import { readFile } from 'node:fs/promises';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { API_GROUP, API_VERSION_NAME, type CifarTrainingJob } from '../../operator/api/types.js';

const PLURAL = 'cifartrainingjobs';

/** The example job as it is, with the demo's sizes (its flags) filled in. */
export async function demoJob(path: string, overrides: { replicas: number; epochs: number; examples: number }): Promise<CifarTrainingJob> {
  const job = parse(await readFile(path, 'utf8')) as CifarTrainingJob;
  job.spec.replicas = overrides.replicas;
  job.spec.hyperparameters = { ...job.spec.hyperparameters, epochs: overrides.epochs };
  job.spec.data = { ...job.spec.data, numExamples: overrides.examples };
  return job;
}

export interface JobClient {
  create(job: CifarTrainingJob): Promise<void>;
  get(name: string): Promise<CifarTrainingJob>;
}

/** The few API calls the demo makes, through client-node like any user program would. */
export function jobClient(kubeconfigPath: string, namespace = 'default'): JobClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    async create(job) {
      await custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION_NAME, namespace, plural: PLURAL, body: job });
    },
    async get(name) {
      return (await custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION_NAME, namespace, plural: PLURAL, name })) as CifarTrainingJob;
    },
  };
}

/** One line about where the job is, or undefined when nothing a person would notice changed. */
export function describeJob(job: CifarTrainingJob): string {
  const status = job.status ?? {};
  const p = status.progress;
  const parts = [`phase ${status.phase ?? 'Pending'}`];
  if (status.restarts) parts.push(`restarts ${status.restarts}`);
  if (p) {
    parts.push(`epoch ${p.epoch}/${p.totalEpochs}`);
    if (p.stepsPerEpoch) parts.push(`step ${p.step ?? 0}/${p.stepsPerEpoch}`);
    if (p.trainAccuracy !== undefined) parts.push(`train acc ${p.trainAccuracy.toFixed(3)}`);
    if (p.validationAccuracy !== undefined) parts.push(`val acc ${p.validationAccuracy.toFixed(3)}`);
    if (p.imagesPerSecond !== undefined) parts.push(`${Math.round(p.imagesPerSecond)} img/s per replica`);
  }
  return parts.join(', ');
}
