/**
 * The robustness evaluation of an autoencoder over fixed (source, target) pairs: for each attack the distortion–
 * distance curve of a Lagrangian sweep and its area (AUDDC), the same for the baseline δ = t·(x_t − x) that every
 * attack must beat, the classifier-judged success rate of budgeted attacks, and the model's reconstruction quality.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import type { ImageSet } from '../data/types.ts';
import { batchTensors, chunks, range } from '../eval/batches.ts';
import type { Classifier } from '../models/classifier.ts';
import { threatModel, type ThreatModel } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import {
  BUDGETED_DEFAULTS,
  budgetedAttack,
  finalizeGenerativeAttack,
  lagrangianSweep,
  SWEEP_DEFAULTS,
  tileTarget,
  type BudgetedAttackConfig,
  type GenerativeAttackResult,
  type SweepConfig,
} from './attacks.ts';
import { auddc, type CurvePoint } from './auddc.ts';
import { negativeElbo } from './elbo.ts';
import type { Autoencoder } from './model.ts';
import { generativeObjective, type GenerativeAttackKind, type LatentMeasure } from './objectives.ts';

/** A (source, target) pair of example indices. */
export interface GenerativePair {
  source: number;
  target: number;
}

/**
 * `count` seeded pairs of distinct examples of different classes (as Gondim-Ribeiro et al.: the target is another
 * class, so moving toward it is a real change). ConfigError if the set has fewer than two classes.
 */
export function generativePairs(labels: ArrayLike<number>, count: number, seed: number): GenerativePair[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new ConfigError('pairs', 'an integer ≥ 1', String(count));
  const n = labels.length;
  if (new Set(Array.from(labels)).size < 2) throw new ConfigError('data', 'examples of at least two classes', `${n} examples of one class`);
  const rng = new Rng(seed);
  const pairs: GenerativePair[] = [];
  const used = new Set<string>();
  while (pairs.length < count) {
    const source = rng.int(n);
    const target = rng.int(n);
    const key = `${source}:${target}`;
    if (labels[source] === labels[target] || used.has(key)) continue;
    used.add(key);
    pairs.push({ source, target });
  }
  return pairs;
}

/** One attack's curves and areas over the pairs. */
export interface CurveSummary {
  /** Mean AUDDC over the pairs (lower = more vulnerable). */
  auddc: number;
  perPair: number[];
  /** The distortion–distance points of each pair, as the trust boundary measured them. */
  points: CurvePoint[][];
}

/** What `evaluateGenerative` measures. */
export interface GenerativeEvaluation {
  pairs: GenerativePair[];
  /** Sweep curves per attack, and the interpolation baseline. */
  curves: Partial<Record<'latent' | 'output', CurveSummary>> & { interpolation: CurveSummary };
  /** Fraction of pairs whose adversarial reconstruction the classifier puts in x_t's class, per budgeted attack. */
  successRate?: Partial<Record<GenerativeAttackKind | 'interpolation', number>>;
  budget?: string;
  /** Per budgeted attack, the trust boundary's measurements (for galleries): x_adv stays in `adversarial`. */
  budgeted: Partial<Record<GenerativeAttackKind, Omit<GenerativeAttackResult, 'xAdv'>>>;
}

/** Options of `evaluateGenerative`. */
export interface GenerativeEvalOptions {
  /** Attacks whose Lagrangian sweep gives a curve (default latent and output). */
  sweepAttacks?: readonly ('latent' | 'output')[];
  sweep?: Partial<SweepConfig>;
  /** Points of the interpolation baseline: t = 0, 1/(k−1), …, 1 (default 21). */
  interpolationSteps?: number;
  /** Budgeted attacks judged by `classifier` (default: latent, output and, with a classifier, classifier). */
  budgetedAttacks?: readonly GenerativeAttackKind[];
  budget?: ThreatModel;
  budgeted?: Partial<BudgetedAttackConfig>;
  classifier?: Classifier;
  latentMeasure?: LatentMeasure;
  /** Called with each finished stage, for progress. */
  onStage?: (name: string) => void;
}

function summarise(points: CurvePoint[][]): CurveSummary {
  const perPair = points.map((p) => auddc(p));
  return { auddc: perPair.reduce((a, b) => a + b, 0) / Math.max(1, perPair.length), perPair, points };
}

function dropTensor(r: GenerativeAttackResult): Omit<GenerativeAttackResult, 'xAdv'> {
  const { xAdv, ...rest } = r;
  xAdv.dispose();
  return rest;
}

/**
 * Evaluates `ae` on `set`'s `pairs`: sweep curves and AUDDC per attack, the interpolation baseline, and (with a budget)
 * the classifier-judged success of budgeted attacks. Every number comes from `finalizeGenerativeAttack`.
 */
export function evaluateGenerative(
  ae: Autoencoder,
  set: ImageSet,
  pairs: readonly GenerativePair[],
  opts: GenerativeEvalOptions = {},
): GenerativeEvaluation {
  const sources = batchTensors(
    set,
    pairs.map((p) => p.source),
  );
  const targets = batchTensors(
    set,
    pairs.map((p) => p.target),
  );
  const p = pairs.length;
  const target = { xt: targets.x, labels: targets.y, ...(opts.classifier ? { classifier: opts.classifier } : {}) };
  try {
    // The baseline: δ = t·(x_t − x), through the same boundary.
    const ks = opts.interpolationSteps ?? 21;
    if (!Number.isSafeInteger(ks) || ks < 2) throw new ConfigError('interpolationSteps', 'an integer ≥ 2', String(ks));
    const ts = Array.from({ length: ks }, (_, i) => i / (ks - 1));
    const interpolation = pointsOf(ae, sources.x, target, ts.length, (tiledX, tiledTarget) =>
      tf.tidy(() => {
        const t = tf.tensor1d(ts.flatMap((v) => Array<number>(p).fill(v)));
        return tf.add(tiledX, tf.mul(tf.reshape(t, [-1, 1, 1, 1]), tf.sub(tiledTarget.xt, tiledX))) as tf.Tensor4D;
      }),
    );
    opts.onStage?.('interpolation');
    const curves: GenerativeEvaluation['curves'] = { interpolation: summarise(interpolation) };
    const sweep = { ...SWEEP_DEFAULTS, ...opts.sweep };
    for (const kind of opts.sweepAttacks ?? (['latent', 'output'] as const)) {
      const points = pointsOf(ae, sources.x, target, sweep.cs.length, (_tiledX, tiledTarget) => {
        const objective = generativeObjective(kind, ae, tiledTarget, { latentMeasure: opts.latentMeasure });
        try {
          return lagrangianSweep(objective, sources.x, [0, 1], sweep);
        } finally {
          objective.dispose();
        }
      });
      curves[kind] = summarise(points);
      opts.onStage?.(`${kind} sweep`);
    }
    const result: GenerativeEvaluation = { pairs: [...pairs], curves, budgeted: {} };
    if (opts.budget) {
      const kinds =
        opts.budgetedAttacks ?? (opts.classifier ? (['latent', 'output', 'classifier'] as const) : (['latent', 'output'] as const));
      result.budget = opts.budget.toString();
      const rates: NonNullable<GenerativeEvaluation['successRate']> = {};
      for (const kind of kinds) {
        const objective = generativeObjective(kind, ae, target, { latentMeasure: opts.latentMeasure });
        let proposal: tf.Tensor4D;
        try {
          proposal = budgetedAttack(objective, sources.x, opts.budget, { ...BUDGETED_DEFAULTS, ...opts.budgeted });
        } finally {
          objective.dispose();
        }
        try {
          const r = dropTensor(
            finalizeGenerativeAttack({ ae, x: sources.x, proposal, target, threat: opts.budget, attackName: `${kind} attack` }),
          );
          result.budgeted[kind] = r;
          if (r.targetHit) rates[kind] = r.targetHit.reduce((a, b) => a + b, 0) / p;
        } finally {
          proposal.dispose();
        }
        opts.onStage?.(`${kind} at ${opts.budget.toString()}`);
      }
      if (opts.classifier) result.successRate = rates;
    }
    return result;
  } finally {
    tf.dispose([sources.x, sources.y, targets.x, targets.y]);
  }
}

/**
 * Runs `propose` on the sources and targets tiled `times` times (row k·p + i is pair i's k-th candidate), finalises the
 * candidates on the box and returns each pair's distortion–distance points.
 */
function pointsOf(
  ae: Autoencoder,
  x: tf.Tensor4D,
  target: { xt: tf.Tensor4D; labels: tf.Tensor1D; classifier?: Classifier },
  times: number,
  propose: (tiledX: tf.Tensor4D, tiledTarget: ReturnType<typeof tileTarget>) => tf.Tensor4D,
): CurvePoint[][] {
  const p = x.shape[0];
  const tiledX = tf.tile(x, [times, 1, 1, 1]) as tf.Tensor4D;
  const tiledTarget = tileTarget(target, times);
  try {
    const proposal = propose(tiledX, tiledTarget);
    try {
      const r = finalizeGenerativeAttack({ ae, x: tiledX, proposal, target: tiledTarget, bounds: [0, 1] });
      r.xAdv.dispose();
      return range(p).map((i) => range(times).map((k) => ({ x: r.curveX[k * p + i]!, y: r.curveY[k * p + i]! })));
    } finally {
      proposal.dispose();
    }
  } finally {
    tf.dispose([tiledX, tiledTarget.xt, tiledTarget.labels!]);
  }
}

/** Reconstruction quality on the first `count` images of `set`: mean negative ELBO and KL (nats per image), per-pixel MSE. */
export function reconstructionQuality(
  ae: Autoencoder,
  set: ImageSet,
  count: number,
  seed = 0,
): { negElbo: number; kl: number; mse: number; images: number } {
  const n = Math.min(count, set.n);
  let [negElbo, kl, mse] = [0, 0, 0];
  const rng = new Rng(seed); // tf.js treats a seed of 0 as "unseeded": derive non-zero ones
  for (const idx of chunks(range(n), 256)) {
    const { x, y } = batchTensors(set, idx);
    const [a, b, c] = tf.tidy(() => {
      const terms = negativeElbo(ae, x, { seed: rng.seed() || 1 });
      return [
        tf.sum(terms.loss),
        tf.sum(terms.kl),
        tf.sum(tf.mean(tf.reshape(tf.square(tf.sub(ae.reconstruct(x), x)), [idx.length, -1]), 1)),
      ].map((t) => t.dataSync()[0]!);
    });
    tf.dispose([x, y]);
    negElbo += a!;
    kl += b!;
    mse += c!;
  }
  return { negElbo: negElbo / n, kl: kl / n, mse: mse / n, images: n };
}

/** The default budget of the success-rate attacks on [0, 1] images: L∞ ε = 0.1, as the classifier experiments. */
export const DEFAULT_GENERATIVE_BUDGET = () => threatModel('linf', 0.1);
