import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import { checkBounds, DEFAULT_BOUNDS } from '../models/classifier.ts';
import type { Rng } from '../util/rng.ts';
import { GEOMETRY, NORMS, type Norm, type NormGeometry } from './norms.ts';

/** The default input domain [0,1]^d (= DEFAULT_BOUNDS; kept for back-compat: a threat model's own box is `bounds`). */
export const BOX = { min: 0, max: 1 } as const;

/** Optional settings of `threatModel`. */
export interface ThreatModelOptions {
  /**
   * The input domain [lo, hi] (the attacked model's own pixel space, e.g. [0, 255]); ε is measured in
   * the same units. Default [0, 1].
   */
  bounds?: readonly [number, number];
}

/**
 * A threat model B_p(x, ε) ∩ [lo,hi]^d as an object (foolbox style): the norm is a parameter, and every
 * attack asks this object to project, to pick an ascent direction and to draw a random start.
 */
export interface ThreatModel {
  readonly norm: Norm;
  readonly eps: number;
  /** The box [lo, hi] every coordinate is clipped to: the model's input domain. */
  readonly bounds: readonly [number, number];
  /** Projects xAdv onto B(x, eps) ∩ box: the ball projection of δ, then a clip to the box. */
  project(xAdv: tf.Tensor4D, x: tf.Tensor4D): tf.Tensor4D;
  /** Unit steepest-ascent direction for the input gradient g. */
  ascent(g: tf.Tensor4D): tf.Tensor4D;
  /** x + a uniform sample of the ball, clipped to the box. */
  randomInit(x: tf.Tensor4D, rng: Rng): tf.Tensor4D;
  /** Per-example distance ‖a − b‖_p: [n]. */
  distance(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D;
  /** The same threat (norm, bounds) with another radius. */
  withEps(eps: number): ThreatModel;
  /** "linf eps=0.03", with " bounds=[lo, hi]" appended when the box is not [0, 1]; for logs and reports. */
  toString(): string;
}

/** True if two input domains are the same interval. */
export function sameBounds(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/** "[lo, hi]" for messages. */
export function formatBounds(b: readonly [number, number]): string {
  return `[${b[0]}, ${b[1]}]`;
}

/**
 * The threat model B_norm(x, eps) ∩ [lo, hi]^d, with eps in the units of `opts.bounds` (default [0, 1]). Throws
 * ConfigError for an unknown norm, an eps that is negative or not finite, or invalid bounds.
 */
export function threatModel(norm: Norm, eps: number, opts: ThreatModelOptions = {}): ThreatModel {
  if (!NORMS.includes(norm)) throw new ConfigError('norm', `one of ${NORMS.join(', ')}`, String(norm));
  if (!Number.isFinite(eps) || eps < 0) throw new ConfigError('eps', 'a finite number ≥ 0', String(eps));
  const bounds = opts.bounds === undefined ? DEFAULT_BOUNDS : checkBounds(opts.bounds, 'bounds');
  const [lo, hi] = bounds;
  const isDefault = sameBounds(bounds, DEFAULT_BOUNDS);
  const g: NormGeometry = GEOMETRY[norm];
  const self: ThreatModel = {
    norm,
    eps,
    bounds,
    // Clipping to the box after the ball projection can only shrink |δ_i| (x itself is in the box), so
    // the result stays in the ball: it lies in B ∩ box as the spec's §3 prescribes.
    project: (xAdv, x) => tf.tidy(() => tf.clipByValue(tf.add(x, g.projectBall(tf.sub(xAdv, x), eps)), lo, hi) as tf.Tensor4D),
    ascent: (grad) => g.ascent(grad) as tf.Tensor4D,
    randomInit: (x, rng) => tf.tidy(() => tf.clipByValue(tf.add(x, g.sampleBall(x.shape, eps, rng)), lo, hi) as tf.Tensor4D),
    distance: (a, b) => tf.tidy(() => g.measure(tf.sub(a, b))),
    withEps: (e) => threatModel(norm, e, { bounds }),
    toString: () => (isDefault ? `${norm} eps=${eps}` : `${norm} eps=${eps} bounds=${formatBounds(bounds)}`),
  };
  return self;
}

/** A Norm from user text such as 'Linf', 'l-inf', 'inf' or 'L2'; throws ConfigError naming `key` for anything else. */
export function parseNorm(s: string, key = 'norm'): Norm {
  const v = s.toLowerCase().replace(/^l-?/, 'l');
  const canon = v === 'inf' || v === 'linf' || v === 'l∞' ? 'linf' : v;
  if (!NORMS.includes(canon as Norm)) throw new ConfigError(key, `one of ${NORMS.join(', ')}`, s);
  return canon as Norm;
}
