import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import type { Rng } from '../util/rng.ts';
import { GEOMETRY, NORMS, type Norm, type NormGeometry } from './norms.ts';

/** The valid input domain. Images live in [0,1]^d. */
export const BOX = { min: 0, max: 1 } as const;

/**
 * A threat model B_p(x, ε) ∩ [0,1]^d as an object (foolbox style): the norm is a parameter, and every
 * attack asks this object to project, to pick an ascent direction and to draw a random start.
 */
export interface ThreatModel {
  readonly norm: Norm;
  readonly eps: number;
  /** Projects xAdv onto B(x, eps) ∩ box: the ball projection of δ, then a clip to the box. */
  project(xAdv: tf.Tensor4D, x: tf.Tensor4D): tf.Tensor4D;
  /** Unit steepest-ascent direction for the input gradient g. */
  ascent(g: tf.Tensor4D): tf.Tensor4D;
  /** x + a uniform sample of the ball, clipped to the box. */
  randomInit(x: tf.Tensor4D, rng: Rng): tf.Tensor4D;
  /** Per-example distance ‖a − b‖_p: [n]. */
  distance(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D;
  /** The same threat with another radius. */
  withEps(eps: number): ThreatModel;
  toString(): string;
}

export function threatModel(norm: Norm, eps: number): ThreatModel {
  if (!NORMS.includes(norm)) throw new ConfigError('--norm', `one of ${NORMS.join(', ')}`, String(norm));
  if (!Number.isFinite(eps) || eps < 0) throw new ConfigError('--eps', 'a finite number ≥ 0', String(eps));
  const g: NormGeometry = GEOMETRY[norm];
  const self: ThreatModel = {
    norm,
    eps,
    // Clipping to the box after the ball projection can only shrink |δ_i| (x itself is in the box), so
    // the result stays in the ball: it lies in B ∩ box as the spec's §3 prescribes.
    project: (xAdv, x) =>
      tf.tidy(() => tf.clipByValue(tf.add(x, g.projectBall(tf.sub(xAdv, x), eps)), BOX.min, BOX.max) as tf.Tensor4D),
    ascent: (grad) => g.ascent(grad) as tf.Tensor4D,
    randomInit: (x, rng) =>
      tf.tidy(() => tf.clipByValue(tf.add(x, g.sampleBall(x.shape, eps, rng)), BOX.min, BOX.max) as tf.Tensor4D),
    distance: (a, b) => tf.tidy(() => g.measure(tf.sub(a, b))),
    withEps: (e) => threatModel(norm, e),
    toString: () => `${norm} eps=${eps}`,
  };
  return self;
}

export function parseNorm(s: string, flag = '--norm'): Norm {
  const v = s.toLowerCase().replace(/^l-?/, 'l');
  const canon = v === 'inf' || v === 'linf' || v === 'l∞' ? 'linf' : v;
  if (!NORMS.includes(canon as Norm)) throw new ConfigError(flag, `one of ${NORMS.join(', ')}`, s);
  return canon as Norm;
}
