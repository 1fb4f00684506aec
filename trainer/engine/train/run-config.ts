/**
 * The `config` a run records in metrics.json. Built field by field from an allow-list,
 * never by copying the options: the options carry the job's peer secret (and may gain
 * other secrets), and metrics.json is written to the job's output location, which more
 * people can read than the pod's Secret. A field not named here is not recorded.
 */
import type { TrainOptions } from './options.js';

/** What metrics.json records about how a run was configured. */
export interface RunConfig {
  model: TrainOptions['model'];
  numClasses: number;
  imageShape: [number, number, number];
  data: {
    train: string;
    validation: string | null;
    format: string;
    part: { index: number; count: number } | null;
    numExamples: number | null;
    numValidationExamples: number | null;
  };
  epochs: number;
  batchSize: number;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: TrainOptions['schedule'];
  labelSmoothing: number;
  augment: TrainOptions['augment'];
  seed: number;
  backend: string;
  pretrained: { uri: string; layerBeforeFullc: string | null; freeze: boolean; lrMultiplier: number } | null;
  checkpoint: { uri: string; everyEpochs: number; keep: number } | null;
  resume: boolean;
  out: string | null;
  prefetchWorkers: number;
  lrScaling: string;
  shuffle: boolean;
  limits: TrainOptions['limits'];
  dist: { worldSize: number; rank: number; jobId: string; rendezvousTimeoutMs: number; peerTimeoutMs: number; chunkBytes: number };
}

/**
 * A location as it may be recorded: user info (`user:password@`), the query (a presigned
 * URL's signature) and the fragment are dropped from URLs; paths and s3:// URIs are kept.
 */
export function redactUri(uri: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return uri;
  try {
    const url = new URL(uri);
    const hadSecrets = url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '';
    if (!hadSecrets) return uri;
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    // Not a URL a parser accepts: keep only the scheme and host part up to the first '@', '?' or '#'.
    return uri.replace(/\/\/[^/]*@/, '//').replace(/[?#].*$/, '');
  }
}

export function runConfig(o: TrainOptions): RunConfig {
  return {
    model: { ...o.model },
    numClasses: o.numClasses,
    imageShape: [...o.imageShape],
    data: {
      train: redactUri(o.data.train),
      validation: o.data.validation === undefined ? null : redactUri(o.data.validation),
      format: o.data.format,
      part: o.data.part ? { index: o.data.part.index, count: o.data.part.count } : null,
      numExamples: o.data.numExamples ?? null,
      numValidationExamples: o.data.numValidationExamples ?? null,
    },
    epochs: o.epochs,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    momentum: o.momentum,
    nesterov: o.nesterov,
    weightDecay: o.weightDecay,
    schedule: { kind: o.schedule.kind, stepEpochs: [...o.schedule.stepEpochs], factor: o.schedule.factor, warmupEpochs: o.schedule.warmupEpochs, minLr: o.schedule.minLr },
    labelSmoothing: o.labelSmoothing,
    augment: { pad: o.augment.pad, flip: o.augment.flip, cutout: o.augment.cutout },
    seed: o.seed,
    backend: o.backend,
    pretrained: o.pretrained
      ? { uri: redactUri(o.pretrained.uri), layerBeforeFullc: o.pretrained.layerBeforeFullc ?? null, freeze: o.pretrained.freeze, lrMultiplier: o.pretrained.lrMultiplier }
      : null,
    checkpoint: o.checkpoint ? { uri: redactUri(o.checkpoint.uri), everyEpochs: o.checkpoint.everyEpochs, keep: o.checkpoint.keep } : null,
    resume: o.resume,
    out: o.out === undefined ? null : redactUri(o.out),
    prefetchWorkers: o.prefetchWorkers,
    lrScaling: o.lrScaling,
    shuffle: o.shuffle,
    limits: { ...o.limits },
    dist: {
      worldSize: o.dist.worldSize,
      rank: o.dist.rank,
      jobId: o.dist.jobId,
      rendezvousTimeoutMs: o.dist.rendezvousTimeoutMs,
      peerTimeoutMs: o.dist.peerTimeoutMs,
      chunkBytes: o.dist.chunkBytes,
    },
  };
}
