/**
 * Vectors of the spaces Hessians act on, as lists of tensors: one per weight variable for a weight Hessian, a
 * single batch for an input Hessian. Every function returns new tensors (the caller owns them) and host numbers
 * for inner products, which is what the iterative eigensolvers branch on.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.ts';

/** A point of the product space: one tensor per part (weight variable, or the input batch). */
export type TensorList = readonly tf.Tensor[];

/** ⟨a, b⟩ summed over every part. */
export function dot(a: TensorList, b: TensorList): number {
  return tf.tidy(() => tf.addN(a.map((t, i) => tf.sum(tf.mul(t, b[i]!)))).dataSync()[0]!);
}

/** ‖a‖₂ over every part. */
export function norm(a: TensorList): number {
  return Math.sqrt(dot(a, a));
}

/** a·s + b·t, part by part (b optional: a·s). */
export function combine(a: TensorList, s: number, b?: TensorList, t = 0): tf.Tensor[] {
  return tf.tidy(() => a.map((x, i) => (b ? tf.add(tf.mul(x, s), tf.mul(b[i]!, t)) : tf.mul(x, s))));
}

/** a / ‖a‖₂; a zero vector stays zero. */
export function normalize(a: TensorList): tf.Tensor[] {
  const n = norm(a);
  return combine(a, n > 0 ? 1 / n : 0);
}

/**
 * a with its components along the orthonormal `basis` removed, then normalised: classical Gram–Schmidt applied
 * twice ("twice is enough", Giraud et al. 2005), so the coefficients of a pass come from one host read instead of
 * one per basis vector. In float32 one pass leaves components of the size of the rounding error times ‖a‖, which
 * Lanczos would amplify into spurious copies of converged eigenvalues.
 */
export function orthonormalize(a: TensorList, basis: readonly TensorList[]): tf.Tensor[] {
  let v = a.map((t) => tf.clone(t));
  if (basis.length > 0) {
    for (let pass = 0; pass < 2; pass++) {
      const next = tf.tidy(() => {
        const coefficients = tf.stack(basis.map((b) => tf.addN(v.map((t, i) => tf.sum(tf.mul(t, b[i]!))))));
        const c = tf.unstack(coefficients);
        return v.map((t, i) => tf.sub(t, tf.addN(basis.map((b, j) => tf.mul(b[i]!, c[j]!)))));
      });
      tf.dispose(v);
      v = next;
    }
  }
  const out = normalize(v);
  tf.dispose(v);
  return out;
}

/** Independent standard normal entries, one tensor per shape. */
export function gaussian(shapes: readonly (readonly number[])[], rng: Rng): tf.Tensor[] {
  return shapes.map((s) => tf.randomNormal(s as number[], 0, 1, 'float32', rng.seed()));
}

/** Independent ±1 entries with equal probability (Rademacher), one tensor per shape. */
export function rademacher(shapes: readonly (readonly number[])[], rng: Rng): tf.Tensor[] {
  return tf.tidy(() => shapes.map((s) => tf.sub(tf.mul(tf.step(tf.randomUniform(s as number[], -1, 1, 'float32', rng.seed())), 2), 1)));
}
