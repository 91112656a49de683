import * as tf from '@tensorflow/tfjs-core';
import { AttackError, ConfigError } from '../errors.ts';
import type { AttackLoss } from '../losses/losses.ts';
import { projectHyperplaneBox } from '../threat/hyperplane.ts';
import { batchRows, GEOMETRY, whereRows } from '../threat/norms.ts';
import type { ThreatModel } from '../threat/threat.ts';
import type { Rng } from '../util/rng.ts';
import { lossAndGradient } from './gradient.ts';
import type { AttackArgs, AttackDefinition } from './types.ts';

/**
 * Config of FAB-T (Croce & Hein, ICML 2020). `steps`, `restarts` and `targetClasses` are integers ≥ 1; `alphaMax`
 * in [0, 1]; `eta` > 0; `beta` in (0, 1] (ConfigError otherwise).
 */
export interface FabConfig {
  /** Iterations per target class and restart (AutoAttack's n_iter). */
  steps: number;
  /** Runs per target class; the first starts at x, later ones at a random point at distance ε/2 (AutoAttack's rule). */
  restarts: number;
  /** How many of the highest-ranked other classes (2nd, 3rd, … logit at x) to attack; capped at K − 1. */
  targetClasses: number;
  /** Upper bound on the weight α of the projection of x in the biased step. */
  alphaMax: number;
  /** Extrapolation (overshoot) factor η applied to both projections. */
  eta: number;
  /** Backward step: once an iterate is adversarial it moves to x + β(x_adv − x). */
  beta: number;
}

function validate(c: FabConfig): void {
  for (const key of ['steps', 'restarts', 'targetClasses'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new ConfigError(key, 'an integer ≥ 1', String(c[key]));
  }
  if (!(c.alphaMax >= 0 && c.alphaMax <= 1)) throw new ConfigError('alphaMax', 'a number in [0, 1]', String(c.alphaMax));
  if (!(c.eta > 0) || !Number.isFinite(c.eta)) throw new ConfigError('eta', 'a finite number > 0', String(c.eta));
  if (!(c.beta > 0 && c.beta <= 1)) throw new ConfigError('beta', 'a number in (0, 1]', String(c.beta));
}

/** f_t − f_y per example: FAB linearises this logit gap (its zero set is the decision boundary between y and t). */
const logitGap: AttackLoss = (logits, labels, targets) =>
  tf.tidy(() => {
    const k = logits.shape[1];
    const toward = tf.sub(tf.oneHot(tf.cast(targets!, 'int32'), k), tf.oneHot(tf.cast(labels, 'int32'), k));
    return tf.sum(tf.mul(logits, tf.cast(toward, 'float32')), 1) as tf.Tensor1D;
  });

/**
 * AutoAttack's restart point: x plus a random direction scaled to norm ε/2 (L∞: uniform in [−1, 1]^d over its max;
 * L2: Gaussian over its L2 norm; L1: Gaussian over its L1 norm), clipped to the box.
 */
function randomStart(x: tf.Tensor4D, threat: ThreatModel, rng: Rng): tf.Tensor4D {
  return tf.tidy(() => {
    const g = GEOMETRY[threat.norm];
    const raw =
      threat.norm === 'linf'
        ? tf.randomUniform(x.shape, -1, 1, 'float32', rng.seed())
        : tf.randomNormal(x.shape, 0, 1, 'float32', rng.seed());
    const norm = tf.reshape(tf.maximum(g.measure(raw), 1e-12), [-1, 1, 1, 1]);
    const step = tf.mul(tf.div(raw, norm), 0.5 * threat.eps);
    return tf.clipByValue(tf.add(x, step), threat.bounds[0], threat.bounds[1]) as tf.Tensor4D;
  });
}

interface FabRun {
  /** Per example the smallest-norm adversarial iterate (x where none). */
  best: tf.Tensor4D;
  /** Its distance to x, +∞ where no iterate was adversarial. */
  bestNorm: tf.Tensor1D;
  /** The last iterate. */
  last: tf.Tensor4D;
}

/**
 * One targeted FAB run (fab_base.py, attack_single_run with is_targeted): at the current point linearise
 * g = f_t − f_y, project the current point and x onto {g's linearisation = 0} ∩ box, step to the α-biased convex
 * combination of the two projections extrapolated by η, and pull adversarial iterates back towards x by β. No host
 * reads: every example's bookkeeping stays on the backend.
 */
function fabRun(
  model: AttackArgs<FabConfig>['model'],
  x0: tf.Tensor4D,
  labels: tf.Tensor1D,
  targets: tf.Tensor1D,
  threat: ThreatModel,
  c: FabConfig,
  start: tf.Tensor4D,
): FabRun {
  const [m, ...rest] = x0.shape;
  const d = rest.reduce((a, b) => a * b, 1);
  const g = GEOMETRY[threat.norm];
  const [lo, hi] = threat.bounds;
  const x0f = tf.reshape(x0, [m, d]) as tf.Tensor2D;
  const yInt = tf.cast(labels, 'int32');
  let xt = start;
  let best = tf.clone(x0);
  let bestNorm = tf.fill([m], Number.POSITIVE_INFINITY) as tf.Tensor1D;
  for (let i = 0; i < c.steps; i++) {
    const grad = lossAndGradient(model, logitGap, xt, labels, targets);
    const next = tf.tidy(() => {
      const xf = tf.reshape(xt, [m, d]) as tf.Tensor2D;
      const w = tf.reshape(grad.grad, [m, d]) as tf.Tensor2D;
      // Hyperplane ⟨w, z⟩ = ⟨w, xt⟩ − gap: residual `gap` at xt, gap + ⟨w, x − xt⟩ at x.
      const atOrig = tf.add(grad.loss, tf.sum(tf.mul(w, tf.sub(x0f, xf)), 1)) as tf.Tensor1D;
      const delta = projectHyperplaneBox(
        threat.norm,
        tf.concat([xf, x0f]),
        tf.concat([w, w]),
        tf.concat([grad.loss, atOrig]),
        threat.bounds,
      );
      const size = tf.maximum(g.measure(delta), 1e-8);
      const a1 = tf.slice(size, [0], [m]);
      const a2 = tf.slice(size, [m], [m]);
      const alpha = tf.reshape(tf.minimum(tf.div(a1, tf.add(a1, a2)), c.alphaMax), [m, 1]);
      const fromCurrent = tf.add(xf, tf.mul(c.eta, tf.slice(delta, [0, 0], [m, d])));
      const fromOrig = tf.add(x0f, tf.mul(c.eta, tf.slice(delta, [m, 0], [m, d])));
      const mixed = tf.add(tf.mul(fromCurrent, tf.sub(1, alpha)), tf.mul(fromOrig, alpha));
      return tf.reshape(tf.clipByValue(mixed, lo, hi), x0.shape) as tf.Tensor4D;
    });
    tf.dispose([grad.grad, grad.logits, grad.loss, xt]);
    const [xNext, bestNext, normNext] = tf.tidy(() => {
      const adv = tf.notEqual(tf.argMax(model.logits(next), 1), yInt) as tf.Tensor1D;
      const dist = g.measure(tf.sub(next, x0));
      const better = tf.logicalAnd(adv, tf.less(dist, bestNorm)) as tf.Tensor1D;
      const back = tf.add(x0, tf.mul(c.beta, tf.sub(next, x0))) as tf.Tensor4D;
      return [whereRows(adv, back, next), whereRows(better, next, best), tf.where(better, dist, bestNorm) as tf.Tensor1D];
    });
    tf.dispose([next, best, bestNorm]);
    [xt, best, bestNorm] = [xNext, bestNext, normNext];
  }
  tf.dispose([x0f, yInt]);
  return { best, bestNorm, last: xt };
}

/**
 * FAB-T: for each of the top `targetClasses` other classes at the clean point (the 2nd … (k+1)-th highest logit,
 * as AutoAttack ranks them) and each restart, a targeted FAB run on the examples that have no adversarial point
 * within ε yet. FAB minimises the distance: per example it proposes the smallest-norm adversarial point found over
 * all runs (which may lie outside the ε-ball; `runAttack` projects it onto ball ∩ box and asks the model), or the
 * last iterate where none was found; examples misclassified at x are proposed as x.
 *
 * Host reads: one before the first run (which examples are misclassified at x) and one after each run (which
 * examples are done); none inside the iterations.
 */
function proposeFabT(args: AttackArgs<FabConfig>): tf.Tensor4D {
  const { model, x, labels, threat, config: c, rng } = args;
  validate(c);
  const k = model.numClasses;
  if (!(k >= 2)) {
    throw new AttackError(`fab-t attacks towards other classes, so it needs a model of at least 2 classes; ${model.name} has ${k}`);
  }
  const nTargets = Math.min(c.targetClasses, k - 1);
  const n = x.shape[0];
  const eps = threat.eps;
  const [ranked, misclassified] = tf.tidy(() => {
    const logits = model.logits(x);
    return [tf.topk(logits, nTargets + 1, true).indices, tf.notEqual(tf.argMax(logits, 1), tf.cast(labels, 'int32'))];
  });
  let best = tf.clone(x);
  let bestNorm = tf.tidy(() => tf.where(misclassified, tf.zeros([n]), tf.fill([n], Number.POSITIVE_INFINITY))) as tf.Tensor1D;
  let last = tf.clone(x);
  const done = Uint8Array.from(misclassified.dataSync());
  misclassified.dispose();
  try {
    for (let rank = 2; rank <= nTargets + 1; rank++) {
      for (let restart = 0; restart < c.restarts; restart++) {
        const alive = [...done.keys()].filter((i) => !done[i]);
        if (alive.length === 0) return finish();
        const idx = tf.tensor1d(alive, 'int32');
        const sub = tf.tidy(() => ({
          x: tf.gather(x, idx) as tf.Tensor4D,
          labels: tf.gather(labels, idx) as tf.Tensor1D,
          targets: tf.reshape(tf.slice(tf.gather(ranked, idx), [0, rank - 1], [-1, 1]), [-1]) as tf.Tensor1D,
        }));
        const start = restart === 0 ? tf.clone(sub.x) : randomStart(sub.x, threat, rng);
        const run = fabRun(model, sub.x, sub.labels, sub.targets, threat, c, start);
        const merged = tf.tidy(() => {
          const place = batchRows(alive, n);
          const runNorm = tf.where(place.mask, place.spread(run.bestNorm), tf.fill([n], Number.POSITIVE_INFINITY));
          const better = tf.less(runNorm, bestNorm) as tf.Tensor1D;
          const norm = tf.minimum(runNorm, bestNorm) as tf.Tensor1D;
          return {
            best: whereRows(better, place.spread(run.best), best),
            bestNorm: norm,
            last: place.write(run.last, last),
            done: tf.lessEqual(norm, eps),
          };
        });
        tf.dispose([idx, sub.x, sub.labels, sub.targets, run.best, run.bestNorm, run.last, best, bestNorm, last]);
        ({ best, bestNorm, last } = merged);
        done.set(merged.done.dataSync());
        merged.done.dispose();
      }
    }
    return finish();
  } finally {
    tf.dispose([ranked, best, bestNorm, last]);
  }

  function finish(): tf.Tensor4D {
    return tf.tidy(() => whereRows(tf.isFinite(bestNorm) as tf.Tensor1D, best, last));
  }
}

/**
 * FAB-T (Croce & Hein 2020, the targeted Fast Adaptive Boundary attack as AutoAttack's standard version runs it), for
 * L∞, L2 and L1: 100 steps, 1 restart, 9 target classes, α_max = 0.1, η = 1.05, β = 0.9. A minimum-norm attack that
 * picks its own targets, so `targeted` is false: success is counted as misclassification.
 *
 * cost: steps × restarts × targetClasses input gradients (of f_t − f_y) per example — an upper bound, as targets are
 * capped at K − 1 and examples with an adversarial point within ε drop out; each step also runs one extra forward
 * pass (the adversarial check at the new iterate), plus one forward pass on x to rank the targets.
 */
export const fabT: AttackDefinition<FabConfig> = {
  name: 'fab-t',
  description: 'FAB-T (Croce & Hein 2020): minimum-norm boundary attack against each of the top-ranked wrong classes, on survivors only',
  targeted: false, // it picks its own targets; success is counted as untargeted misclassification
  cost: (c) => c.steps * c.restarts * c.targetClasses,
  defaults: () => ({ steps: 100, restarts: 1, targetClasses: 9, alphaMax: 0.1, eta: 1.05, beta: 0.9 }),
  propose: proposeFabT,
};
