import { UsageError } from '../../util/errors.js';

/**
 * Learning-rate schedules as pure functions of training progress measured in epochs
 * (fractional: epoch 2.5 is half-way through the third epoch), so that a resumed run,
 * every rank of a distributed run, and the tests all compute the same rate.
 */
export type LrSchedule =
  /** MXNet's MultiFactorScheduler by epoch: multiply by `factor` at each epoch in `stepEpochs`. */
  | { kind: 'step'; baseLr: number; stepEpochs: number[]; factor: number; warmupEpochs: number }
  /** Half-cosine from baseLr down to minLr over totalEpochs (after warm-up). */
  | { kind: 'cosine'; baseLr: number; totalEpochs: number; minLr: number; warmupEpochs: number }
  | { kind: 'constant'; baseLr: number; warmupEpochs: number };

/** Linear warm-up starts from this fraction of the base rate (as Goyal et al. do, ramping from small). */
const WARMUP_START_FRACTION = 0.1;

export function learningRateAt(schedule: LrSchedule, epoch: number): number {
  const target = scheduledRate(schedule, epoch);
  if (schedule.warmupEpochs > 0 && epoch < schedule.warmupEpochs) {
    const progress = epoch / schedule.warmupEpochs;
    return target * (WARMUP_START_FRACTION + (1 - WARMUP_START_FRACTION) * progress);
  }
  return target;
}

function scheduledRate(schedule: LrSchedule, epoch: number): number {
  switch (schedule.kind) {
    case 'constant':
      return schedule.baseLr;
    case 'step': {
      // A step at epoch s applies from the first update of epoch s (0-based), as MXNet's
      // fit.py converts --lr-step-epochs into update counts.
      const passed = schedule.stepEpochs.filter((s) => Math.floor(epoch) >= s).length;
      return schedule.baseLr * Math.pow(schedule.factor, passed);
    }
    case 'cosine': {
      const span = Math.max(schedule.totalEpochs - schedule.warmupEpochs, Number.EPSILON);
      const t = Math.min(Math.max((epoch - schedule.warmupEpochs) / span, 0), 1);
      return schedule.minLr + (schedule.baseLr - schedule.minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
  }
}

/** Parses `--lr-step-epochs 30,60,90` into ascending positive epochs. */
export function parseStepEpochs(value: string | undefined): number[] {
  if (value === undefined || value.trim() === '') return [];
  const epochs = value.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--lr-step-epochs: '${part.trim()}' is not a positive integer epoch`);
    return n;
  });
  for (let i = 1; i < epochs.length; i++) {
    if (epochs[i] <= epochs[i - 1]) throw new UsageError(`--lr-step-epochs must be strictly increasing, got '${value}'`);
  }
  return epochs;
}
