import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import { LOSSES, requireClasses } from '../losses/losses.ts';
import type { AttackLoss } from '../losses/losses.ts';
import { batchRows, perExample, whereRows } from '../threat/norms.ts';
import { lossAndGradient, isSuccess, type LossAndGradient } from './gradient.ts';
import type { AttackArgs, AttackDefinition } from './types.ts';

/**
 * Config of the APGD attacks (Croce & Hein 2020). The step size is not configured: it starts at 2ε and halves
 * per example. `steps` and `restarts` must be integers ≥ 1 (ConfigError otherwise).
 */
export interface ApgdConfig {
  steps: number;
  restarts: number;
  loss: 'ce' | 'dlr';
  /** Step-halving threshold ρ: halve when fewer than ρ of the steps since the last checkpoint improved. */
  rho: number;
  momentum: number;
  /** APGD-T: how many of the highest-ranked wrong classes to try as targets. */
  targetClasses: number;
  /**
   * Expectation over transformation: each step's gradient is the mean over this many forward-backward
   * passes, for models whose outputs are random (AutoAttack's `eot_iter`; 20 in its version for randomized
   * defences). 1 for a deterministic model.
   */
  eot: number;
}

/**
 * The checkpoints w_j at which APGD may halve its step: the first after 22% of the budget, then gaps
 * shrinking by 3% of the budget down to 6% (Croce & Hein 2020, §3.1).
 */
export function apgdCheckpoints(steps: number): number[] {
  const first = Math.max(Math.floor(0.22 * steps), 1);
  const shrink = Math.max(Math.floor(0.03 * steps), 1);
  const minGap = Math.max(Math.floor(0.06 * steps), 1);
  const out: number[] = [];
  let gap = first;
  let at = first;
  while (at <= steps) {
    out.push(at);
    gap = Math.max(gap - shrink, minGap);
    at += gap;
  }
  return out;
}

function validate(c: ApgdConfig): void {
  if (!Number.isInteger(c.steps) || c.steps < 1) throw new ConfigError('steps', 'an integer ≥ 1', String(c.steps));
  if (!Number.isInteger(c.restarts) || c.restarts < 1) throw new ConfigError('restarts', 'an integer ≥ 1', String(c.restarts));
  if (!Number.isInteger(c.eot) || c.eot < 1) throw new ConfigError('eot', 'an integer ≥ 1', String(c.eot));
}

/**
 * lossAndGradient averaged over `samples` passes (EOT): the mean gradient and mean loss; the logits (used to
 * judge success) are the last pass's, as AutoAttack does.
 */
function eotLossAndGradient(
  model: AttackArgs<ApgdConfig>['model'],
  loss: AttackLoss,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  targets: tf.Tensor1D | undefined,
  samples: number,
): LossAndGradient {
  if (samples === 1) return lossAndGradient(model, loss, x, labels, targets);
  let acc = lossAndGradient(model, loss, x, labels, targets);
  for (let s = 1; s < samples; s++) {
    const next = lossAndGradient(model, loss, x, labels, targets);
    const sum = { grad: tf.add(acc.grad, next.grad) as tf.Tensor4D, loss: tf.add(acc.loss, next.loss) as tf.Tensor1D, logits: next.logits };
    tf.dispose([acc.grad, acc.loss, acc.logits, next.grad, next.loss]);
    acc = sum;
  }
  const mean = { grad: tf.div(acc.grad, samples) as tf.Tensor4D, loss: tf.div(acc.loss, samples) as tf.Tensor1D, logits: acc.logits };
  tf.dispose([acc.grad, acc.loss]);
  return mean;
}

/**
 * One APGD run from a random start. Per-example step sizes η start at 2ε; at each checkpoint, an
 * example whose loss rose in fewer than ρ of the recent steps, or whose best loss did not improve
 * since a checkpoint that kept its step, halves η and restarts from its best point.
 * Returns {best (per example: first successful point, else highest-loss point), found}.
 */
function apgdRun(args: AttackArgs<ApgdConfig>, loss: AttackLoss, targets: tf.Tensor1D | undefined) {
  const { model, x, labels, threat, config: c, rng } = args;
  const n = x.shape[0];
  const eps = threat.eps;
  const checkpoints = new Set(apgdCheckpoints(c.steps));

  let xt = threat.randomInit(x, rng);
  let g = eotLossAndGradient(model, loss, xt, labels, targets, c.eot);
  let xPrev = tf.clone(xt);
  let step = tf.fill([n], 2 * eps) as tf.Tensor1D;
  let xBestLoss = tf.clone(xt); // highest-loss point (restart point after halving)
  let gradBest = tf.clone(g.grad);
  let lossBest = tf.clone(g.loss);
  let xAdv = tf.clone(xt); // first successful point, else the highest-loss one
  let found = isSuccess(g.logits, labels, targets);
  let lossPrev = tf.clone(g.loss);
  let improvedCount = tf.zeros([n]) as tf.Tensor1D;
  let lossBestAtCheck = tf.clone(lossBest);
  let reducedAtCheck = tf.ones([n], 'bool') as tf.Tensor1D;
  let lastCheck = 0;
  const swap = <T extends tf.Tensor>(old: T, next: T): T => {
    old.dispose();
    return next;
  };

  for (let i = 0; i < c.steps; i++) {
    // Momentum step: z = Π(x + η s(g)); x' = Π(x + a(z − x) + (1 − a)(x − x_prev)), a = 1 on the first step.
    const a = i === 0 ? 1 : c.momentum;
    const next = tf.tidy(() => {
      const stepB = perExample(step, xt);
      const z = threat.project(tf.add(xt, tf.mul(stepB, threat.ascent(g.grad))), x);
      return threat.project(tf.add(tf.add(xt, tf.mul(a, tf.sub(z, xt))), tf.mul(1 - a, tf.sub(xt, xPrev))), x);
    });
    xPrev = swap(xPrev, xt);
    xt = next;
    g.grad.dispose();
    g.logits.dispose();
    g.loss.dispose();
    g = eotLossAndGradient(model, loss, xt, labels, targets, c.eot);

    const success = isSuccess(g.logits, labels, targets);
    xAdv = swap(
      xAdv,
      tf.tidy(() => whereRows(tf.logicalAnd(success, tf.logicalNot(found)) as tf.Tensor1D, xt, xAdv)),
    );
    found = swap(found, tf.logicalOr(found, success));
    success.dispose();
    improvedCount = swap(
      improvedCount,
      tf.tidy(() => tf.add(improvedCount, tf.cast(tf.greater(g.loss, lossPrev), 'float32'))),
    );
    lossPrev = swap(lossPrev, tf.clone(g.loss));
    const better = tf.greater(g.loss, lossBest);
    xBestLoss = swap(xBestLoss, whereRows(better as tf.Tensor1D, xt, xBestLoss));
    gradBest = swap(gradBest, whereRows(better as tf.Tensor1D, g.grad, gradBest));
    lossBest = swap(lossBest, tf.where(better, g.loss, lossBest));
    // Unsuccessful examples carry their highest-loss point so far.
    xAdv = swap(
      xAdv,
      tf.tidy(() => whereRows(tf.logicalAnd(better, tf.logicalNot(found)) as tf.Tensor1D, xt, xAdv)),
    );
    better.dispose();

    if (checkpoints.has(i + 1)) {
      const k = i + 1 - lastCheck;
      lastCheck = i + 1;
      const halve = tf.tidy(() => {
        const oscillating = tf.lessEqual(improvedCount, k * c.rho);
        const stalled = tf.logicalAnd(tf.logicalNot(reducedAtCheck), tf.greaterEqual(lossBestAtCheck, lossBest));
        return tf.logicalOr(oscillating, stalled) as tf.Tensor1D;
      });
      reducedAtCheck = swap(reducedAtCheck, tf.clone(halve));
      lossBestAtCheck = swap(lossBestAtCheck, tf.clone(lossBest));
      step = swap(
        step,
        tf.tidy(() => tf.where(halve, tf.mul(step, 0.5), step) as tf.Tensor1D),
      );
      xt = swap(xt, whereRows(halve, xBestLoss, xt));
      const gradNext = whereRows(halve, gradBest, g.grad);
      g.grad.dispose();
      g.grad = gradNext;
      halve.dispose();
      improvedCount = swap(improvedCount, tf.zeros([n]));
    }
  }
  for (const t of [
    g.grad,
    g.logits,
    g.loss,
    xt,
    xPrev,
    step,
    xBestLoss,
    gradBest,
    lossBest,
    lossPrev,
    improvedCount,
    lossBestAtCheck,
    reducedAtCheck,
  ])
    t.dispose();
  return { best: xAdv, found };
}

/**
 * Merges restarts: an example keeps its first successful point. As AutoAttack, a restart runs only on the examples
 * no earlier run fooled (one host read of `found` per restart picks them; none inside the iterations).
 */
function apgdWithRestarts(args: AttackArgs<ApgdConfig>, loss: AttackLoss, targets?: tf.Tensor1D) {
  validate(args.config);
  const first = apgdRun(args, loss, targets);
  let { best, found } = first;
  for (let r = 1; r < args.config.restarts; r++) {
    const done = found.dataSync();
    const alive = [...done.keys()].filter((i) => !done[i]);
    if (alive.length === 0) break;
    const n = args.x.shape[0];
    const idx = tf.tensor1d(alive, 'int32');
    const pick = <T extends tf.Tensor>(t: T) => tf.gather(t, idx) as T;
    const sub = tf.tidy(() => ({ x: pick(args.x), labels: pick(args.labels), targets: targets && pick(targets) }));
    const run = apgdRun({ ...args, x: sub.x, labels: sub.labels }, loss, sub.targets);
    const merged = tf.tidy(() => {
      const place = batchRows(alive, n);
      // Rows still unfound take this run's point (its success, or its highest-loss point, as a single run reports).
      return {
        best: place.write(run.best, best),
        found: tf.logicalOr(found, tf.cast(place.spread(tf.cast(run.found, 'int32')), 'bool')) as tf.Tensor1D,
      };
    });
    tf.dispose([idx, sub.x, sub.labels, sub.targets, run.best, run.found, best, found]);
    ({ best, found } = merged);
  }
  return { best, found };
}

/** APGD on the cross-entropy, untargeted; defaults: 100 steps, one restart, ρ = 0.75, momentum 0.75. */
export const apgdCe: AttackDefinition<ApgdConfig> = {
  name: 'apgd-ce',
  description: 'APGD-CE (Croce & Hein 2020): step-size-free PGD with momentum on the cross-entropy',
  targeted: false,
  cost: (c) => c.steps * c.restarts * c.eot,
  defaults: () => ({ steps: 100, restarts: 1, loss: 'ce', rho: 0.75, momentum: 0.75, targetClasses: 9, eot: 1 }),
  propose: (args) => {
    const loss = LOSSES[args.config.loss];
    const { best, found } = apgdWithRestarts(args, loss);
    found.dispose();
    return best;
  },
};

/** APGD on the DLR loss, untargeted, with apgdCe's defaults; needs a model of at least 3 classes (AttackError otherwise). */
export const apgdDlr: AttackDefinition<ApgdConfig> = {
  ...apgdCe,
  name: 'apgd-dlr',
  description: 'APGD on the DLR loss (shift- and scale-invariant margin), untargeted',
  defaults: () => ({ ...apgdCe.defaults(undefined as never), loss: 'dlr' }),
};

/**
 * APGD-T: for each of the top `targetClasses` wrong classes at the clean point (by logit rank), a
 * targeted-DLR APGD run on the examples not fooled yet.
 */
export const apgdT: AttackDefinition<ApgdConfig> = {
  name: 'apgd-t',
  description: 'APGD-T: targeted DLR APGD against each of the top-ranked wrong classes, on survivors only',
  targeted: false, // it picks its own targets; success is counted as untargeted misclassification
  cost: (c) => c.steps * c.restarts * c.targetClasses * c.eot,
  defaults: () => ({ steps: 100, restarts: 1, loss: 'dlr', rho: 0.75, momentum: 0.75, targetClasses: 9, eot: 1 }),
  propose: (args) => {
    const { model, x, labels } = args;
    const k = model.numClasses;
    requireClasses('targeted DLR', k, 4);
    const nTargets = Math.min(args.config.targetClasses, k - 1);
    if (!Number.isInteger(nTargets) || nTargets < 1)
      throw new ConfigError('targetClasses', `an integer in [1, ${k - 1}]`, String(args.config.targetClasses));
    const ranked = tf.tidy(() => tf.topk(model.logits(x), k, true).indices); // [n, k], descending
    let result = tf.clone(x);
    const fooled = new Uint8Array(x.shape[0]);
    for (let r = 2; r <= nTargets + 1; r++) {
      const alive = [...fooled.keys()].filter((i) => !fooled[i]);
      if (alive.length === 0) break;
      const idx = tf.tensor1d(alive, 'int32');
      const sub = tf.tidy(() => ({
        x: tf.gather(x, idx) as tf.Tensor4D,
        labels: tf.gather(labels, idx) as tf.Tensor1D,
        // The r-th ranked class; if the true class ranks above it, this is still a wrong class.
        targets: tf.reshape(tf.gather(tf.gather(ranked, idx), tf.scalar(r - 1, 'int32'), 1), [-1]) as tf.Tensor1D,
      }));
      const run = apgdWithRestarts({ ...args, x: sub.x, labels: sub.labels }, LOSSES['dlr-targeted'], sub.targets);
      const runFooled = tf.tidy(() => isSuccess(model.logits(run.best), sub.labels).dataSync());
      const hit = alive.filter((_, j) => runFooled[j]);
      if (hit.length) {
        const hitPos = alive.map((_, j) => j).filter((j) => runFooled[j]);
        const updated = tf.tidy(() =>
          batchRows(hit, x.shape[0]).write(tf.gather(run.best, tf.tensor1d(hitPos, 'int32')) as tf.Tensor4D, result),
        );
        result.dispose();
        result = updated;
        for (const i of hit) fooled[i] = 1;
      }
      tf.dispose([idx, sub.x, sub.labels, sub.targets, run.best, run.found]);
    }
    ranked.dispose();
    return result;
  },
};
