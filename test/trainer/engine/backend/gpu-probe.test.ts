import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeTensorflowGpu, probeNvidiaGpus } from '../../../../trainer/engine/backend/gpu-probe.js';

t.test('counts the driver\'s GPUs and applies CUDA_VISIBLE_DEVICES', async (t) => {
  const dir = t.testdir({});
  for (const bus of ['0000:3b:00.0', '0000:5e:00.0', '0000:86:00.0']) mkdirSync(join(dir, bus));
  t.same(probeNvidiaGpus({}, dir), { driverGpus: 3, visible: 3 });
  t.same(probeNvidiaGpus({ CUDA_VISIBLE_DEVICES: '1' }, dir), { driverGpus: 3, visible: 1 });
  t.same(probeNvidiaGpus({ CUDA_VISIBLE_DEVICES: '0,2' }, dir), { driverGpus: 3, visible: 2 });
  t.same(probeNvidiaGpus({ CUDA_VISIBLE_DEVICES: '' }, dir), { driverGpus: 3, visible: 0 });
  t.same(probeNvidiaGpus({ CUDA_VISIBLE_DEVICES: '-1' }, dir), { driverGpus: 3, visible: 0 });
  t.same(probeNvidiaGpus({ CUDA_VISIBLE_DEVICES: '0,-1,2' }, dir), { driverGpus: 3, visible: 1 }, 'CUDA stops at an invalid entry');
  t.same(probeNvidiaGpus({ CUDA_VISIBLE_DEVICES: '0,1,2,3,4' }, dir), { driverGpus: 3, visible: 3 });
  t.same(probeNvidiaGpus({}, join(dir, 'absent')), { driverGpus: null, visible: null });
});

t.test('describes what tfjs-node-gpu will run on', async (t) => {
  t.equal(describeTensorflowGpu({ driverGpus: 1, visible: 1 }), 'tfjs-node-gpu (CUDA, 1 GPU visible)');
  t.equal(describeTensorflowGpu({ driverGpus: 8, visible: 4 }), 'tfjs-node-gpu (CUDA, 4 GPUs visible)');
  t.match(describeTensorflowGpu({ driverGpus: 2, visible: 0 }), /no GPU visible: TensorFlow runs on the CPU/);
  t.match(describeTensorflowGpu({ driverGpus: null, visible: null }), /no NVIDIA driver found/);
});
