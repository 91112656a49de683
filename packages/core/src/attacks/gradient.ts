import '../util/tf-gradients.ts';
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../models/classifier.ts';
import type { AttackLoss } from '../losses/losses.ts';

/** The result of `lossAndGradient`: input gradient, logits [n, K] and per-example loss [n], all owned by the caller. */
export interface LossAndGradient {
  /** ∇ₓ of the summed per-example loss; per example this is that example's own input gradient. */
  grad: tf.Tensor4D;
  logits: tf.Tensor2D;
  loss: tf.Tensor1D;
}

/**
 * One forward and one backward pass. The caller owns (and disposes) the three returned tensors.
 * Examples are independent (inference mode), so the gradient of the sum is the per-example gradient.
 */
export function lossAndGradient(
  model: Classifier,
  loss: AttackLoss,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  targets?: tf.Tensor1D,
): LossAndGradient {
  let logits: tf.Tensor2D | undefined;
  let perExample: tf.Tensor1D | undefined;
  const grad = tf.grad((xx: tf.Tensor) => {
    logits = tf.keep(model.logits(xx as tf.Tensor4D));
    perExample = tf.keep(loss(logits, labels, targets));
    return tf.sum(perExample);
  })(x) as tf.Tensor4D;
  return { grad, logits: logits!, loss: perExample! };
}

/** Input gradient of a per-example loss (convenience; disposes the rest). */
export function inputGradient(
  model: Classifier,
  loss: AttackLoss,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  targets?: tf.Tensor1D,
): tf.Tensor4D {
  const r = lossAndGradient(model, loss, x, labels, targets);
  r.logits.dispose();
  r.loss.dispose();
  return r.grad;
}

/** Per-example "the attack succeeded at this point": misclassified (untargeted) or hits its target. */
export function isSuccess(logits: tf.Tensor2D, labels: tf.Tensor1D, targets?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const pred = tf.argMax(logits, 1);
    return (targets ? tf.equal(pred, tf.cast(targets, 'int32')) : tf.notEqual(pred, tf.cast(labels, 'int32'))) as tf.Tensor1D;
  });
}
