import t from 'tap';
import { ProgressTracker } from '../../../trainer/metrics/progress-tracker.js';
import { datasetSkip } from '../../helpers/datasets.js';
import { packedCifar } from '../../helpers/packed-cifar.js';
import { freePort, startTrainer } from '../../helpers/trainer-process.js';

t.test('the progress snapshot follows step, epoch and checkpoint events', async (t) => {
  const tracker = new ProgressTracker(3, () => new Date('2026-01-01T00:00:00Z'));
  t.equal(tracker.current(), undefined);
  tracker.update({ type: 'step', epoch: 0, epochs: 3, step: 4, stepsPerEpoch: 10, loss: 2, accuracy: 0.2, imagesPerSecond: 100, learningRate: 0.1, etaSeconds: 5 });
  t.match(tracker.current(), { epoch: 0, step: 4, stepsPerEpoch: 10, trainLoss: 2, trainAccuracy: 0.2, totalEpochs: 3, updatedAt: '2026-01-01T00:00:00.000Z' });
  tracker.update({ type: 'epoch', epochs: 3, epoch: 0, trainLoss: 1.5, trainAccuracy: 0.3, validationLoss: 1.4, validationAccuracy: 0.35, imagesPerSecond: 120, seconds: 3, learningRate: 0.1 });
  t.match(tracker.current(), { epoch: 1, step: 0, validationAccuracy: 0.35, validationLoss: 1.4, imagesPerSecond: 120 });
  tracker.update({ type: 'checkpoint', uri: 's3://b/ckpt-1', epoch: 1, step: 0, bytes: 10, seconds: 0.1 });
  t.equal(tracker.current()?.lastCheckpoint, 's3://b/ckpt-1');
  t.equal(tracker.current()?.validationAccuracy, 0.35, 'earlier figures are kept');
});

t.test('a training run serves Prometheus metrics and its progress while it runs', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const train = await packedCifar('train');
  const test = await packedCifar('test');
  const port = await freePort();
  const checkpoints = t.testdir();
  const run = startTrainer(
    ['train', '--checkpoint', checkpoints, '--model', 'lenet', '--data-train', train, '--data-val', test, '--num-examples', '1024', '--num-val-examples', '256', '--epochs', '4', '--batch-size', '64', '--backend', 'wasm', '--metrics-port', String(port), '--metrics-host', '127.0.0.1', '--progress-interval', '0', '--log-format', 'json'],
    { JOB_NAME: 'demo', JOB_NAMESPACE: 'ml', CIFAR_RESTART_ATTEMPT: '2' },
  );
  await run.waitFor(/"event":"checkpoint"/);
  const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const name of [
    'cifar_trainer_images_total',
    'cifar_trainer_images_per_second',
    'cifar_trainer_step_seconds_bucket',
    'cifar_trainer_data_wait_seconds_bucket',
    'cifar_trainer_loss',
    'cifar_trainer_accuracy_ratio',
    'cifar_trainer_epoch',
    'cifar_trainer_learning_rate',
    'cifar_trainer_tfjs_tensors',
    'cifar_trainer_backend_info',
    'cifar_trainer_process_resident_memory_bytes',
  ]) {
    t.match(metricsText, new RegExp(`^${name}\\{`, 'm'), `exposes ${name}`);
  }
  t.match(metricsText, /cifar_trainer_backend_info\{backend="wasm",job_name="demo",job_namespace="ml",rank="0"\} 1/);
  t.match(metricsText, /cifar_trainer_restarts\{[^}]*\} 2/);
  t.match(metricsText, /cifar_trainer_accuracy_ratio\{split="validation"[^}]*\} 0\.\d+/);
  t.match(metricsText, /^cifar_trainer_last_checkpoint_timestamp_seconds\{[^}]*\} 1\d{9}/m, 'checkpoint time exported');
  const progress = (await (await fetch(`http://127.0.0.1:${port}/progress`)).json()) as { epoch: number; totalEpochs: number; validationAccuracy: number; lastCheckpoint: string };
  t.match(progress.lastCheckpoint, /ckpt-\d+-e1-s0\.ckpt$/, 'the last checkpoint is in the progress');
  t.ok(progress.epoch >= 1, `progress says epoch ${progress.epoch}`);
  t.equal(progress.totalEpochs, 4);
  t.ok(progress.validationAccuracy > 0, 'validation accuracy reported');
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  run.child.kill('SIGTERM');
  const result = await run.done;
  t.ok(result.code === 143 || result.code === 0, `stops cleanly on SIGTERM (exit ${result.code})`);
});
