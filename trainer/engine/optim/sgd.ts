import * as tf from '@tensorflow/tfjs';
import { fusedSgdMomentum } from '../backend/sgd-update.js';

/** One trainable variable and how the optimizer treats it. */
export interface ParameterSpec {
  variable: tf.Variable;
  /** Weight decay applies to convolution and dense kernels only, not to biases or batch-norm parameters. */
  decay: boolean;
  /** Multiplies the learning rate, e.g. 0.1 for the pretrained part when fine-tuning. */
  lrMultiplier: number;
}

export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/** Saved optimizer state: one momentum buffer per variable, by variable name. */
export interface SgdState {
  momentum: Record<string, Float32Array>;
}

/**
 * SGD with momentum (optionally Nesterov) and decoupled-by-parameter weight decay:
 *   g = grad + wd * w            (wd only where decay is on)
 *   v = momentum * v + g
 *   step = nesterov ? g + momentum * v : v
 *   w = w - lr * lrMultiplier * step
 * This is the PyTorch formulation; MXNet's folds lr into v, which differs only when lr changes.
 * Gradients come in from outside (possibly averaged over replicas) so that the same
 * optimizer serves single-process and distributed training.
 */
export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(
    private readonly params: ParameterSpec[],
    private readonly options: SgdOptions,
  ) {
    for (const p of params) {
      this.buffers.set(p.variable.name, tf.variable(tf.zerosLike(p.variable), false, `${p.variable.name}/momentum`));
    }
  }

  /** Applies one update. `grads` is keyed by variable name; variables without a gradient are left alone. */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    const { momentum, nesterov, weightDecay } = this.options;
    tf.tidy(() => {
      for (const p of this.params) {
        const grad = grads[p.variable.name];
        if (!grad) continue;
        const buf = this.buffers.get(p.variable.name)!;
        // The native backend does the five ops below in one pass.
        const fused = fusedSgdMomentum(p.variable, grad, buf, { lr: lr * p.lrMultiplier, momentum, weightDecay: p.decay ? weightDecay : 0, nesterov });
        if (fused !== null) {
          buf.assign(fused.buffer);
          p.variable.assign(fused.variable);
          continue;
        }
        const g = p.decay && weightDecay > 0 ? grad.add(p.variable.mul(weightDecay)) : grad;
        const v = buf.mul(momentum).add(g);
        buf.assign(v);
        const step = nesterov ? g.add(v.mul(momentum)) : v;
        p.variable.assign(p.variable.sub(step.mul(lr * p.lrMultiplier)));
      }
    });
  }

  state(): SgdState {
    const momentum: Record<string, Float32Array> = {};
    for (const [name, buf] of this.buffers) momentum[name] = buf.dataSync() as Float32Array;
    return { momentum };
  }

  restore(state: SgdState): void {
    for (const [name, buf] of this.buffers) {
      const saved = state.momentum[name];
      if (!saved) throw new Error(`optimizer state has no momentum for variable '${name}'`);
      if (saved.length !== buf.size) throw new Error(`optimizer momentum for '${name}' has ${saved.length} values, expected ${buf.size}`);
      buf.assign(tf.tensor(saved, buf.shape));
    }
  }

  dispose(): void {
    for (const buf of this.buffers.values()) buf.dispose();
    this.buffers.clear();
  }
}
