/**
 * Curvature of a classifier's loss in input space, per example: how far the loss is from linear inside the
 * threat model's ball, which is what single-step attacks and FGSM training rely on (SPEC §5, §9a).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import { lossAndGradient } from '../attacks/gradient.ts';
import { ConfigError } from '../errors.ts';
import { crossEntropy, type AttackLoss } from '../losses/losses.ts';
import type { Classifier } from '../models/classifier.ts';
import { perExample, rowDot } from '../threat/norms.ts';
import type { ThreatModel } from '../threat/threat.ts';
import type { Rng } from '../util/rng.ts';
import { inputHessian } from './hessian.ts';

function rowNorm(a: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(rowDot(a, a)) as tf.Tensor1D);
}

function positiveInteger(key: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(key, 'an integer ≥ 1', String(v));
  return v;
}

/** Per-example results of the input power iteration. */
export interface InputEigenvalues {
  /** λ_max(∇ₓ²ℓ(xᵢ)) per example (largest in magnitude; the CE Hessian of a ReLU network is PSD almost everywhere). */
  values: Float32Array;
  /** Products spent (the same for every example: the batch iterates until all have converged). */
  iterations: number;
  converged: boolean;
}

/**
 * The top eigenvalue of each example's input Hessian, by power iteration on the whole batch at once (the Hessian
 * of the summed loss is block diagonal): per-example Rayleigh quotients, stopping when every one has settled to
 * the relative tolerance (default 1e-3) or after maxIterations (default 20) products.
 */
export function inputTopEigenvalues(
  model: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  opts: { maxIterations?: number; tolerance?: number; rng: Rng; loss?: AttackLoss },
): InputEigenvalues {
  const maxIterations = positiveInteger('maxIterations', opts.maxIterations ?? 20);
  const tolerance = opts.tolerance ?? 1e-3;
  const op = inputHessian(model, x, y, opts.loss ?? crossEntropy);
  const unitRows = (t: tf.Tensor) => tf.tidy(() => tf.div(t, perExample(tf.maximum(rowNorm(t), 1e-30) as tf.Tensor1D, t)));
  let v = tf.tidy(() => unitRows(tf.randomNormal(x.shape, 0, 1, 'float32', opts.rng.seed())));
  let prev: Float32Array | undefined;
  let values = new Float32Array(x.shape[0]);
  let iterations = 0;
  let converged = false;
  try {
    while (iterations < maxIterations && !converged) {
      const [hv] = op.apply([v]);
      iterations++;
      values = tf.tidy(() => rowDot(hv!, v).dataSync() as Float32Array);
      // A row whose product vanishes (a saturated softmax) keeps its direction: its eigenvalue is 0.
      const next = tf.tidy(() => {
        const n = rowNorm(hv!);
        return tf.where(perExample(tf.greater(n, 0), hv!) as tf.Tensor, unitRows(hv!), v);
      });
      tf.dispose([hv!, v]);
      v = next;
      converged = prev !== undefined && values.every((r, i) => Math.abs(r - prev![i]!) / (Math.abs(prev![i]!) + 1e-6) < tolerance);
      prev = values;
    }
    return { values, iterations, converged };
  } finally {
    v.dispose();
  }
}

/** Options of `linearityError`. */
export interface LinearityErrorOptions {
  /** Ascent steps; default 10. */
  steps?: number;
  /** Step size in the threat's norm; default 2.5·ε / steps (Madry et al.'s rule). */
  stepSize?: number;
  rng: Rng;
  loss?: AttackLoss;
}

/**
 * Qin et al. (2019)'s local linearity measure per example: γ = max over δ in the threat's ball (and box) of
 * |ℓ(x+δ) − ℓ(x) − δᵀ∇ₓℓ(x)|, maximised by projected steepest ascent from a random start (the largest value seen
 * on the way is kept, so more steps never lower it).
 */
export function linearityError(
  model: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  threat: ThreatModel,
  opts: LinearityErrorOptions,
): Float32Array {
  const steps = positiveInteger('steps', opts.steps ?? 10);
  const stepSize = opts.stepSize ?? (2.5 * threat.eps) / steps;
  if (!(stepSize > 0) || !Number.isFinite(stepSize)) throw new ConfigError('stepSize', 'a finite number > 0', String(stepSize));
  let best: tf.Tensor1D | undefined;
  const last = maximiseLinearityGap(model, x, y, threat, {
    steps,
    stepSize,
    rng: opts.rng,
    loss: opts.loss ?? crossEntropy,
    visit: (gap) => {
      const larger = best ? tf.maximum(best, gap) : tf.clone(gap);
      best?.dispose();
      best = tf.keep(larger) as tf.Tensor1D;
    },
  });
  last.dispose();
  try {
    return best!.dataSync() as Float32Array;
  } finally {
    best!.dispose();
  }
}

/**
 * The ascent behind γ: `steps` projected steepest-ascent steps on the linearity gap
 * g(x') = |ℓ(x') − ℓ(x) − (x' − x)ᵀ∇ₓℓ(x)| from a random start in the threat's ball, ending at the last iterate
 * (returned, the caller's to dispose). `visit`, when given, sees g at the start and at each iterate (a tensor
 * disposed after the call), so a caller can keep the largest value seen; without it no gap is evaluated but the
 * gradient's.
 */
export function maximiseLinearityGap(
  model: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  threat: ThreatModel,
  opts: { steps: number; stepSize: number; rng: Rng; loss: AttackLoss; visit?: (gap: tf.Tensor1D) => void },
): tf.Tensor4D {
  const at0 = lossAndGradient(model, opts.loss, x, y);
  const gap = (xx: tf.Tensor4D) =>
    tf.abs(tf.sub(tf.sub(opts.loss(model.logits(xx), y), at0.loss), rowDot(tf.sub(xx, x), at0.grad))) as tf.Tensor1D;
  const visit = (xx: tf.Tensor4D) => opts.visit && tf.tidy(() => opts.visit!(gap(xx)));
  let xt = threat.randomInit(x, opts.rng);
  try {
    visit(xt);
    for (let s = 0; s < opts.steps; s++) {
      const g = tf.grad((z: tf.Tensor) => tf.sum(gap(z as tf.Tensor4D)))(xt) as tf.Tensor4D;
      const next = tf.tidy(() => threat.project(tf.add(xt, tf.mul(threat.ascent(g), opts.stepSize)) as tf.Tensor4D, x));
      tf.dispose([g, xt]);
      xt = next;
      visit(xt);
    }
    return xt;
  } catch (e) {
    xt.dispose();
    throw e;
  } finally {
    tf.dispose([at0.grad, at0.logits, at0.loss]);
  }
}

/**
 * ELLE's linearity error (Abad Rocamora et al., ICLR 2024) per example, averaged over `triples` draws: for x_a, x_b
 * uniform in the threat's ball (clipped to the box) and a ~ U(0, 1), x_c = (1 − a)·x_a + a·x_b (in the ball and box
 * by convexity) and the error is (ℓ(x_c) − (1 − a)·ℓ(x_a) − a·ℓ(x_b))²: zero for a loss linear in the ball.
 */
export function elleError(
  model: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  threat: ThreatModel,
  opts: { triples?: number; rng: Rng; loss?: AttackLoss },
): Float32Array {
  const triples = positiveInteger('triples', opts.triples ?? 1);
  const loss = opts.loss ?? crossEntropy;
  return tf.tidy(() => {
    let sum = tf.zeros([x.shape[0]]);
    for (let t = 0; t < triples; t++) {
      const xa = threat.randomInit(x, opts.rng);
      const xb = threat.randomInit(x, opts.rng);
      const a = tf.randomUniform([x.shape[0]], 0, 1, 'float32', opts.rng.seed()) as tf.Tensor1D;
      const xc = tf.add(tf.mul(xa, perExample(tf.sub(1, a) as tf.Tensor1D, x)), tf.mul(xb, perExample(a, x))) as tf.Tensor4D;
      const chord = tf.add(tf.mul(tf.sub(1, a), loss(model.logits(xa), y)), tf.mul(a, loss(model.logits(xb), y)));
      sum = tf.add(sum, tf.square(tf.sub(loss(model.logits(xc), y), chord)));
    }
    return tf.div(sum, triples).dataSync() as Float32Array;
  });
}

/**
 * CURE's curvature proxy (Moosavi-Dezfooli et al. 2019) per example: ‖∇ℓ(x + h·z) − ∇ℓ(x)‖₂ with z = s / ‖s‖₂,
 * s = sign(∇ₓℓ(x)): the change of the gradient over an L2 step of length h along the FGSM direction (x + h·z is not
 * clipped to the box, as in CURE). With h = ε·√d the step lands on the L∞ FGSM point x + ε·s.
 */
export function cureCurvature(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: { h: number; loss?: AttackLoss }): Float32Array {
  if (!(opts.h > 0) || !Number.isFinite(opts.h)) throw new ConfigError('h', 'a finite number > 0', String(opts.h));
  const loss = opts.loss ?? crossEntropy;
  const at0 = lossAndGradient(model, loss, x, y);
  try {
    return tf.tidy(() => {
      const s = tf.sign(at0.grad);
      const z = tf.div(s, perExample(tf.maximum(rowNorm(s), 1e-30) as tf.Tensor1D, s));
      const moved = lossAndGradient(model, loss, tf.add(x, tf.mul(z, opts.h)) as tf.Tensor4D, y);
      tf.dispose([moved.logits, moved.loss]);
      return rowNorm(tf.sub(moved.grad, at0.grad)).dataSync() as Float32Array;
    });
  } finally {
    tf.dispose([at0.grad, at0.logits, at0.loss]);
  }
}
