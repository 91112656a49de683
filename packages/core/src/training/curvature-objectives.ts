/**
 * Curvature-regularised single-step adversarial training (issue 13, SPEC §9a): an FGSM training point plus a
 * penalty on how far the loss is from linear around x — ELLE and its adaptive-λ form ELLE-A (Abad Rocamora et
 * al., ICLR 2024), CURE's gradient-change penalty (Moosavi-Dezfooli et al. 2019, as the ELLE authors run it in
 * adversarial training) and LLR (Qin et al. 2019). Each is a `prepare` (the points, outside any θ-gradient) and a
 * `loss` (whose θ-gradient is the step), like every other method.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import { ConfigError } from '../errors.ts';
import { crossEntropy } from '../losses/losses.ts';
import { lossAndGradient } from '../attacks/gradient.ts';
import type { ThreatModel } from '../threat/threat.ts';
import { maximiseLinearityGap } from '../curvature/input.ts';
import { rowDot } from '../threat/norms.ts';
import { asClassifier, type Forward } from './forward.ts';
import type { Objective, StepContext } from './objectives.ts';

/**
 * State of an adaptive regulariser weight (ELLE-A's): running mean and sum of squared deviations (Welford) of
 * the batch linearity errors seen so far, and the weight for the next step. Saved with every checkpoint.
 */
export interface AdaptiveWeight {
  count: number;
  mean: number;
  m2: number;
  weight: number;
}

/** ELLE-A's schedule: the largest weight, how many standard deviations count as a spike, the decay per step. */
export interface AdaptiveWeightOptions {
  max: number;
  sensitivity: number;
  decay: number;
}

/** The weight starts off: ELLE-A regularises only once the linearity error has spiked. */
export const ADAPTIVE_WEIGHT_START: AdaptiveWeight = Object.freeze({ count: 0, mean: 0, m2: 0, weight: 0 });

/**
 * One step of ELLE-A's weight: if at least 3 errors were seen before and this batch's error exceeds their mean
 * by `sensitivity` (population) standard deviations, the weight jumps to `max`; otherwise it decays by `decay`.
 * Then the error joins the statistics. Pure: returns the next state.
 */
export function nextAdaptiveWeight(s: AdaptiveWeight, error: number, o: AdaptiveWeightOptions): AdaptiveWeight {
  const spike = s.count > 2 && error > s.mean + o.sensitivity * Math.sqrt(s.m2 / s.count);
  const count = s.count + 1;
  const delta = error - s.mean;
  const mean = s.mean + delta / count;
  return { count, mean, m2: s.m2 + delta * (error - mean), weight: spike ? o.max : s.weight * o.decay };
}

/** What the curvature methods take from the run's options. */
export interface CurvatureMethodOptions {
  threat: ThreatModel;
  /** The FGSM point's start: the clean point (α = ε by default) or a uniform draw in the ball (α = 1.25ε). */
  fgsmInit: 'zero' | 'random';
  alpha: number;
  lambda: number;
  /** LLR: the weight μ of |δᵀ∇ₓℓ(x)|, and the ascent steps for γ. */
  mu: number;
  steps: number;
  adaptive?: AdaptiveWeightOptions;
}

const meanCe = (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.mean(crossEntropy(logits, y)) as tf.Scalar;
const perExampleCe = (f: Forward, x: tf.Tensor4D, y: tf.Tensor1D) => crossEntropy(f(x, true), y);

/** The FGSM training point from `start`, and ∇ₓℓ at x when the start is x (CURE reuses it). */
function fgsmFrom(forward: Forward, x: tf.Tensor4D, y: tf.Tensor1D, o: CurvatureMethodOptions, ctx: StepContext) {
  const start = o.fgsmInit === 'random' ? o.threat.randomInit(x, ctx.rng) : tf.clone(x);
  const at = lossAndGradient(asClassifier(forward, x), crossEntropy, start, y);
  const point = tf.tidy(() => o.threat.project(tf.add(start, tf.mul(tf.sign(at.grad), o.alpha)) as tf.Tensor4D, x));
  tf.dispose([start, at.logits, at.loss]);
  return { point, gradAtStart: at.grad };
}

/** The weight in force for this step, and the update after it, for a constant or an adaptive λ. */
function weightFor(o: CurvatureMethodOptions, ctx: StepContext, error: () => number): number {
  if (!o.adaptive) return o.lambda;
  const s = ctx.regularizer ?? ADAPTIVE_WEIGHT_START;
  ctx.regularizer = nextAdaptiveWeight(s, error(), o.adaptive);
  return s.weight;
}

/**
 * ELLE's error on a batch: mean over examples of (ℓ(x_c) − (1 − a)·ℓ(x_a) − a·ℓ(x_b))², x_a, x_b uniform in the
 * ball (clipped to the box: training points stay images), a ~ U(0, 1), x_c = (1 − a)·x_a + a·x_b; one forward
 * pass over the 3n points.
 */
export function elleBatchError(forward: Forward, y: tf.Tensor1D, xa: tf.Tensor4D, xb: tf.Tensor4D, a: tf.Tensor4D): tf.Scalar {
  const n = xa.shape[0];
  const xc = tf.add(tf.mul(xa, tf.sub(1, a)), tf.mul(xb, a)) as tf.Tensor4D;
  const losses = perExampleCe(forward, tf.concat([xa, xb, xc]) as tf.Tensor4D, tf.concat([y, y, y]) as tf.Tensor1D);
  const [la, lb, lc] = tf.split(losses, [n, n, n]);
  const w = tf.reshape(a, [n]);
  return tf.mean(tf.square(tf.sub(lc!, tf.add(tf.mul(tf.sub(1, w), la!), tf.mul(w, lb!))))) as tf.Scalar;
}

/** ELLE (constant λ) or ELLE-A (adaptive λ): CE at the FGSM point + λ·ELLE's error; no double backprop. */
export function elleObjective(name: 'elle' | 'elle-a', o: CurvatureMethodOptions): Objective {
  return {
    name,
    cost: 5, // FGSM point (1), its loss (1), three more forward+backward passes for the triple (3)
    prepare: (f, x, y, ctx) => {
      const { point, gradAtStart } = fgsmFrom(f, x, y, o, ctx);
      gradAtStart.dispose();
      const xa = o.threat.randomInit(x, ctx.rng);
      const xb = o.threat.randomInit(x, ctx.rng);
      const a = tf.randomUniform([x.shape[0], 1, 1, 1], 0, 1, 'float32', ctx.rng.seed()) as tf.Tensor4D;
      return [point, xa, xb, a];
    },
    loss: (f, _x, y, [point, xa, xb, a], ctx) =>
      tf.tidy(() => {
        const error = elleBatchError(f, y, xa!, xb!, a!);
        const lambda = weightFor(o, ctx, () => error.dataSync()[0]!);
        return tf.add(meanCe(f(point!, true), y), tf.mul(lambda, error)) as tf.Scalar;
      }),
  };
}

/**
 * CURE in adversarial training: CE at the FGSM point + λ·mean over the batch of ‖∇ₓℓ(x_FGSM) − ∇ₓℓ(x)‖², with
 * ∇ₓℓ(x) held constant (the FGSM step computed it) and ∇ₓℓ(x_FGSM) differentiated again (double backprop). With
 * the zero start and α = ε, x_FGSM = x + h·s/‖s‖₂ with h = ε·√d: CURE's finite difference along the sign direction.
 */
export function cureObjective(o: CurvatureMethodOptions): Objective {
  return {
    name: 'cure',
    cost: 4, // gradient at x and the FGSM point (1), loss (1), the input gradient at the point differentiated (≈ 2)
    prepare: (f, x, y, ctx) => {
      const { point, gradAtStart } = fgsmFrom(f, x, y, o, ctx);
      // With a random start the gradient was taken there; CURE's reference gradient is at x itself.
      if (o.fgsmInit === 'zero') return [point, gradAtStart];
      gradAtStart.dispose();
      return [point, lossAndGradient(asClassifier(f, x), crossEntropy, x, y).grad];
    },
    loss: (f, _x, y, [point, gradAtX], ctx) =>
      tf.tidy(() => {
        const gradAtPoint = tf.grad((z: tf.Tensor) => tf.sum(perExampleCe(f, z as tf.Tensor4D, y)))(point!);
        const penalty = tf.mean(tf.sum(tf.reshape(tf.square(tf.sub(gradAtPoint, gradAtX!)), [point!.shape[0], -1]), 1)) as tf.Scalar;
        const lambda = weightFor(o, ctx, () => penalty.dataSync()[0]!);
        return tf.add(meanCe(f(point!, true), y), tf.mul(lambda, penalty)) as tf.Scalar;
      }),
  };
}

/**
 * LLR (Qin et al. 2019): CE at x + λ·γ + μ·|δᵀ∇ₓℓ(x)|, averaged over the batch, with δ (prepared, held constant)
 * maximising the linearity gap g(δ) = |ℓ(x+δ) − ℓ(x) − δᵀ∇ₓℓ(x)| over the ball by `steps` projected sign steps from
 * a random start (step 2.5ε/steps), γ = g(δ) and ∇ₓℓ(x) differentiated in θ (double backprop).
 */
export function llrObjective(o: CurvatureMethodOptions): Objective {
  const stepSize = (2.5 * o.threat.eps) / o.steps;
  return {
    name: 'llr',
    cost: o.steps + 4,
    prepare: (f, x, y, ctx) => {
      const last = maximiseLinearityGap(asClassifier(f, x), x, y, o.threat, { steps: o.steps, stepSize, rng: ctx.rng, loss: crossEntropy });
      const delta = tf.sub(last, x) as tf.Tensor4D;
      last.dispose();
      return [delta];
    },
    loss: (f, x, y, [delta]) =>
      tf.tidy(() => {
        // The clean loss by its own forward pass: tf.grad disposes what its function makes.
        const clean = perExampleCe(f, x, y);
        const gradAtX = tf.grad((z: tf.Tensor) => tf.sum(perExampleCe(f, z as tf.Tensor4D, y)))(x);
        const firstOrder = rowDot(delta!, gradAtX);
        const gamma = tf.abs(tf.sub(tf.sub(perExampleCe(f, tf.add(x, delta!) as tf.Tensor4D, y), clean), firstOrder));
        return tf.add(tf.mean(clean), tf.add(tf.mul(o.lambda, tf.mean(gamma)), tf.mul(o.mu, tf.mean(tf.abs(firstOrder))))) as tf.Scalar;
      }),
  };
}

/** Published λ of ELLE per ε on CIFAR-10 (the authors' scripts): 1000 up to 8/255, 5000 up to 20/255, 10000 above. */
export function elleDefaultLambda(eps: number): number {
  return eps <= 8 / 255 + 1e-12 ? 1000 : eps <= 20 / 255 + 1e-12 ? 5000 : 10000;
}

/** ELLE-A's λ_max (the authors' default). */
export const ELLE_A_DEFAULT_LAMBDA = 4000;

/** CURE's λ_max in the ELLE authors' adaptive runs: 1000 at 8/255, 50000 at 16/255 (and above). */
export function cureDefaultLambda(eps: number): number {
  return eps <= 8 / 255 + 1e-12 ? 1000 : 50000;
}

/** `v` if it is a finite number ≥ 0, else a ConfigError naming `key`. */
export function nonNegative(key: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) throw new ConfigError(key, 'a finite number ≥ 0', String(v));
  return v;
}
