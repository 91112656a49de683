import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import { ConfigError } from '../errors.ts';
import { crossEntropy, logSoftmax } from '../losses/losses.ts';
import { ascentStep } from '../attacks/pgd.ts';
import { inputGradient } from '../attacks/gradient.ts';
import { threatModel, type ThreatModel } from '../threat/threat.ts';
import type { Rng } from '../util/rng.ts';
import {
  cureDefaultLambda,
  ELLE_A_DEFAULT_LAMBDA,
  cureObjective,
  elleDefaultLambda,
  elleObjective,
  llrObjective,
  nonNegative,
  type AdaptiveWeight,
  type AdaptiveWeightOptions,
  type CurvatureMethodOptions,
} from './curvature-objectives.ts';
import { asClassifier, type Forward } from './forward.ts';

export type { Forward } from './forward.ts';

/** What a step passes its objective: the ε in force (ramped by `epsRampEpochs`) and the run's RNG for random draws. */
export interface StepContext {
  eps: number;
  rng: Rng;
  /** An adaptive regulariser weight's state (ELLE-A, CURE): read and replaced by the objective's loss, checkpointed by the loop. */
  regularizer?: AdaptiveWeight;
}

/**
 * A training method: `prepare` finds, outside any θ-gradient, the points the loss is evaluated at
 * (the adversarial examples); `loss` is the scalar whose θ-gradient is the step. Splitting the two is
 * Danskin's theorem in code: the robust gradient is the ordinary gradient at x + δ*, with δ* a constant.
 */
export interface Objective {
  readonly name: MethodName;
  /** Gradient evaluations per example per step, relative to one standard step's forward+backward. */
  readonly cost: number;
  /** The points `loss` is evaluated at for batch (x, y), none for standard training; new tensors the caller disposes. */
  prepare(forward: Forward, x: tf.Tensor4D, y: tf.Tensor1D, ctx: StepContext): tf.Tensor4D[];
  /** The scalar mean loss at `prepared` whose θ-gradient is the step; called inside `optimizer.minimize`. */
  loss(forward: Forward, x: tf.Tensor4D, y: tf.Tensor1D, prepared: tf.Tensor4D[], ctx: StepContext): tf.Scalar;
}

/** A training method (the `method` option); METHODS describes each. */
export type MethodName = 'standard' | 'pgd' | 'fgsm' | 'fgsm-rs' | 'gradalign' | 'trades' | 'elle' | 'elle-a' | 'cure' | 'llr';
/** Every training method with a one-line description, in the order help lists them. */
export const METHODS: readonly { name: MethodName; description: string }[] = [
  { name: 'standard', description: 'plain cross-entropy on clean inputs' },
  { name: 'pgd', description: 'Madry PGD-K adversarial training (random start, step α; gradient at the adversarial point)' },
  { name: 'fgsm', description: 'FGSM adversarial training from the clean point (step α = ε): prone to catastrophic overfitting' },
  { name: 'fgsm-rs', description: 'FGSM with a uniform random start, step α = 1.25ε (Wong et al. 2020)' },
  { name: 'gradalign', description: 'FGSM training + λ·(1 − cos(∇ₓℓ(x), ∇ₓℓ(x+η))) (Andriushchenko & Flammarion 2020), double backprop' },
  { name: 'trades', description: 'TRADES: CE(f(x), y) + β·KL(f(x) ‖ f(x′)), x′ from PGD on the KL' },
  {
    name: 'elle',
    description: "FGSM training + λ·ELLE's linearity error on random triples in the ball (Abad Rocamora et al. 2024), no double backprop",
  },
  { name: 'elle-a', description: 'ELLE with the adaptive λ: off until the linearity error spikes, then λ_max decaying by 0.99 per step' },
  {
    name: 'cure',
    description: 'FGSM training + λ·‖∇ₓℓ(x_FGSM) − ∇ₓℓ(x)‖² (CURE, Moosavi-Dezfooli et al. 2019), adaptive λ, double backprop',
  },
  { name: 'llr', description: 'LLR: CE(x) + λ·γ + μ·|δᵀ∇ₓℓ(x)|, γ the local linearity error maximised over the ball (Qin et al. 2019)' },
];

/** The method and its options for `makeObjective`; options the method does not use are ignored. */
export interface ObjectiveConfig {
  method: MethodName;
  /** PGD / TRADES inner steps. */
  steps?: number;
  /** Inner step size (default: ε/4 for PGD, ε for FGSM, 1.25ε for FGSM-RS, ε/4 for TRADES). */
  alpha?: number;
  /** Regulariser weight: GradAlign (0.2), ELLE (by ε, 1000–10000), ELLE-A's and CURE's largest (4000; by ε), LLR's γ (4). */
  lambda?: number;
  /** LLR's weight of |δᵀ∇ₓℓ(x)| (3). */
  mu?: number;
  /** Start of the FGSM point of GradAlign and the curvature methods: the clean point (α = ε) or uniform in the ball (α = 1.25ε). */
  fgsmInit?: 'zero' | 'random';
  /** TRADES weight. */
  beta?: number;
}

const meanCe = (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.mean(crossEntropy(logits, y)) as tf.Scalar;

/**
 * Madry's inner maximisation for training: K projected steps from a random start, returning the FINAL
 * iterate. (The evaluation attack instead keeps each example's first successful iterate — right for
 * measuring robustness, but as a training point that is an early-stopped, barely-misclassified example,
 * which trades robustness for clean accuracy.)
 */
function pgdPoints(
  forward: Forward,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  threat: ThreatModel,
  steps: number,
  alpha: number,
  randomStart: boolean,
  rng: Rng,
): tf.Tensor4D {
  const model = asClassifier(forward, x);
  let xt = randomStart ? threat.randomInit(x, rng) : tf.clone(x);
  for (let t = 0; t < steps; t++) {
    const g = inputGradient(model, crossEntropy, xt, y);
    const next = ascentStep({ threat, x }, xt, g, alpha);
    tf.dispose([g, xt]);
    xt = next;
  }
  return xt;
}

/** x + α·sign(∇ₓℓ(x0)) from x0, projected onto the ball and the box: the FGSM(-RS) training point. */
function fgsmPoint(forward: Forward, x: tf.Tensor4D, y: tf.Tensor1D, threat: ThreatModel, alpha: number, start: tf.Tensor4D): tf.Tensor4D {
  const g = inputGradient(asClassifier(forward, x), crossEntropy, start, y);
  const out = tf.tidy(() => threat.project(tf.add(start, tf.mul(tf.sign(g), alpha)) as tf.Tensor4D, x));
  g.dispose();
  return out;
}

/**
 * The GradAlign regulariser 1 − cos(∇ₓℓ(x), ∇ₓℓ(x + η)) averaged over the batch, as a function of θ:
 * the input gradients are taken inside the caller's θ-gradient, so its own gradient is a double backprop.
 */
export function gradAlignPenalty(forward: Forward, x: tf.Tensor4D, y: tf.Tensor1D, eta: tf.Tensor4D): tf.Scalar {
  const inputGrad = (xx: tf.Tensor4D) => tf.grad((z: tf.Tensor) => tf.sum(crossEntropy(forward(z as tf.Tensor4D, true), y)))(xx);
  const g1 = tf.reshape(inputGrad(x), [x.shape[0], -1]);
  const g2 = tf.reshape(inputGrad(tf.clipByValue(tf.add(x, eta), 0, 1) as tf.Tensor4D), [x.shape[0], -1]);
  const dot = tf.sum(tf.mul(g1, g2), 1);
  const norms = tf.mul(tf.sqrt(tf.add(tf.sum(tf.square(g1), 1), 1e-20)), tf.sqrt(tf.add(tf.sum(tf.square(g2), 1), 1e-20)));
  return tf.mean(tf.sub(1, tf.div(dot, norms))) as tf.Scalar;
}

/** KL(p ‖ q) per example from logits, p = softmax(zp) treated as given. */
export function klFromLogits(zp: tf.Tensor2D, zq: tf.Tensor2D): tf.Tensor1D {
  const lp = logSoftmax(zp);
  return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, logSoftmax(zq))), 1) as tf.Tensor1D;
}

/**
 * The Objective of `c.method` under an L∞ ball of radius `eps` in [0, 1] inputs, with the method's defaults for what
 * `c` leaves out (7 steps, 10 for TRADES; λ 0.2; β 6). Throws ConfigError for a bad method, eps, steps, alpha, lambda or beta.
 */
export function makeObjective(c: ObjectiveConfig, eps: number): Objective {
  const threat = threatModel('linf', eps);
  const steps = c.steps ?? (c.method === 'trades' ? 10 : 7);
  if (!Number.isInteger(steps) || steps < 1) throw new ConfigError('steps', 'an integer ≥ 1', String(c.steps));
  if (c.alpha !== undefined && !(c.alpha > 0)) throw new ConfigError('alpha', 'a number > 0', String(c.alpha));
  const fgsmInit = c.fgsmInit ?? 'zero';
  if (fgsmInit !== 'zero' && fgsmInit !== 'random') throw new ConfigError('fgsmInit', 'zero or random', String(c.fgsmInit));
  const curvature = (lambda: number, adaptive?: AdaptiveWeightOptions): CurvatureMethodOptions => ({
    threat,
    fgsmInit,
    alpha: c.alpha ?? (fgsmInit === 'random' ? 1.25 * eps : eps),
    lambda: nonNegative('lambda', lambda),
    mu: nonNegative('mu', c.mu ?? 3),
    steps,
    ...(adaptive ? { adaptive } : {}),
  });
  // ELLE-A's schedule (the authors' defaults): a spike is 2 standard deviations above the mean, then decay 0.99 per step.
  const adaptive = (max: number): AdaptiveWeightOptions => ({ max: nonNegative('lambda', max), sensitivity: 2, decay: 0.99 });
  switch (c.method) {
    case 'elle':
      return elleObjective('elle', curvature(c.lambda ?? elleDefaultLambda(eps)));
    case 'elle-a':
      return elleObjective('elle-a', curvature(0, adaptive(c.lambda ?? ELLE_A_DEFAULT_LAMBDA)));
    case 'cure':
      return cureObjective(curvature(0, adaptive(c.lambda ?? cureDefaultLambda(eps))));
    case 'llr':
      return llrObjective(curvature(c.lambda ?? 4));
    case 'standard':
      return { name: 'standard', cost: 1, prepare: () => [], loss: (f, x, y) => meanCe(f(x, true), y) };
    case 'pgd': {
      const alpha = c.alpha ?? eps / 4;
      return {
        name: 'pgd',
        cost: steps + 1,
        prepare: (f, x, y, ctx) => [pgdPoints(f, x, y, threat, steps, alpha, true, ctx.rng)],
        loss: (f, _x, y, [xAdv]) => meanCe(f(xAdv!, true), y),
      };
    }
    case 'fgsm':
    case 'fgsm-rs': {
      const rs = c.method === 'fgsm-rs';
      const alpha = c.alpha ?? (rs ? 1.25 * eps : eps);
      return {
        name: c.method,
        cost: 2,
        prepare: (f, x, y, ctx) => {
          const start = rs ? threat.randomInit(x, ctx.rng) : tf.clone(x);
          const p = fgsmPoint(f, x, y, threat, alpha, start);
          start.dispose();
          return [p];
        },
        loss: (f, _x, y, [xAdv]) => meanCe(f(xAdv!, true), y),
      };
    }
    case 'gradalign': {
      const lambda = c.lambda ?? 0.2;
      if (!(lambda >= 0)) throw new ConfigError('lambda', 'a number ≥ 0', String(c.lambda));
      const random = fgsmInit === 'random';
      const alpha = c.alpha ?? (random ? 1.25 * eps : eps);
      return {
        name: 'gradalign',
        cost: 4, // FGSM point (1), loss (1), two input gradients differentiated again (≈ 2 more)
        prepare: (f, x, y, ctx) => {
          // The paper's recipe starts from x; FGSM-RS's from a uniform draw in the ball (drawn first, so the
          // zero-start run's stream of random numbers is the one it always was).
          const start = random ? threat.randomInit(x, ctx.rng) : x;
          const point = fgsmPoint(f, x, y, threat, alpha, start);
          if (random) start.dispose();
          return [point, tf.randomUniform(x.shape, -eps, eps, 'float32', ctx.rng.seed()) as tf.Tensor4D];
        },
        loss: (f, x, y, [xAdv, eta]) =>
          tf.tidy(() => tf.add(meanCe(f(xAdv!, true), y), tf.mul(lambda, gradAlignPenalty(f, x, y, eta!))) as tf.Scalar),
      };
    }
    case 'trades': {
      const beta = c.beta ?? 6;
      if (!(beta >= 0)) throw new ConfigError('beta', 'a number ≥ 0', String(c.beta));
      const alpha = c.alpha ?? eps / 4;
      return {
        name: 'trades',
        cost: steps + 2,
        prepare: (f, x, _y, ctx) => {
          // Inner maximisation of KL(f(x) ‖ f(x′)) from x + 0.001·N(0, I), with f(x) held fixed.
          const pClean = tf.tidy(() => f(x, false));
          let xt = tf.tidy(
            () => tf.clipByValue(tf.add(x, tf.mul(0.001, tf.randomNormal(x.shape, 0, 1, 'float32', ctx.rng.seed()))), 0, 1) as tf.Tensor4D,
          );
          for (let t = 0; t < steps; t++) {
            const next = tf.tidy(() => {
              const g = tf.grad((z: tf.Tensor) => tf.sum(klFromLogits(pClean, f(z as tf.Tensor4D, false))))(xt);
              return threat.project(tf.add(xt, tf.mul(tf.sign(g), alpha)) as tf.Tensor4D, x);
            });
            xt.dispose();
            xt = next;
          }
          pClean.dispose();
          return [xt];
        },
        loss: (f, x, y, [xAdv]) =>
          tf.tidy(() => {
            const z = f(x, true);
            return tf.add(meanCe(z, y), tf.mul(beta, tf.mean(klFromLogits(z, f(xAdv!, true))))) as tf.Scalar;
          }),
      };
    }
    default:
      throw new ConfigError('method', METHODS.map((m) => m.name).join(', '), String((c as { method: unknown }).method));
  }
}
