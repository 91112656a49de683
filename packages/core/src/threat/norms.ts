import * as tf from '@tensorflow/tfjs-core';
import { assert } from '../errors.ts';
import type { Rng } from '../util/rng.ts';

/** The perturbation norms advlab attacks under, in their canonical spelling (`parseNorm` accepts variants such as 'Linf', 'inf'). */
export type Norm = 'linf' | 'l2' | 'l1';
/** Every supported Norm, in the order messages list them. */
export const NORMS: readonly Norm[] = ['linf', 'l2', 'l1'];

/**
 * The geometry of one norm: everything an attack needs to know about it, as pure tensor functions on
 * batches [n, ...]. Attacks are written once against this table; the norm is a parameter.
 */
export interface NormGeometry {
  /** Per-example norm of δ: [n]. */
  measure(delta: tf.Tensor): tf.Tensor1D;
  /** Euclidean projection of δ onto the ball of radius eps (the box is handled by the threat model). */
  projectBall(delta: tf.Tensor, eps: number): tf.Tensor;
  /** Steepest-ascent direction of unit norm for gradient g: argmax_{‖s‖≤1} ⟨g, s⟩. */
  ascent(g: tf.Tensor): tf.Tensor;
  /** A sample uniform in the ball of radius eps, shaped like `shape`. */
  sampleBall(shape: number[], eps: number, rng: Rng): tf.Tensor;
}

const TINY = 1e-12;

function flat(t: tf.Tensor): tf.Tensor2D {
  return tf.reshape(t, [t.shape[0]!, -1]);
}

/** Reshape a per-example [n] tensor so it broadcasts against a batch of shape `like`. */
export function perExample(v: tf.Tensor1D, like: tf.Tensor): tf.Tensor {
  return tf.reshape(v, [v.shape[0], ...Array<number>(like.rank - 1).fill(1)]);
}

/** Per-example inner product of two batches [n, ...], each example flattened: [n]. */
export function rowDot(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.reshape(tf.mul(a, b), [a.shape[0]!, -1]), 1) as tf.Tensor1D);
}

/**
 * Per-example select: rows of `a` where cond[i], else rows of `b`, for finite float32 `a` and `b` (an Inf or NaN in
 * a row not chosen would leak into the result as NaN).
 *
 * Computed as a·m + b·(1 − m) with m = cond as 0/1 per row, which is exact for finite values (x·1 = x, x·0 = ±0,
 * x ± 0 = x). Not tf.where: it needs the bool condition broadcast to the batch's shape first, and tf.js's cpu kernels
 * for a bool Tile and for Select walk element by element — 70% of an APGD iteration's time on a small CNN — while
 * these two broadcasting products and a sum run natively on every backend.
 */
export function whereRows<T extends tf.Tensor>(cond: tf.Tensor1D, a: T, b: T): T {
  return tf.tidy(() => {
    const m = perExample(tf.cast(cond, 'float32') as tf.Tensor1D, a);
    return tf.add(tf.mul(a, m), tf.mul(b, tf.sub(1, m))) as T;
  });
}

/** Rows of a batch of n examples, for writing a sub-batch's results back in place (see `batchRows`). */
export interface BatchRows {
  /** [n], true on the rows. */
  readonly mask: tf.Tensor1D;
  /** The sub-batch `rows` ([k, ...]) at their places in a batch of n, zeros elsewhere. */
  spread<T extends tf.Tensor>(rows: T): T;
  /** `into` ([n, ...]) with the rows replaced by `rows` ([k, ...]); finite float32 values, as `whereRows`. */
  write<T extends tf.Tensor>(rows: T, into: T): T;
}

/**
 * The rows `indices` (distinct, each in [0, n)) of a batch of n examples: where an attack's survivors, run as a
 * sub-batch, go back into the full batch. Its tensors belong to the caller's scope: use it inside tf.tidy.
 *
 * Not tf.tensorScatterUpdate: tf.js's cpu kernel may write into its input, and a batch that started as a clone of
 * the caller's x shares x's memory, so x would change under the caller.
 */
export function batchRows(indices: readonly number[], n: number): BatchRows {
  const hit = new Array<boolean>(n).fill(false);
  for (const i of indices) {
    assert(Number.isInteger(i) && i >= 0 && i < n && !hit[i], () => `batchRows: row ${i} is not a distinct index in [0, ${n})`);
    hit[i] = true;
  }
  const at = tf.tensor2d(indices as number[], [indices.length, 1], 'int32');
  const mask = tf.tensor1d(hit, 'bool');
  const spread = <T extends tf.Tensor>(rows: T): T => {
    assert(rows.shape[0] === indices.length, () => `batchRows: ${rows.shape[0]} rows for ${indices.length} indices`);
    return tf.scatterND(at, rows, [n, ...rows.shape.slice(1)]) as T;
  };
  return { mask, spread, write: (rows, into) => whereRows(mask, spread(rows), into) };
}

const linf: NormGeometry = {
  measure: (d) => tf.tidy(() => tf.max(tf.abs(flat(d)), 1) as tf.Tensor1D),
  projectBall: (d, eps) => tf.clipByValue(d, -eps, eps),
  ascent: (g) => tf.sign(g),
  sampleBall: (shape, eps, rng) => tf.randomUniform(shape, -eps, eps, 'float32', rng.seed()),
};

const l2: NormGeometry = {
  measure: (d) => tf.tidy(() => tf.sqrt(tf.sum(tf.square(flat(d)), 1)) as tf.Tensor1D),
  projectBall: (d, eps) =>
    tf.tidy(() => {
      const norm = l2.measure(d);
      // Scale factor min(1, eps/‖δ‖): points inside the ball are left exactly as they are.
      const factor = tf.minimum(tf.onesLike(norm), tf.div(eps, tf.maximum(norm, TINY))) as tf.Tensor1D;
      return tf.mul(d, perExample(factor, d));
    }),
  ascent: (g) =>
    tf.tidy(() => {
      const norm = l2.measure(g);
      return tf.div(g, perExample(tf.maximum(norm, TINY) as tf.Tensor1D, g));
    }),
  sampleBall: (shape, eps, rng) =>
    tf.tidy(() => {
      // Uniform in the d-ball: a Gaussian direction, radius eps·u^(1/d).
      const n = shape[0]!;
      const d = shape.slice(1).reduce((a, b) => a * b, 1);
      const dir = tf.randomNormal(shape, 0, 1, 'float32', rng.seed());
      const unit = l2.ascent(dir);
      const u = tf.randomUniform([n], 0, 1, 'float32', rng.seed());
      const radius = tf.mul(eps, tf.pow(u, 1 / d)) as tf.Tensor1D;
      return tf.mul(unit, perExample(radius, unit));
    }),
};

const l1: NormGeometry = {
  measure: (d) => tf.tidy(() => tf.sum(tf.abs(flat(d)), 1) as tf.Tensor1D),
  projectBall: (d, eps) => tf.tidy(() => projectL1Ball(d, eps)),
  // Steepest ascent under L1: all mass on the largest-magnitude coordinate (ties: the first).
  ascent: (g) =>
    tf.tidy(() => {
      const f = flat(g);
      const idx = tf.argMax(tf.abs(f), 1);
      const onehot = tf.cast(tf.oneHot(idx, f.shape[1]), 'float32');
      return tf.reshape(tf.mul(onehot, tf.sign(f)), g.shape);
    }),
  sampleBall: (shape, eps, rng) =>
    tf.tidy(() => {
      // Uniform in the L1 ball: Laplace-distributed direction normalised to the sphere, radius eps·u^(1/d).
      const n = shape[0]!;
      const d = shape.slice(1).reduce((a, b) => a * b, 1);
      const e = tf.neg(tf.log(tf.randomUniform(shape, 1e-7, 1, 'float32', rng.seed())));
      const s = tf.sign(tf.randomUniform(shape, -1, 1, 'float32', rng.seed()));
      const dir = tf.mul(e, s);
      const norm = l1.measure(dir);
      const unit = tf.div(dir, perExample(tf.maximum(norm, TINY) as tf.Tensor1D, dir));
      const u = tf.randomUniform([n], 0, 1, 'float32', rng.seed());
      const radius = tf.mul(eps, tf.pow(u, 1 / d)) as tf.Tensor1D;
      return tf.mul(unit, perExample(radius, unit));
    }),
};

/**
 * Euclidean projection onto the L1 ball (Duchi et al. 2008, sort-based): soft-threshold |δ| by the θ
 * that makes the L1 norm equal to eps, for the examples outside the ball.
 */
function projectL1Ball(d: tf.Tensor, eps: number): tf.Tensor {
  const f = flat(d);
  const [n, dim] = f.shape;
  const abs = tf.abs(f);
  const sorted = tf.topk(abs, dim, true).values; // descending
  const cumsum = tf.cumsum(sorted, 1);
  const ks = tf.reshape(tf.range(1, dim + 1, 1, 'float32'), [1, dim]);
  // ρ = max{k : sorted_k − (cumsum_k − eps)/k > 0}
  const cond = tf.cast(tf.greater(tf.sub(sorted, tf.div(tf.sub(cumsum, eps), ks)), 0), 'float32');
  const rho = tf.cast(tf.sub(tf.sum(cond, 1), 1), 'int32'); // index of the last true (cond is a prefix of ones)
  const rhoSafe = tf.maximum(rho, tf.scalar(0, 'int32'));
  const csAtRho = tf.gatherND(cumsum, tf.stack([tf.range(0, n, 1, 'int32'), rhoSafe as tf.Tensor1D], 1));
  const theta = tf.reshape(tf.maximum(tf.div(tf.sub(csAtRho, eps), tf.add(tf.cast(rhoSafe, 'float32'), 1)), 0), [n, 1]);
  const inside = tf.lessEqual(tf.sum(abs, 1), eps) as tf.Tensor1D;
  const shrunk = tf.mul(tf.sign(f), tf.relu(tf.sub(abs, theta)));
  return tf.reshape(whereRows(inside, f, shrunk), d.shape);
}

/** The NormGeometry of each norm; a ThreatModel delegates its projection, ascent direction and sampling here. */
export const GEOMETRY: Record<Norm, NormGeometry> = { linf, l2, l1 };
