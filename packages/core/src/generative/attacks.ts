/**
 * Attacks on autoencoders, in the two forms of the literature:
 * - budgeted: projected gradient DEscent on an objective's distance inside the threat's ball ∩ box (PGD under ε);
 * - Lagrangian (Tabacof et al. 2016; Gondim-Ribeiro et al. 2018): min_δ C·‖δ‖₂² + distance(x + δ) for each C of a
 *   log-spaced grid, by Adam on δ with x + δ kept in the box, every C at once as one batch.
 * Neither reports what it achieved: `finalizeGenerativeAttack` re-projects the proposal and asks the model again.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdvlabError, ConfigError } from '../errors.ts';
import { BALL_TOLERANCE, checkInputsInBounds } from '../attacks/run.ts';
import { threatModel, type ThreatModel } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import type { Autoencoder } from './model.ts';
import { gaussianKl, rowDistance, type GenerativeObjective, type GenerativeTarget } from './objectives.ts';

/** Settings of `budgetedAttack`: `alpha` defaults to 2.5·ε/steps (Madry's rule). */
export interface BudgetedAttackConfig {
  steps: number;
  alpha?: number;
  randomStart: boolean;
}

/** 100 steps from x itself (no random start). */
export const BUDGETED_DEFAULTS: BudgetedAttackConfig = { steps: 100, randomStart: false };

function tiledLike(t: tf.Tensor, times: number): tf.Tensor {
  return tf.tile(t, [times, ...Array<number>(t.rank - 1).fill(1)]);
}

/**
 * Projected gradient descent on `objective` in B(x, ε) ∩ box. Per example it returns the iterate of lowest distance
 * seen (the start included), so more steps never make it worse. The proposal is the caller's to dispose.
 */
export function budgetedAttack(
  objective: GenerativeObjective,
  x: tf.Tensor4D,
  threat: ThreatModel,
  config: Partial<BudgetedAttackConfig> = {},
  seed = 0,
): tf.Tensor4D {
  const c = { ...BUDGETED_DEFAULTS, ...config };
  if (!Number.isInteger(c.steps) || c.steps < 1) throw new ConfigError('steps', 'an integer ≥ 1', String(c.steps));
  const alpha = c.alpha ?? (2.5 * threat.eps) / c.steps;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new ConfigError('alpha', 'a number > 0', String(alpha));
  if (threat.eps === 0) return tf.clone(x);
  const rng = new Rng(seed);
  let xt = c.randomStart ? threat.randomInit(x, rng) : tf.clone(x);
  let best = tf.clone(xt);
  let bestDistance = tf.fill([x.shape[0]], Number.POSITIVE_INFINITY) as tf.Tensor1D;
  const gradOf = tf.grad((xx: tf.Tensor) => tf.sum(objective.distance(xx as tf.Tensor4D)));
  for (let i = 0; i <= c.steps; i++) {
    const [nextBest, nextDistance] = tf.tidy(() => {
      const d = objective.distance(xt);
      const better = tf.less(d, bestDistance);
      const m = tf.reshape(tf.cast(better, 'float32'), [x.shape[0], 1, 1, 1]);
      return [tf.add(tf.mul(xt, m), tf.mul(best, tf.sub(1, m))), tf.minimum(d, bestDistance)];
    });
    tf.dispose([best, bestDistance]);
    best = nextBest as tf.Tensor4D;
    bestDistance = nextDistance as tf.Tensor1D;
    if (i === c.steps) break;
    const next = tf.tidy(() => threat.project(tf.sub(xt, tf.mul(threat.ascent(gradOf(xt) as tf.Tensor4D), alpha)), x));
    xt.dispose();
    xt = next;
  }
  tf.dispose([xt, bestDistance]);
  return best;
}

/** `target` repeated `times` times along the batch (for a sweep's C grid); the caller disposes the new tensors. */
export function tileTarget(target: GenerativeTarget, times: number): GenerativeTarget {
  return {
    ...target,
    xt: tiledLike(target.xt, times) as tf.Tensor4D,
    ...(target.labels ? { labels: tiledLike(target.labels, times) as tf.Tensor1D } : {}),
  };
}

/** Settings of `lagrangianSweep`: the C grid (default 50 values over 2^−20…2^20), Adam's steps and learning rate. */
export interface SweepConfig {
  cs: readonly number[];
  steps: number;
  lr: number;
}

/** `count` values log-spaced from 2^lo to 2^hi, both included. */
export function logSpacedGrid(count: number, lo = -20, hi = 20): number[] {
  if (!Number.isInteger(count) || count < 1) throw new ConfigError('cs', 'a count ≥ 1', String(count));
  if (count === 1) return [2 ** lo];
  return Array.from({ length: count }, (_, i) => 2 ** (lo + ((hi - lo) * i) / (count - 1)));
}

/** Gondim-Ribeiro et al.'s grid of 50 C over 2^−20…2^20; 200 Adam steps at lr 0.01. */
export const SWEEP_DEFAULTS: SweepConfig = { cs: logSpacedGrid(50), steps: 200, lr: 0.01 };

/**
 * For every C of the grid, min_δ C·‖δ‖₂² + distance(x + δ) over x + δ ∈ box, by Adam from δ = 0. Returns proposals of
 * cs.length · n rows: those for C = cs[k] are k·n … k·n + n − 1 (the same order as x). Each (C, example) keeps
 * the iterate of lowest Lagrangian seen. `objective` must have been prepared for targets tiled cs.length times.
 */
export function lagrangianSweep(
  objective: GenerativeObjective,
  x: tf.Tensor4D,
  bounds: readonly [number, number],
  config: Partial<SweepConfig> = {},
): tf.Tensor4D {
  const c = { ...SWEEP_DEFAULTS, ...config };
  if (!Array.isArray(c.cs) || c.cs.length === 0 || !c.cs.every((v) => v >= 0 && Number.isFinite(v))) {
    throw new ConfigError('cs', 'a non-empty list of finite numbers ≥ 0', JSON.stringify(c.cs));
  }
  if (!Number.isInteger(c.steps) || c.steps < 1) throw new ConfigError('steps', 'an integer ≥ 1', String(c.steps));
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new ConfigError('lr', 'a number > 0', String(c.lr));
  const [lo, hi] = bounds;
  const n = x.shape[0];
  const m = c.cs.length;
  const [x0, weights] = tf.tidy(() => [
    tiledLike(x, m) as tf.Tensor4D,
    tf.tensor1d(
      c.cs.flatMap((v) => Array<number>(n).fill(v)),
      'float32',
    ),
  ]) as [tf.Tensor4D, tf.Tensor1D];
  const lagrangian = (d: tf.Tensor4D) =>
    tf.add(
      tf.mul(weights, tf.sum(tf.reshape(tf.square(d), [m * n, -1]), 1)),
      objective.distance(tf.add(x0, d) as tf.Tensor4D),
    ) as tf.Tensor1D;
  const gradOf = tf.grad((d: tf.Tensor) => tf.sum(lagrangian(d as tf.Tensor4D)));
  const [b1, b2, tiny] = [0.9, 0.999, 1e-8];
  let delta = tf.zerosLike(x0);
  let mom = tf.zerosLike(x0);
  let vel = tf.zerosLike(x0);
  let best = tf.zerosLike(x0);
  let bestValue = tf.fill([m * n], Number.POSITIVE_INFINITY) as tf.Tensor1D;
  try {
    for (let t = 0; t <= c.steps; t++) {
      const kept = tf.tidy(() => {
        const value = lagrangian(delta);
        const better = tf.reshape(tf.cast(tf.less(value, bestValue), 'float32'), [m * n, 1, 1, 1]);
        return [tf.add(tf.mul(delta, better), tf.mul(best, tf.sub(1, better))), tf.minimum(value, bestValue)];
      });
      tf.dispose([best, bestValue]);
      [best, bestValue] = kept as [tf.Tensor4D, tf.Tensor1D];
      if (t === c.steps) break;
      const next = tf.tidy(() => {
        const g = gradOf(delta);
        const m1 = tf.add(tf.mul(b1, mom), tf.mul(1 - b1, g));
        const v1 = tf.add(tf.mul(b2, vel), tf.mul(1 - b2, tf.square(g)));
        const step = tf.div(tf.div(m1, 1 - b1 ** (t + 1)), tf.add(tf.sqrt(tf.div(v1, 1 - b2 ** (t + 1))), tiny));
        // x + δ stays in the box: the projection of δ onto [lo − x, hi − x].
        const d1 = tf.sub(tf.clipByValue(tf.add(x0, tf.sub(delta, tf.mul(c.lr, step))), lo, hi), x0);
        return [d1, m1, v1];
      });
      tf.dispose([delta, mom, vel]);
      [delta, mom, vel] = next as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    }
    return tf.tidy(() => tf.add(x0, best) as tf.Tensor4D);
  } finally {
    tf.dispose([x0, weights, delta, mom, vel, best, bestValue]);
  }
}

/** What an attack on an autoencoder achieved, measured by `finalizeGenerativeAttack` (each array one per example). */
export interface GenerativeAttackResult {
  /** The re-projected adversarial inputs (the caller's to dispose). */
  xAdv: tf.Tensor4D;
  /** ‖x_adv − x‖₂ and ‖x − x_t‖₂. */
  distortion: Float32Array;
  sourceTargetDistance: Float32Array;
  /** ‖rec(x_adv) − x_t‖₂, ‖rec(x) − x_t‖₂, ‖rec(x_t) − x_t‖₂. */
  outputDistance: Float32Array;
  cleanOutputDistance: Float32Array;
  targetOutputDistance: Float32Array;
  /** KL(q(z|x_adv) ‖ q(z|x_t)) for a VAE, ‖μ(x_adv) − μ(x_t)‖₂ for an autoencoder. */
  latentDistance: Float32Array;
  /** The distortion–distance point (Gondim-Ribeiro et al.): x = ‖δ‖/‖x − x_t‖, y as `distortionDistanceY`. */
  curveX: Float32Array;
  curveY: Float32Array;
  /** With a judge: its class for rec(x_adv), and 1 where that is x_t's class. */
  predicted?: Int32Array;
  targetHit?: Uint8Array;
}

/**
 * Below this fraction of ‖rec(x) − x_t‖, the span ‖rec(x) − x_t‖ − ‖rec(x_t) − x_t‖ counts as 0: the model reconstructs
 * x and x_t (nearly) alike, and dividing by the span would turn float noise into huge values of y.
 */
export const MOVABLE_TOLERANCE = 1e-3;

/**
 * y = (‖rec(x+δ) − x_t‖ − ‖rec(x_t) − x_t‖) / (‖rec(x) − x_t‖ − ‖rec(x_t) − x_t‖), clipped below at 0: 1 where the
 * output has not moved toward the target, 0 where it is as close as the target's own reconstruction (closer counts as
 * no more than reaching it). When the span is not positive (rec(x) already as close to x_t as rec(x_t), e.g. a
 * constant model) no input moves the output toward the target, and y is 1.
 */
export function distortionDistanceY(outputDistance: number, cleanOutputDistance: number, targetOutputDistance: number): number {
  const span = cleanOutputDistance - targetOutputDistance;
  if (!(span > MOVABLE_TOLERANCE * cleanOutputDistance) || !(span > 0)) return 1;
  return Math.max(0, (outputDistance - targetOutputDistance) / span);
}

/** `finalizeGenerativeAttack`'s arguments. */
export interface FinalizeGenerativeArgs {
  ae: Autoencoder;
  /** Clean sources [n, ...] and the attack's proposal shaped like them; both stay the caller's. */
  x: tf.Tensor4D;
  proposal: tf.Tensor4D;
  target: GenerativeTarget;
  /** A budget: the proposal is projected onto B(x, ε) ∩ box and checked. Without it only the box applies. */
  threat?: ThreatModel;
  /** The box without a threat (default [0, 1]). */
  bounds?: readonly [number, number];
  attackName?: string;
}

/**
 * The trust boundary of the generative attacks: refuse NaN/Inf, re-project onto ball ∩ box (or the box), check the
 * constraints numerically, then recompute every distance from the model itself (and the judge's verdict).
 */
export function finalizeGenerativeAttack(a: FinalizeGenerativeArgs): GenerativeAttackResult {
  const name = a.attackName ?? 'generative attack';
  const [lo, hi] = a.threat?.bounds ?? a.bounds ?? [0, 1];
  checkInputsInBounds(a.x, a.threat ?? threatModel('l2', 0, { bounds: [lo, hi] }));
  if (!tf.tidy(() => tf.all(tf.isFinite(a.proposal)).dataSync()[0])) {
    throw new AdvlabError('E_NAN', `${name}: proposed adversarial inputs contain NaN or Inf`);
  }
  const xAdv = a.threat ? a.threat.project(a.proposal, a.x) : (tf.tidy(() => tf.clipByValue(a.proposal, lo, hi)) as tf.Tensor4D);
  try {
    const { xt, classifier, labels } = a.target;
    const outs = tf.tidy(() => {
      const recAdv = a.ae.reconstruct(xAdv);
      const qa = a.ae.encode(xAdv);
      const qt = a.ae.encode(xt);
      const latent = qa.logVar ? gaussianKl(qa.mean, qa.logVar, qt.mean, qt.logVar!) : rowDistance(qa.mean, qt.mean);
      const list = [
        rowDistance(xAdv, a.x),
        rowDistance(a.x, xt),
        rowDistance(recAdv, xt),
        rowDistance(a.ae.reconstruct(a.x), xt),
        rowDistance(a.ae.reconstruct(xt), xt),
        latent,
        a.threat ? a.threat.distance(xAdv, a.x) : tf.zeros([a.x.shape[0]]),
        tf.min(xAdv),
        tf.max(xAdv),
      ];
      if (classifier) list.push(tf.argMax(classifier.logits(recAdv), 1));
      return list;
    });
    const v = outs.map((t) => t.dataSync());
    tf.dispose(outs);
    const [distortion, sourceTarget, output, clean, targetOut, latent, budgetDistance, mins, maxs, pred] = v as Float32Array[];
    const worst = budgetDistance!.reduce((mx, d) => Math.max(mx, d), 0);
    if ((a.threat && worst > a.threat.eps * (1 + BALL_TOLERANCE) + BALL_TOLERANCE) || mins![0]! < lo || maxs![0]! > hi) {
      throw new AdvlabError('E_ATTACK', `${name}: projection failed: distance ${worst} > ε ${a.threat?.eps} or outside [${lo}, ${hi}]`);
    }
    const n = distortion!.length;
    const curveX = new Float32Array(n);
    const curveY = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      curveX[i] = sourceTarget![i]! > 0 ? distortion![i]! / sourceTarget![i]! : 0;
      curveY[i] = distortionDistanceY(output![i]!, clean![i]!, targetOut![i]!);
    }
    const result: GenerativeAttackResult = {
      xAdv,
      distortion: Float32Array.from(distortion!),
      sourceTargetDistance: Float32Array.from(sourceTarget!),
      outputDistance: Float32Array.from(output!),
      cleanOutputDistance: Float32Array.from(clean!),
      targetOutputDistance: Float32Array.from(targetOut!),
      latentDistance: Float32Array.from(latent!),
      curveX,
      curveY,
    };
    if (pred) {
      const predicted = Int32Array.from(pred);
      const want = labels ? labels.dataSync() : undefined;
      result.predicted = predicted;
      if (want) result.targetHit = Uint8Array.from(predicted, (p, i) => Number(p === want[i]));
    }
    return result;
  } catch (e) {
    xAdv.dispose();
    throw e;
  }
}
