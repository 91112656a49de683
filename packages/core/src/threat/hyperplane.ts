import * as tf from '@tensorflow/tfjs-core';
import { whereRows, type Norm } from './norms.ts';

/** Breakpoints above this are clipped (L2 on coordinates with a vanishing normal), so ∞ · 0 never makes a NaN. */
const BIG = 1e30;
const TINY = 1e-30;

/** Row i of `m` [n, d] at column idx[i]: [n]. */
function pickColumn(m: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor1D {
  return tf.reshape(tf.gather(m, tf.reshape(idx, [-1, 1]), 1, 1), [-1]);
}

/**
 * Solves Σ_i ω_i · min(θ, β_i) = r for θ ≥ 0, per row (ω, β ≥ 0 [n, d]; r ≥ 0 [n]). The left side is continuous,
 * non-decreasing and piecewise linear in θ with kinks at the β_i: sort β ascending, evaluate it at every kink
 * (φ_k = Σ_{j≤k} ω_j β_j + β_k Σ_{j>k} ω_j), take the first kink k with φ_k ≥ r and solve the linear piece
 * before it: θ = (r − Σ_{j<k} ω_j β_j) / Σ_{j≥k} ω_j. Returns θ [n] and `feasible` [n] (false when even θ = ∞
 * falls short of r, i.e. r > Σ ω β).
 */
function solveCappedLinear(omega: tf.Tensor2D, beta: tf.Tensor2D, r: tf.Tensor1D) {
  const [n, d] = omega.shape;
  const sorted = tf.topk(tf.neg(beta), d, true); // descending in −β = ascending in β
  const b = tf.neg(sorted.values) as tf.Tensor2D;
  const w = tf.gather(omega, sorted.indices, 1, 1) as tf.Tensor2D;
  const wb = tf.mul(w, b);
  const below = tf.cumsum(wb, 1, true) as tf.Tensor2D; // Σ_{j<k} ω_j β_j (saturated before kink k)
  const activeFrom = tf.cumsum(w, 1, false, true) as tf.Tensor2D; // Σ_{j≥k} ω_j
  const phi = tf.add(tf.add(below, wb), tf.mul(b, tf.sub(activeFrom, w))); // value at kink k
  const rr = tf.reshape(r, [n, 1]);
  const k = tf.sum(tf.cast(tf.less(phi, rr), 'int32'), 1) as tf.Tensor1D; // first kink reaching r (φ is non-decreasing)
  const feasible = tf.less(k, d) as tf.Tensor1D;
  const kk = tf.minimum(k, tf.scalar(d - 1, 'int32')) as tf.Tensor1D;
  const theta = tf.div(tf.sub(r, pickColumn(below, kk)), tf.maximum(pickColumn(activeFrom, kk), TINY));
  // r = 0 (the point is on the hyperplane): θ = 0, also when every ω is 0.
  const safe = tf.where(tf.greater(r, 0), tf.relu(theta), tf.zerosLike(theta)) as tf.Tensor1D;
  return { theta: safe, feasible };
}

/**
 * Minimal-norm displacement onto a hyperplane inside a box, batched: for each row i, δ_i minimising ‖δ_i‖_p subject to
 * ⟨w_i, t_i + δ_i⟩ = b_i and lo ≤ t_i + δ_i ≤ hi, where `c` = ⟨w, t⟩ − b is the signed residual of t (so the constraint
 * reads ⟨w, δ⟩ = −c). `t` [n, d] must lie in the box. When the hyperplane misses the box, δ moves every coordinate with
 * w_i ≠ 0 to the face of the box in the hyperplane's direction (the box point nearest the hyperplane along w, the
 * corner of greatest progress); coordinates with w_i = 0 never move.
 *
 * All three reduce to moving coordinate i by an amount a_i ∈ [0, cap_i] in the direction sign(w_i)·sign(−c), where
 * cap_i is the room left in the box that way, with Σ |w_i| a_i = |c|:
 * - L∞: a_i = min(τ, cap_i) for the smallest τ that reaches |c|;
 * - L2 (the KKT solution): a_i = min(λ|w_i|, cap_i), λ likewise the smallest that reaches |c|;
 * - L1: greedy by |w_i|: fill the coordinates of largest |w| first; those tied with the last one needed share what
 *   remains in proportion to their caps (any split among ties has the same L1 cost).
 * Each is one sort per row (tf.topk over d) plus elementwise work; no host reads. Returns δ [n, d].
 */
export function projectHyperplaneBox(
  norm: Norm,
  t: tf.Tensor2D,
  w: tf.Tensor2D,
  c: tf.Tensor1D,
  bounds: readonly [number, number],
): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, d] = t.shape;
    const [lo, hi] = bounds;
    // Orient: v = s·w with s = −sign(c) (s = 1 when c = 0), so we need ⟨v, δ⟩ = r = |c| ≥ 0 and move along sign(v).
    const s = tf.reshape(tf.where(tf.greater(c, 0), tf.fill([n], -1), tf.fill([n], 1)), [n, 1]);
    const v = tf.mul(w, s) as tf.Tensor2D;
    const r = tf.abs(c) as tf.Tensor1D;
    const dir = tf.sign(v);
    const absV = tf.abs(v) as tf.Tensor2D;
    const up = tf.relu(tf.sub(hi, t));
    const down = tf.relu(tf.sub(t, lo));
    const zeros = tf.zerosLike(t);
    const cap = tf.where(tf.greater(v, 0), up, tf.where(tf.less(v, 0), down, zeros)) as tf.Tensor2D;

    let amount: tf.Tensor2D;
    let feasible: tf.Tensor1D;
    if (norm === 'linf') {
      const sol = solveCappedLinear(absV, cap, r);
      amount = tf.minimum(tf.reshape(sol.theta, [n, 1]), cap);
      feasible = sol.feasible;
    } else if (norm === 'l2') {
      // Σ |v_i| min(λ|v_i|, cap_i) = Σ v_i² min(λ, cap_i/|v_i|): the same capped-linear equation in λ.
      const nz = tf.greater(absV, 0);
      const beta = tf.where(nz, tf.minimum(tf.div(cap, tf.maximum(absV, TINY)), BIG), zeros) as tf.Tensor2D;
      const sol = solveCappedLinear(tf.square(absV) as tf.Tensor2D, beta, r);
      amount = tf.minimum(tf.mul(tf.reshape(sol.theta, [n, 1]), absV), cap);
      feasible = sol.feasible;
    } else {
      const sorted = tf.topk(absV, d, true); // |v| descending: the most progress per unit of L1 first
      const gain = tf.mul(sorted.values, tf.gather(cap, sorted.indices, 1, 1));
      const reached = tf.cumsum(gain, 1) as tf.Tensor2D;
      const k = tf.sum(tf.cast(tf.less(reached, tf.reshape(r, [n, 1])), 'int32'), 1) as tf.Tensor1D;
      feasible = tf.less(k, d) as tf.Tensor1D;
      const m = tf.reshape(pickColumn(sorted.values as tf.Tensor2D, tf.minimum(k, tf.scalar(d - 1, 'int32')) as tf.Tensor1D), [n, 1]);
      const above = tf.greater(absV, m);
      const tied = tf.equal(absV, m);
      const rest = tf.sub(r, tf.sum(tf.where(above, tf.mul(absV, cap), zeros), 1));
      const tiedCap = tf.sum(tf.where(tied, cap, zeros), 1);
      const share = tf.clipByValue(tf.div(rest, tf.maximum(tf.mul(tf.reshape(m, [n]), tiedCap), TINY)), 0, 1);
      const shareB = tf.reshape(tf.where(tf.greater(r, 0), share, tf.zerosLike(share)), [n, 1]);
      amount = tf.where(above, cap, tf.where(tied, tf.mul(cap, shareB), zeros)) as tf.Tensor2D;
    }
    const full = whereRows(feasible, amount, cap);
    return tf.mul(dir, full) as tf.Tensor2D;
  });
}
