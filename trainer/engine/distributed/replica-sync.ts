import * as tf from '@tensorflow/tfjs';
import type { Group } from '../../dist/group.js';
import { allReduceTensors, broadcastTensors } from '../../dist/buckets.js';

/**
 * What data-parallel training needs from the group, in terms of the model:
 * - the same starting point everywhere (rank 0's weights broadcast),
 * - averaged gradients each step, with batch-norm moving statistics averaged in the
 *   same collective so they stay identical across ranks (cheaper than a second call),
 * - agreement on stopping: one rank's SIGTERM rides along as one extra number, so every
 *   rank stops after the same step instead of one waiting forever for the others,
 * - agreement on figures that differ per rank (steps per epoch, validation sums).
 */
export class ReplicaSync {
  private stopAgreed = false;

  constructor(
    readonly group: Group,
    private readonly model: tf.LayersModel,
    private readonly variables: tf.Variable[],
  ) {}

  get rank(): number {
    return this.group.rank;
  }

  get worldSize(): number {
    return this.group.worldSize;
  }

  /** Every weight of the model (trainable and not) replaced by rank 0's. */
  async broadcastWeights(): Promise<void> {
    const weights = this.model.weights;
    const values = weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
    await broadcastTensors(this.group, values, 0);
    tf.tidy(() => weights.forEach((w, i) => w.write(tf.tensor(values[i], w.shape.map(Number)))));
  }

  /** Averages gradients and batch-norm statistics; records whether any rank asked to stop. */
  async reduceGradients(grads: Record<string, tf.Tensor>, stopRequested: boolean): Promise<Record<string, tf.Tensor>> {
    const gradArrays = this.variables.map((v) => {
      const g = grads[v.name];
      if (!g) throw new Error(`no gradient for variable ${v.name}; every rank must compute the same gradients`);
      return Float32Array.from(g.dataSync() as Float32Array);
    });
    const stats = this.model.weights.filter((w) => !w.trainable);
    const statArrays = stats.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
    const flag = new Float32Array([stopRequested ? 1 : 0]);
    await allReduceTensors(this.group, [...gradArrays, ...statArrays, flag]);
    this.stopAgreed = this.stopAgreed || flag[0] > 0;
    tf.tidy(() => stats.forEach((w, i) => w.write(tf.tensor(statArrays[i], w.shape.map(Number)))));
    const reduced: Record<string, tf.Tensor> = {};
    this.variables.forEach((v, i) => (reduced[v.name] = tf.tensor(gradArrays[i], v.shape)));
    return reduced;
  }

  /** True once any rank asked to stop, as of the last reduced step: the same on every rank. */
  get stopRequested(): boolean {
    return this.stopAgreed;
  }

  /**
   * Checks that every rank resumes from the same place as rank 0. Ranks that read their
   * checkpoints from different places (a local path on each pod instead of shared storage)
   * would otherwise train different epochs in lockstep and stall at the end.
   */
  async agreeOnStart(position: { epoch: number; stepInEpoch: number; globalStep: number }, describe: string): Promise<void> {
    const mine = Float32Array.from([position.epoch, position.stepInEpoch, position.globalStep]);
    const rank0 = Float32Array.from(mine);
    await broadcastTensors(this.group, [rank0], 0);
    if (rank0.some((v, i) => v !== mine[i])) {
      throw new Error(
        `rank ${this.group.rank} starts at epoch ${position.epoch}, step ${position.stepInEpoch} (${describe}) but rank 0 starts at epoch ${rank0[0]}, step ${rank0[1]}: ` +
          'every rank must see the same checkpoints; use a shared location (s3://...) for --checkpoint',
      );
    }
  }

  /** The smallest of each rank's value (e.g. steps per epoch, so every rank takes as many steps). */
  async min(value: number): Promise<number> {
    return Math.min(...(await this.gather(value)));
  }

  /** Sums of per-rank values (e.g. validation loss sums and counts). */
  async sum(values: number[]): Promise<number[]> {
    const data = Float32Array.from(values);
    await allReduceTensors(this.group, [data]);
    return Array.from(data, (v) => v * this.group.worldSize);
  }

  /** Every rank's value, by rank: each rank fills its own slot and the average times n restores them. */
  private async gather(value: number): Promise<number[]> {
    const slots = new Float32Array(this.group.worldSize);
    slots[this.group.rank] = value;
    await allReduceTensors(this.group, [slots]);
    return Array.from(slots, (v) => Math.round(v * this.group.worldSize));
  }
}
