import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPUs this process may use by its cgroup's quota: cgroup v2 cpu.max ("max 100000" or
 * "200000 100000"), else v1 cpu.cfs_quota_us / cpu.cfs_period_us, rounded up; null when
 * unlimited or unreadable. A pod's CPU limit arrives here.
 */
export function cgroupCpuLimit(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number | null {
  const quota = (text: string, period: string): number | null => {
    const q = Number(text);
    const p = Number(period);
    if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return null;
    return Math.max(1, Math.ceil(q / p));
  };
  try {
    const [q, p] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    return q === 'max' ? null : quota(q, p ?? '100000');
  } catch {
    // not cgroup v2
  }
  try {
    return quota(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim(), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim());
  } catch {
    return null;
  }
}

/**
 * The default --threads: OMP_NUM_THREADS when set (as torchrun sets it for each of several
 * processes in one pod), else the pod's CPU limit (cgroup quota) when there is one, else the
 * machine's cores, whichever is fewer.
 */
export function defaultThreadCount(cores = availableParallelism(), limit = cgroupCpuLimit(), env: NodeJS.ProcessEnv = process.env): number {
  const omp = Number(env.OMP_NUM_THREADS);
  if (env.OMP_NUM_THREADS !== undefined && Number.isInteger(omp) && omp >= 1) return omp;
  return limit === null ? cores : Math.max(1, Math.min(cores, limit));
}
