/**
 * How many ranks a job has: replicas pods, each running processesPerReplica ranks (one per
 * GPU by default, as the tutorial's 4 GPUs of one machine; one without GPUs).
 */
import type { DefaultedSpec } from '../api/defaults.js';

export function processesPerReplica(spec: Pick<DefaultedSpec, 'processesPerReplica' | 'gpusPerReplica'>): number {
  return spec.processesPerReplica ?? (spec.gpusPerReplica > 0 ? spec.gpusPerReplica : 1);
}

/** WORLD_SIZE: every rank of every pod. */
export function worldSize(spec: Pick<DefaultedSpec, 'replicas' | 'processesPerReplica' | 'gpusPerReplica'>): number {
  return spec.replicas * processesPerReplica(spec);
}
