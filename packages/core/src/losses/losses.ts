import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import { AttackError } from '../errors.ts';

/**
 * Per-example losses over logits [n, K], all written so that an attack MAXIMISES them. `labels` are
 * int32 [n]; `targets` (targeted losses) int32 [n].
 */
export type AttackLoss = (logits: tf.Tensor2D, labels: tf.Tensor1D, targets?: tf.Tensor1D) => tf.Tensor1D;

/** log-softmax as z − logSumExp(z): tf.logSoftmax's own gradient is wrong at second order (GradAlign). */
export function logSoftmax(logits: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sub(logits, tf.logSumExp(logits, -1, true)) as tf.Tensor2D);
}

/** Cross-entropy of the true label, per example (differentiable twice). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(logp, onehot), 1)) as tf.Tensor1D;
  });
}

/** Targeted CE for maximisation: −CE(target). */
export function targetedCrossEntropy(logits: tf.Tensor2D, _labels: tf.Tensor1D, targets?: tf.Tensor1D): tf.Tensor1D {
  if (!targets) throw new AttackError('targeted cross-entropy needs target labels');
  return tf.tidy(() => tf.neg(crossEntropy(logits, targets)));
}

/** The CW margin max_{i≠y} z_i − z_y (positive iff misclassified). */
export function margin(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const onehot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]), 'float32');
    const zy = tf.sum(tf.mul(logits, onehot), 1);
    const others = tf.add(logits, tf.mul(onehot, -1e9));
    return tf.sub(tf.max(others, 1), zy) as tf.Tensor1D;
  });
}

/** Throws AttackError unless a model of `k` classes has the `needed` classes the loss named `loss` requires. */
export function requireClasses(loss: string, k: number, needed: number): void {
  if (k < needed) {
    throw new AttackError(`the ${loss} loss needs at least ${needed} classes; the model has ${k}`);
  }
}

/**
 * The `count` largest logits per example, descending: [n, count]. Differentiable (util/tf-gradients.ts registers
 * TopK's gradient: each value's gradient goes to the logit it came from), and no host read.
 */
function rankedLogits(logits: tf.Tensor2D, count: number): tf.Tensor1D[] {
  const values = tf.topk(logits, count, true).values;
  return Array.from({ length: count }, (_, j) => tf.reshape(tf.slice(values, [0, j], [-1, 1]), [-1]) as tf.Tensor1D);
}

/**
 * Difference of Logits Ratio (Croce & Hein 2020): −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3), invariant to
 * shifting and rescaling the logits, so it does not vanish on over-confident models as CE does.
 */
export function dlr(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  requireClasses('DLR', logits.shape[1], 3);
  return tf.tidy(() => {
    const [z1, , z3] = rankedLogits(logits, 3);
    const denom = tf.add(tf.sub(z1!, z3!), 1e-12);
    return tf.div(margin(logits, labels), denom) as tf.Tensor1D;
  });
}

/** Targeted DLR: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2). */
export function targetedDlr(logits: tf.Tensor2D, labels: tf.Tensor1D, targets?: tf.Tensor1D): tf.Tensor1D {
  if (!targets) throw new AttackError('targeted DLR needs target labels');
  requireClasses('targeted DLR', logits.shape[1], 4);
  return tf.tidy(() => {
    const k = logits.shape[1];
    const zy = tf.sum(tf.mul(logits, tf.cast(tf.oneHot(tf.cast(labels, 'int32'), k), 'float32')), 1);
    const zt = tf.sum(tf.mul(logits, tf.cast(tf.oneHot(tf.cast(targets, 'int32'), k), 'float32')), 1);
    const [z1, , z3, z4] = rankedLogits(logits, 4);
    const denom = tf.add(tf.sub(z1!, tf.mul(0.5, tf.add(z3!, z4!))), 1e-12);
    return tf.div(tf.neg(tf.sub(zy, zt)), denom) as tf.Tensor1D;
  });
}

/** The attack losses by name, as configs and flags spell them; each returns a new [n] tensor the caller disposes. */
export const LOSSES = {
  /** Cross-entropy of the true label (`crossEntropy`). */
  ce: crossEntropy,
  /** −CE of the target class (`targetedCrossEntropy`); throws AttackError without targets. */
  'ce-targeted': targetedCrossEntropy,
  /** Difference of Logits Ratio (`dlr`); needs at least 3 classes. */
  dlr,
  /** Targeted DLR (`targetedDlr`); needs targets and at least 4 classes. */
  'dlr-targeted': targetedDlr,
  /** The CW margin (`margin`), positive iff misclassified. */
  margin,
} as const satisfies Record<string, AttackLoss>;
/** A key of LOSSES: the value of an attack config's `loss`. */
export type LossName = keyof typeof LOSSES;
