/**
 * Where a worker may run and what it reserves: the GPU limit from gpusPerReplica, the
 * toleration for the taint GPU nodes usually carry, and the user's own constraints.
 */
import type { ResourceRequirements, Toleration } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';

/** GPU nodes are commonly tainted nvidia.com/gpu:NoSchedule to keep CPU pods off them. */
export const GPU_TOLERATION: Toleration = { key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' };

function withoutGpu(map: Record<string, string | number> | undefined): Record<string, string | number> {
  const rest = { ...map };
  delete rest[GPU_RESOURCE];
  return rest;
}

/** User resources with nvidia.com/gpu replaced by gpusPerReplica (a limit; extended resources need no request). */
export function workerResources(spec: DefaultedSpec): ResourceRequirements {
  const requests = withoutGpu(spec.resources?.requests);
  const limits = withoutGpu(spec.resources?.limits);
  if (spec.gpusPerReplica > 0) limits[GPU_RESOURCE] = String(spec.gpusPerReplica);
  const out: ResourceRequirements = {};
  if (Object.keys(requests).length > 0) out.requests = requests;
  if (Object.keys(limits).length > 0) out.limits = limits;
  return out;
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return a.key === b.key && a.operator === b.operator && a.value === b.value && a.effect === b.effect && a.tolerationSeconds === b.tolerationSeconds;
}

export function workerTolerations(spec: DefaultedSpec): Toleration[] {
  const user = spec.tolerations ?? [];
  if (spec.gpusPerReplica === 0 || user.some((t) => sameToleration(t, GPU_TOLERATION))) return [...user];
  return [GPU_TOLERATION, ...user];
}
