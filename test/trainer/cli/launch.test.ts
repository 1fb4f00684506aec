import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { planChildren, podExit, visibleDevices } from '../../../trainer/cli/launch-plan.js';
import { parseLaunch, runLaunch, type SpawnChild } from '../../../trainer/cli/launch.js';
import { datasetSkip } from '../../helpers/datasets.js';
import { packedCifar } from '../../helpers/packed-cifar.js';
import { freePort, startTrainer } from '../../helpers/trainer-process.js';

const spec = { nprocPerNode: 2, nodeRank: 1, worldSize: 4, gpusPerProcess: 1, command: ['train', '--metrics-port', '9400', '--epochs', '3', '--metrics-host=10.0.0.1'] };

t.test('each local rank gets rank = node rank x nproc + local rank, its own GPU, and only local rank 0 keeps the metrics port', async (t) => {
  const plans = planChildren(spec, {});
  t.same(plans.map((p) => [p.localRank, p.rank]), [[0, 2], [1, 3]], 'ranks of one pod are consecutive');
  t.same(plans[0]?.env, { WORLD_SIZE: '4', RANK: '2', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '2', CUDA_VISIBLE_DEVICES: '0' });
  t.equal(plans[1]?.env.CUDA_VISIBLE_DEVICES, '1');
  t.same(plans[0]?.args, spec.command, 'local rank 0 runs the command as given');
  t.same(plans[1]?.args, ['train', '--epochs', '3'], 'the others run without the pod-wide metrics flags');
  t.notOk('CUDA_VISIBLE_DEVICES' in (planChildren({ ...spec, gpusPerProcess: 0 }, {})[0]?.env ?? {}), 'without GPUs the variable is left alone');
  t.equal(planChildren({ ...spec, threadsPerProcess: 3 }, {})[1]?.env.OMP_NUM_THREADS, '3', 'each process gets its share of the CPUs');
  t.notOk('OMP_NUM_THREADS' in (planChildren({ ...spec, threadsPerProcess: 3 }, { OMP_NUM_THREADS: '8' })[1]?.env ?? {}), 'unless the parent set OMP_NUM_THREADS');
});

t.test('GPU blocks follow a CUDA_VISIBLE_DEVICES the parent was given', async (t) => {
  t.equal(visibleDevices(1, 2, 2, undefined), '2,3');
  t.equal(visibleDevices(1, 1, 2, 'GPU-aaa,GPU-bbb'), 'GPU-bbb');
  t.throws(() => visibleDevices(1, 2, 2, '0,1'), /needs 4 GPUs but CUDA_VISIBLE_DEVICES lists 2/);
});

t.test('bad layouts are refused with the flag named', async (t) => {
  t.throws(() => planChildren({ ...spec, worldSize: 3 }, {}), /WORLD_SIZE 3 is not a multiple of --nproc-per-node 2/);
  t.throws(() => planChildren({ ...spec, nodeRank: 2 }, {}), /--node-rank\/NODE_RANK 2 is out of range: WORLD_SIZE 4 \/ --nproc-per-node 2 makes 2 pod/);
  t.throws(() => planChildren({ ...spec, command: [] }, {}), /nothing to run/);
  t.throws(() => parseLaunch(['--nproc-per-node', '2', 'train'], {}), /give the subcommand after '--'/);
  t.throws(() => parseLaunch(['--', 'train'], {}), /--nproc-per-node N is required/);
  t.throws(() => parseLaunch(['--nproc-per-node', '0', '--', 'train'], {}), /--nproc-per-node must be between 1 and 64/);
  t.throws(() => parseLaunch(['--nproc-per-node', '2', '--', 'train'], { NODE_RANK: 'x' }), /--node-rank \(NODE_RANK\) must be an integer/);
  t.match(parseLaunch(['--nproc-per-node', '2', '--', 'train', '--epochs', '1'], { NODE_RANK: '1', WORLD_SIZE: '4' }).spec, { nodeRank: 1, worldSize: 4, command: ['train', '--epochs', '1'] });
  t.equal(parseLaunch(['--nproc-per-node', '3', '--', 'train'], {}).spec.worldSize, 3, 'WORLD_SIZE unset: this pod is the whole job');
});

t.test("the pod's exit: a permanent failure speaks first, then a lost peer, then a stop; success carries local rank 0's message", async (t) => {
  t.same(podExit([{ rank: 3, code: 75, message: 'peer lost' }, { rank: 2, code: 1, message: 'bad record' }]), { rank: 2, code: 1, message: 'rank 2: bad record' });
  t.same(podExit([{ rank: 2, code: 143 }, { rank: 3, code: 75, message: 'rank 2 silent' }]), { rank: 3, code: 75, message: 'rank 3: rank 2 silent' });
  t.same(podExit([{ rank: 2, code: 143 }, { rank: 3, code: 143 }]), { rank: 2, code: 143, message: 'rank 2: exited with code 143' });
  t.same(podExit([{ rank: 3, code: 0, message: 'r3' }, { rank: 2, code: 0, message: '{"progress":{}}' }]), { rank: 2, code: 0, message: '{"progress":{}}' });
  t.same(podExit([{ rank: 1, code: 137 }, { rank: 0, code: 2, message: 'usage' }]), { rank: 0, code: 2, message: 'rank 0: usage' });
});

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer | string, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

/** Children that behave by rank: rank 1 fails for good, rank 0 waits and exits 75 when stopped. */
const scripted: SpawnChild = (args, env) =>
  spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('node:fs');
       const rank = Number(process.env.RANK);
       console.log('rank ' + rank + ' args ' + process.argv.slice(1).join(' ') + ' threads ' + process.env.OMP_NUM_THREADS);
       if (rank === 1) {
         setTimeout(() => { fs.writeFileSync(process.env.CIFAR_TERMINATION_LOG, 'DataFormatError: s3://b/train.rec: at byte offset 64: bad magic'); process.exit(1); }, 100);
       } else {
         process.on('SIGTERM', () => { console.error('stopping: peer lost'); process.exit(75); });
         setTimeout(() => process.exit(0), 60000);
       }`,
      ...args,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );

t.test('one rank failing stops the others; the pod reports the root cause with its rank', async (t) => {
  const dir = t.testdir();
  const out = sink();
  const err = sink();
  const started = Date.now();
  const code = await runLaunch(['--nproc-per-node', '2', '--', 'train', '--epochs', '1'], { stdout: out.stream, stderr: err.stream, env: { ...process.env, WORLD_SIZE: '2', NODE_RANK: '0', CIFAR_TERMINATION_LOG: join(dir, 'termination') } }, scripted);
  t.equal(code, 1, 'the permanent failure is the pod exit code');
  t.ok(Date.now() - started < 30_000, 'rank 0 was stopped, not waited out');
  t.equal(await readFile(join(dir, 'termination'), 'utf8'), 'rank 1: DataFormatError: s3://b/train.rec: at byte offset 64: bad magic');
  t.match(out.text(), /^\[rank 0\] rank 0 args train --epochs 1 threads \d+$/m, "children's output is prefixed with their rank");
  t.match(err.text(), /\[rank 0\] stopping: peer lost/);
  t.match(err.text(), /launch: rank 1 exited with code 1; stopping the other ranks/);
});

t.test('1 pod x 2 processes: both ranks train in one group and end with identical weights', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const train = await packedCifar('train');
  const test = await packedCifar('test');
  const dir = t.testdir();
  const port = await freePort();
  const env = { MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), CIFAR_PEER_SECRET: 'test-secret-0123456789abcdef', CIFAR_JOB_ID: 'launch-test', CIFAR_TERMINATION_LOG: join(dir, 'termination') };
  const launcher = startTrainer(
    ['launch', '--nproc-per-node', '2', '--', 'train', '--model', 'lenet', '--data-train', train, '--data-val', test, '--num-examples', '256', '--num-val-examples', '64',
      '--epochs', '1', '--batch-size', '32', '--backend', 'wasm', '--out', join(dir, 'out'), '--progress-interval', '60', '--prefetch-workers', '0'],
    env,
  );
  const result = await launcher.done;
  t.equal(result.code, 0, result.stderr.slice(-1500));
  const metrics = async (path: string) => JSON.parse(await readFile(join(path, 'metrics.json'), 'utf8')) as { weightsSha256: string; worldSize: number; rank: number };
  const rank0 = await metrics(join(dir, 'out'));
  const rank1 = await metrics(join(dir, 'out', 'rank-1'));
  t.equal(rank0.worldSize, 2, 'world size counts the processes');
  t.same([rank0.rank, rank1.rank], [0, 1]);
  t.equal(rank1.weightsSha256, rank0.weightsSha256, `both ranks end with weightsSha256 ${rank0.weightsSha256}`);
  t.match(result.stderr, /\[rank 1\] .*group formed/, 'rank 1 joined the group');
  t.match(await readFile(join(dir, 'termination'), 'utf8'), /^\{"progress":/, "the pod's termination message is local rank 0's final progress");
});
