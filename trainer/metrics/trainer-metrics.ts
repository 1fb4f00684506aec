import * as tf from '@tensorflow/tfjs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The trainer's Prometheus metrics. Names follow Prometheus conventions (base units in the
 * name, `_total` for counters). Every series carries `job_name`, `job_namespace` and `rank`:
 * not `job`/`namespace`, which Prometheus's own target labels would rename to
 * `exported_job`/`exported_namespace` unless the scrape sets honor_labels.
 */
export interface MetricLabels {
  jobName: string;
  jobNamespace: string;
  rank: number;
}

const STEP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const FAST_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

export class TrainerMetrics {
  readonly registry = new Registry();
  readonly imagesTotal: Counter;
  readonly imagesPerSecond: Gauge;
  readonly stepSeconds: Histogram;
  readonly dataWaitSeconds: Histogram;
  readonly allreduceSeconds: Histogram;
  readonly allreduceBytesTotal: Counter;
  readonly loss: Gauge;
  readonly accuracy: Gauge;
  readonly epoch: Gauge;
  readonly epochs: Gauge;
  readonly step: Gauge;
  readonly learningRate: Gauge;
  readonly checkpointSeconds: Histogram;
  readonly checkpointBytes: Gauge;
  readonly lastCheckpointTimestamp: Gauge;
  readonly restarts: Gauge;
  readonly backendInfo: Gauge;
  readonly computeThreads: Gauge;
  readonly worldSize: Gauge;

  constructor(labels: MetricLabels) {
    this.registry.setDefaultLabels({ job_name: labels.jobName, job_namespace: labels.jobNamespace, rank: String(labels.rank) });
    collectDefaultMetrics({ register: this.registry, prefix: 'cifar_trainer_' });
    const registers = [this.registry];
    this.imagesTotal = new Counter({ name: 'cifar_trainer_images_total', help: 'Training images processed by this rank.', registers });
    this.imagesPerSecond = new Gauge({ name: 'cifar_trainer_images_per_second', help: 'Training throughput of this rank over the current epoch.', registers });
    this.stepSeconds = new Histogram({ name: 'cifar_trainer_step_seconds', help: 'Wall time of one optimizer step (forward, backward, all-reduce, update).', buckets: STEP_BUCKETS, registers });
    this.dataWaitSeconds = new Histogram({ name: 'cifar_trainer_data_wait_seconds', help: 'Time the step waited for its batch from the input pipeline.', buckets: FAST_BUCKETS, registers });
    this.allreduceSeconds = new Histogram({ name: 'cifar_trainer_allreduce_seconds', help: 'Time spent averaging gradients across replicas per step.', buckets: FAST_BUCKETS, registers });
    this.allreduceBytesTotal = new Counter({ name: 'cifar_trainer_allreduce_bytes_total', help: 'Gradient bytes all-reduced by this rank.', registers });
    this.loss = new Gauge({ name: 'cifar_trainer_loss', help: 'Loss of the last finished epoch, by split (train or validation).', labelNames: ['split'], registers });
    this.accuracy = new Gauge({ name: 'cifar_trainer_accuracy_ratio', help: 'Top-1 accuracy (0-1) of the last finished epoch, by split.', labelNames: ['split'], registers });
    this.epoch = new Gauge({ name: 'cifar_trainer_epoch', help: 'Epochs finished.', registers });
    this.epochs = new Gauge({ name: 'cifar_trainer_epochs', help: 'Epochs the job trains for.', registers });
    this.step = new Gauge({ name: 'cifar_trainer_step', help: 'Optimizer steps done in the current epoch.', registers });
    this.learningRate = new Gauge({ name: 'cifar_trainer_learning_rate', help: 'Learning rate of the last step.', registers });
    this.checkpointSeconds = new Histogram({ name: 'cifar_trainer_checkpoint_seconds', help: 'Time to write one checkpoint.', buckets: STEP_BUCKETS, registers });
    this.checkpointBytes = new Gauge({ name: 'cifar_trainer_checkpoint_bytes', help: 'Size of the last checkpoint written.', registers });
    this.lastCheckpointTimestamp = new Gauge({ name: 'cifar_trainer_last_checkpoint_timestamp_seconds', help: 'Unix time of the last checkpoint written.', registers });
    this.restarts = new Gauge({ name: 'cifar_trainer_restarts', help: 'Gang restarts before this attempt (from the operator).', registers });
    this.backendInfo = new Gauge({ name: 'cifar_trainer_backend_info', help: 'The TensorFlow.js backend in use (value 1).', labelNames: ['backend'], registers });
    this.computeThreads = new Gauge({ name: 'cifar_trainer_compute_threads', help: 'Threads the backend computes with (--threads; 1 on wasm and cpu).', registers });
    this.worldSize = new Gauge({ name: 'cifar_trainer_world_size', help: 'Replicas in the training group.', registers });
    new Gauge({
      name: 'cifar_trainer_tfjs_tensors',
      help: 'Tensors alive in TensorFlow.js (a growing count is a leak).',
      registers,
      collect() {
        this.set(tf.memory().numTensors);
      },
    });
    new Gauge({
      name: 'cifar_trainer_tfjs_bytes',
      help: 'Bytes held by TensorFlow.js tensors.',
      registers,
      collect() {
        this.set(tf.memory().numBytes);
      },
    });
  }
}
