import t from 'tap';
import { cgroupCpuLimit, defaultThreadCount } from '../../../../trainer/engine/backend/threads.js';
import { parseTrainOptions } from '../../../../trainer/cli/train.js';
import { TrainerMetrics } from '../../../../trainer/metrics/trainer-metrics.js';

/** A fake file system holding only `files`. */
function reader(files: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

t.test('the pod CPU limit comes from cgroup v2 cpu.max, rounded up', async (t) => {
  t.equal(cgroupCpuLimit(reader({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' })), 2);
  t.equal(cgroupCpuLimit(reader({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' })), 2, 'a 1.5 CPU limit gets 2 threads');
  t.equal(cgroupCpuLimit(reader({ '/sys/fs/cgroup/cpu.max': '50000 100000' })), 1, 'below one CPU still gets a thread');
  t.equal(cgroupCpuLimit(reader({ '/sys/fs/cgroup/cpu.max': 'max 100000' })), null, 'no limit');
});

t.test('cgroup v1 quota and period are read when cpu.max is absent', async (t) => {
  t.equal(cgroupCpuLimit(reader({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })), 4);
  t.equal(cgroupCpuLimit(reader({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })), null, '-1 is unlimited');
  t.equal(cgroupCpuLimit(reader({})), null, 'no cgroup files: no limit');
});

t.test('the default thread count is the CPU limit, else the cores, never more than the cores', async (t) => {
  t.equal(defaultThreadCount(8, 2, {}), 2);
  t.equal(defaultThreadCount(2, null, {}), 2);
  t.equal(defaultThreadCount(2, 16, {}), 2);
  t.equal(defaultThreadCount(8, 4, { OMP_NUM_THREADS: '1' }), 1, 'OMP_NUM_THREADS, as set for several processes in one pod, wins');
  t.equal(defaultThreadCount(8, 4, { OMP_NUM_THREADS: 'lots' }), 4, 'an unreadable OMP_NUM_THREADS is ignored');
  t.ok(defaultThreadCount() >= 1, 'this machine gives at least one');
});

t.test('--threads reaches the train options and is checked', async (t) => {
  const base = ['--model', 'lenet', '--data-train', 'train.rec'];
  t.equal(parseTrainOptions([...base, '--threads', '3', '--backend', 'native'], {}).threads, 3);
  t.equal(parseTrainOptions([...base, '--backend', 'native'], {}).backend, 'native');
  t.equal(parseTrainOptions(base, {}).threads, undefined, 'absent: the backend picks the default');
  t.throws(() => parseTrainOptions([...base, '--threads', '0'], {}), /--threads/);
});

t.test('/metrics reports the compute threads', async (t) => {
  const m = new TrainerMetrics({ jobName: 'j', jobNamespace: 'ns', rank: 0 });
  m.computeThreads.set(2);
  t.match(await m.registry.metrics(), /^cifar_trainer_compute_threads\{[^}]*\} 2$/m);
});
