import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import type { Classifier } from '../models/classifier.ts';
import { crossEntropy } from '../losses/losses.ts';
import { inputGradient } from '../attacks/gradient.ts';
import { projectedGradientAscent } from '../attacks/pgd.ts';
import { rowDot } from '../threat/norms.ts';
import { threatModel } from '../threat/threat.ts';
import type { Rng } from '../util/rng.ts';

/** Per-row cosine of two batches, flattened per example: [n]. */
export function rowCosine(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const norms = tf.mul(tf.sqrt(rowDot(a, a)), tf.sqrt(rowDot(b, b)));
    return tf.div(rowDot(a, b), tf.maximum(norms, 1e-20)) as tf.Tensor1D;
  });
}

/**
 * Gradient alignment E[cos(∇ₓℓ(x), ∇ₓℓ(x + η))], η ~ U(B∞(0, ε)) (x + η clipped to the box): the
 * local linearity GradAlign keeps high and catastrophic overfitting destroys.
 */
export function gradientAlignment(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, eps: number, rng: Rng): number {
  const g1 = inputGradient(model, crossEntropy, x, y);
  const xEta = tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -eps, eps, 'float32', rng.seed())), 0, 1) as tf.Tensor4D);
  const g2 = inputGradient(model, crossEntropy, xEta, y);
  const cos = tf.tidy(() => tf.mean(rowCosine(g1, g2)).dataSync()[0]!);
  tf.dispose([g1, g2, xEta]);
  return cos;
}

/** E[cos(δ_FGSM, δ_PGD)]: near-orthogonal directions mean the loss is far from linear in the ball. */
export function fgsmPgdCosine(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, eps: number, rng: Rng, pgdSteps = 10): number {
  const threat = threatModel('linf', eps);
  const g = inputGradient(model, crossEntropy, x, y);
  const pgd = projectedGradientAscent({
    model,
    x,
    labels: y,
    threat,
    rng,
    config: { steps: pgdSteps, alpha: eps / 4, randomStart: true, restarts: 1, loss: 'ce', momentum: 0 },
  });
  const cos = tf.tidy(() => tf.mean(rowCosine(tf.sign(g), tf.sub(pgd, x))).dataSync()[0]!);
  tf.dispose([g, pgd]);
  return cos;
}
