import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import type { Forward, Objective, StepContext } from './objectives.ts';
import { hessianDiagonal, SophiaOptimizer, type HessianEstimator } from './sophia.ts';

/** What one step updates: the model (as `forward`), its trainable variables and the optimiser. */
export interface StepTarget {
  forward: Forward;
  optimizer: tf.Optimizer;
  vars: tf.Variable[];
  /** L2 weight decay, added to the objective's loss (0: none). */
  weightDecay: number;
  /** How a Sophia optimiser estimates its Hessian diagonal (default gnb); ignored by the others. */
  hessianEstimator?: HessianEstimator;
}

/** What `trainingStep` measured on its batch. */
export interface StepResult {
  /** The batch's mean loss at the step (before the update). */
  loss: number;
  /** How many of the points the step was taken at the updated model classifies correctly. */
  hits: number;
}

/**
 * One optimiser step on one batch: the objective prepares its training points (drawing from `ctx.rng`),
 * the optimiser minimises the loss at them, and the updated model is scored on those same points —
 * adversarial accuracy for AT methods, training accuracy for standard training. `x` and `y` stay the
 * caller's; everything else the step allocates is freed before it returns.
 */
export function trainingStep(t: StepTarget, objective: Objective, x: tf.Tensor4D, y: tf.Tensor1D, ctx: StepContext): StepResult {
  const prepared = objective.prepare(t.forward, x, y, ctx);
  try {
    // Sophia's estimate is taken where this step's loss is: the prepared (adversarial) points, else the clean batch.
    if (t.optimizer instanceof SophiaOptimizer && t.optimizer.dueForHessian()) {
      const estimate = hessianDiagonal(t.hessianEstimator ?? 'gnb', (z) => t.forward(z, true), t.vars, prepared[0] ?? x, y, ctx.rng);
      t.optimizer.refreshHessian(t.vars, estimate);
      tf.dispose(estimate);
    }
    const loss = tf.tidy(() => {
      const l = t.optimizer.minimize(
        () => {
          let value = objective.loss(t.forward, x, y, prepared, ctx);
          if (t.weightDecay > 0)
            value = tf.add(value, tf.mul(t.weightDecay / 2, tf.addN(t.vars.map((v) => tf.sum(tf.square(v)))))) as tf.Scalar;
          return value;
        },
        true,
        t.vars,
      )!;
      return l.dataSync()[0]!;
    });
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(t.forward(prepared[0] ?? x, false), 1), y), 'float32')).dataSync()[0]!);
    return { loss, hits };
  } finally {
    tf.dispose(prepared);
  }
}
