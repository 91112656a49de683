import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import { LOSSES, type LossName } from '../losses/losses.ts';
import { lossAndGradient, isSuccess } from './gradient.ts';
import { whereRows } from '../threat/norms.ts';
import type { AttackArgs, AttackDefinition } from './types.ts';

/** Config of the PGD family (pgd, pgd-targeted, fgsm, bim, mi-fgsm); checked by `validatePgdConfig` before each run. */
export interface PgdConfig {
  steps: number;
  /** Step size in the norm's units (L∞: per-coordinate step; L2: Euclidean length of the step). */
  alpha: number;
  randomStart: boolean;
  restarts: number;
  loss: LossName;
  /** Momentum μ on the L1-normalised gradient (MI-FGSM); 0 = plain PGD. */
  momentum: number;
  /**
   * Count only each restart's final iterate as a candidate (what torchattacks' and foolbox's PGD return
   * and what fast-adversarial-training papers report). Default false: the start and every iterate count,
   * so an example is broken if any point on the path fools the model — never weaker.
   */
  finalIterate?: boolean;
}

/**
 * Throws ConfigError naming the first bad field: `steps` and `restarts` must be integers ≥ 1, `alpha` finite and > 0,
 * `loss` a key of LOSSES and `finalIterate`, if set, a boolean.
 */
export function validatePgdConfig(c: PgdConfig): void {
  if (!Number.isInteger(c.steps) || c.steps < 1) throw new ConfigError('steps', 'an integer ≥ 1', String(c.steps));
  if (!(c.alpha > 0) || !Number.isFinite(c.alpha)) throw new ConfigError('alpha', 'a number > 0', String(c.alpha));
  if (!Number.isInteger(c.restarts) || c.restarts < 1) throw new ConfigError('restarts', 'an integer ≥ 1', String(c.restarts));
  if (!(c.loss in LOSSES)) throw new ConfigError('loss', Object.keys(LOSSES).join(', '), c.loss);
  if (c.finalIterate !== undefined && typeof c.finalIterate !== 'boolean')
    throw new ConfigError('finalIterate', 'true or false', String(c.finalIterate));
}

/** One projected ascent step: x_{t+1} = Π_B(x_t + α · s(g)). */
export function ascentStep(
  args: { threat: AttackArgs<unknown>['threat']; x: tf.Tensor4D },
  xt: tf.Tensor4D,
  direction: tf.Tensor4D,
  alpha: number,
): tf.Tensor4D {
  return tf.tidy(() => args.threat.project(tf.add(xt, tf.mul(args.threat.ascent(direction), alpha)), args.x));
}

/**
 * Projected gradient ascent with restarts (Madry et al. 2018). Per example it returns the first
 * successful candidate found over all steps and restarts, or else the candidate of highest loss: restarts
 * can therefore only lower robust accuracy. Candidates are every iterate, or with `finalIterate` only
 * each restart's last one.
 */
export function projectedGradientAscent(args: AttackArgs<PgdConfig>): tf.Tensor4D {
  const { model, x, labels, threat, config: c, rng, targets } = args;
  validatePgdConfig(c);
  const loss = targets && c.loss === 'ce' ? LOSSES['ce-targeted'] : targets && c.loss === 'dlr' ? LOSSES['dlr-targeted'] : LOSSES[c.loss];
  const n = x.shape[0];
  let best = tf.clone(x);
  let bestLoss = tf.fill([n], -Infinity) as tf.Tensor1D;
  let found = tf.zeros([n], 'bool') as tf.Tensor1D;

  // Folds the evaluation of iterate xt into the per-example best; returns nothing, swaps state.
  const record = (xt: tf.Tensor4D, logits: tf.Tensor2D, l: tf.Tensor1D) => {
    const [b, bl, f] = tf.tidy(() => {
      const success = isSuccess(logits, labels, targets);
      const newlyFound = tf.logicalAnd(success, tf.logicalNot(found));
      const higher = tf.logicalAnd(tf.logicalNot(found), tf.greater(l, bestLoss));
      const take = tf.logicalOr(newlyFound, higher);
      return [
        whereRows(take as tf.Tensor1D, xt, best),
        tf.where(take, l, bestLoss) as tf.Tensor1D,
        tf.logicalOr(found, success) as tf.Tensor1D,
      ];
    });
    best.dispose();
    bestLoss.dispose();
    found.dispose();
    [best, bestLoss, found] = [b, bl, f];
  };

  for (let r = 0; r < c.restarts; r++) {
    let xt = c.randomStart ? threat.randomInit(x, rng) : tf.clone(x);
    let velocity: tf.Tensor4D | undefined = c.momentum > 0 ? tf.zerosLike(x) : undefined;
    for (let t = 0; t < c.steps; t++) {
      const g = lossAndGradient(model, loss, xt, labels, targets);
      if (!c.finalIterate) record(xt, g.logits, g.loss);
      let direction = g.grad;
      if (velocity) {
        // MI-FGSM: accumulate the L1-normalised gradient.
        const v = tf.tidy(() => {
          const l1 = tf.maximum(tf.sum(tf.abs(g.grad), [1, 2, 3], true), 1e-12);
          return tf.add(tf.mul(velocity!, c.momentum), tf.div(g.grad, l1)) as tf.Tensor4D;
        });
        velocity.dispose();
        velocity = v;
        direction = v;
      }
      const next = ascentStep(args, xt, direction, c.alpha);
      g.grad.dispose();
      g.logits.dispose();
      g.loss.dispose();
      xt.dispose();
      xt = next;
    }
    const finalLogits = model.logits(xt);
    const finalLoss = loss(finalLogits, labels, targets);
    record(xt, finalLogits, finalLoss);
    finalLogits.dispose();
    finalLoss.dispose();
    xt.dispose();
    velocity?.dispose();
  }
  bestLoss.dispose();
  found.dispose();
  return best;
}

const pgdCost = (c: PgdConfig) => c.steps * c.restarts;

/** Untargeted PGD with a random start; defaults: 20 steps of α = ε/4, one restart, cross-entropy. */
export const pgd: AttackDefinition<PgdConfig> = {
  name: 'pgd',
  description: "PGD (Madry et al. 2018): random start, K projected steepest-ascent steps, restarts keep each example's worst point",
  targeted: false,
  cost: pgdCost,
  defaults: (t) => ({ steps: 20, alpha: t.eps / 4, randomStart: true, restarts: 1, loss: 'ce', momentum: 0 }),
  propose: projectedGradientAscent,
};

/**
 * PGD towards given classes, with pgd's defaults: `runAttack` requires `targets`, and the 'ce' / 'dlr' losses
 * switch to their targeted variants.
 */
export const pgdTargeted: AttackDefinition<PgdConfig> = {
  ...pgd,
  name: 'pgd-targeted',
  description: 'targeted PGD: minimises the cross-entropy of a chosen target class',
  targeted: true,
};

/** FGSM / FGM: a single step of size ε from the clean point, no random start. */
export const fgsm: AttackDefinition<PgdConfig> = {
  name: 'fgsm',
  description: 'FGSM / FGM (Goodfellow et al. 2014): one step of size ε along the sign (L∞) or normalised (L2) gradient',
  targeted: false,
  cost: pgdCost,
  defaults: (t) => ({ steps: 1, alpha: t.eps, randomStart: false, restarts: 1, loss: 'ce', momentum: 0 }),
  propose: projectedGradientAscent,
};

/** BIM / I-FGSM: PGD from the clean point without a random start; defaults: 10 steps of α = ε/4. */
export const bim: AttackDefinition<PgdConfig> = {
  name: 'bim',
  description: 'BIM / I-FGSM (Kurakin et al. 2016): PGD from the clean point, no random start',
  targeted: false,
  cost: pgdCost,
  defaults: (t) => ({ steps: 10, alpha: t.eps / 4, randomStart: false, restarts: 1, loss: 'ce', momentum: 0 }),
  propose: projectedGradientAscent,
};

/** MI-FGSM: BIM with momentum μ = 1 on the L1-normalised gradient; defaults: 10 steps of α = ε/10. */
export const miFgsm: AttackDefinition<PgdConfig> = {
  name: 'mi-fgsm',
  description: 'MI-FGSM (Dong et al. 2018): iterative FGSM with momentum μ = 1 on the L1-normalised gradient',
  targeted: false,
  cost: pgdCost,
  defaults: (t) => ({ steps: 10, alpha: t.eps / 10, randomStart: false, restarts: 1, loss: 'ce', momentum: 1 }),
  propose: projectedGradientAscent,
};
