import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import { Rng } from '../util/rng.ts';

/**
 * Danskin's theorem, checked numerically (SPEC §4). For a logistic model f(x) = w·x + b with labels
 * y ∈ {±1} and ℓ = log(1 + exp(−y f(x))), the inner maximum over ‖δ‖∞ ≤ ε is exact: δ* = −ε·y·sign(w),
 * so φ(θ) = mean log(1 + exp(−y(w·x + b) + ε‖w‖₁)) in closed form. Its finite-difference gradient must
 * equal ∇_θ ℓ(θ, x + δ*) with δ* held constant — the gradient adversarial training uses.
 * Separately, on a small tanh network under L2, differentiating through K unrolled PGD steps gives a
 * different gradient from the one at the (constant) PGD point: the attack's path is not part of ∇φ.
 */
export interface DanskinReport {
  eps: number;
  /** θ = (w, b): finite differences of φ (float64), and the gradient at δ* (tf.js, float32). */
  finiteDifference: number[];
  danskin: number[];
  /** max |fd − danskin| / max(1e-8, max |fd|) */
  relativeError: number;
  /** δ* found by the library's FGSM step equals −ε·y·sign(w) exactly. */
  deltaIsExact: boolean;
  /** Tanh network, L2 PGD-K: ‖∇_unrolled − ∇_Danskin‖ / ‖∇_Danskin‖ over all weights. */
  unrolledRelativeDifference: number;
}

function logistic(n: number, d: number, rng: Rng) {
  const x = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.next()));
  const wTrue = Array.from({ length: d }, () => rng.normal());
  const y = x.map((r) => (r.reduce((s, v, j) => s + v * wTrue[j]!, 0) > 0.5 * wTrue.reduce((a, b) => a + b, 0) ? 1 : -1));
  const w = Array.from({ length: d }, () => 0.5 * rng.normal());
  return { x, y, w, b: 0.1 * rng.normal() };
}

/** φ(w, b) in float64, with the exact inner maximum. */
function phi(x: number[][], y: number[], w: number[], b: number, eps: number): number {
  const l1 = w.reduce((s, v) => s + Math.abs(v), 0);
  let s = 0;
  x.forEach((r, i) => {
    const m = -y[i]! * r.reduce((a, v, j) => a + v * w[j]!, b) + eps * l1;
    s += m > 30 ? m : Math.log1p(Math.exp(m));
  });
  return s / x.length;
}

/**
 * Runs both Danskin checks on seeded synthetic data (defaults: n = 32 points, d = 6 features, ε = 0.1, seed 0);
 * deterministic for a seed and leaves no tensor behind.
 */
export function danskinCheck(opts: { n?: number; d?: number; eps?: number; seed?: number } = {}): DanskinReport {
  const { n = 32, d = 6, eps = 0.1, seed = 0 } = opts;
  const rng = new Rng(seed);
  const { x, y, w, b } = logistic(n, d, rng);
  // Finite differences of φ (central, float64).
  const h = 1e-6;
  const theta = [...w, b];
  const fd = theta.map((_, k) => {
    const p = [...theta];
    const m = [...theta];
    p[k]! += h;
    m[k]! -= h;
    return (phi(x, y, p.slice(0, d), p[d]!, eps) - phi(x, y, m.slice(0, d), m[d]!, eps)) / (2 * h);
  });
  const { danskin, deltaIsExact } = tf.tidy(() => {
    const X = tf.tensor2d(x);
    const Y = tf.tensor1d(y);
    const W = tf.tensor1d(w);
    const B = tf.scalar(b);
    const loss = (xx: tf.Tensor2D, ww: tf.Tensor1D, bb: tf.Scalar) =>
      tf.mean(tf.softplus(tf.neg(tf.mul(Y, tf.add(tf.sum(tf.mul(xx, ww), 1), bb))))) as tf.Scalar;
    // δ* from the FGSM step of the library's convention: ε·sign(∇ₓℓ), no box (the closed form has none).
    const gx = tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor2D, W, B))(X);
    const delta = tf.mul(eps, tf.sign(gx));
    const expected = tf.mul(-eps, tf.mul(tf.reshape(Y, [n, 1]), tf.reshape(tf.sign(W), [1, d])));
    const exact = tf.max(tf.abs(tf.sub(delta, expected))).dataSync()[0] === 0;
    const xAdv = tf.add(X, delta) as tf.Tensor2D; // a constant from here on: no path back to θ
    const [gw, gb] = tf.grads((ww: tf.Tensor, bb: tf.Tensor) => loss(xAdv, ww as tf.Tensor1D, bb as tf.Scalar))([W, B]);
    return { danskin: [...Array.from(gw!.dataSync()), gb!.dataSync()[0]!], deltaIsExact: exact };
  });
  const scale = Math.max(1e-8, ...fd.map(Math.abs));
  const relativeError = Math.max(...fd.map((v, k) => Math.abs(v - danskin[k]!))) / scale;
  return { eps, finiteDifference: fd, danskin, relativeError, deltaIsExact, unrolledRelativeDifference: unrolledVsDanskin(seed) };
}

/** A 2-layer tanh net under L2 PGD-K from x: unrolled gradient vs gradient at the constant PGD point. */
function unrolledVsDanskin(seed: number): number {
  const rng = new Rng(seed + 1);
  const n = 16,
    d = 6,
    hdim = 8,
    eps = 0.5,
    steps = 5,
    alpha = eps / 2;
  return tf.tidy(() => {
    const X = tf.randomUniform([n, d], 0, 1, 'float32', rng.seed());
    const Y = tf.cast(tf.greater(tf.sum(X, 1), d / 2), 'float32');
    const W1 = tf.randomNormal([d, hdim], 0, 1, 'float32', rng.seed());
    const W2 = tf.randomNormal([hdim, 1], 0, 1, 'float32', rng.seed());
    const loss = (xx: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor) => {
      const z = tf.reshape(tf.matMul(tf.tanh(tf.matMul(xx as tf.Tensor2D, w1 as tf.Tensor2D)), w2 as tf.Tensor2D), [n]);
      const ys = tf.sub(tf.mul(Y, 2), 1);
      return tf.mean(tf.softplus(tf.neg(tf.mul(ys, z)))) as tf.Scalar;
    };
    // PGD-L2 as a function of the weights: each step's gradient is itself differentiated when unrolled.
    const pgd = (w1: tf.Tensor, w2: tf.Tensor) => {
      let xt: tf.Tensor = X;
      for (let t = 0; t < steps; t++) {
        const g = tf.grad((xx: tf.Tensor) => tf.mul(loss(xx, w1, w2), n))(xt);
        const step = tf.div(g, tf.reshape(tf.add(tf.norm(g, 'euclidean', 1), 1e-12), [n, 1]));
        const delta = tf.add(tf.sub(xt, X), tf.mul(alpha, step));
        const norm = tf.reshape(tf.norm(delta, 'euclidean', 1), [n, 1]);
        xt = tf.add(X, tf.mul(delta, tf.minimum(1, tf.div(eps, tf.add(norm, 1e-12)))));
      }
      return xt;
    };
    const unrolled = tf.grads((w1: tf.Tensor, w2: tf.Tensor) => loss(pgd(w1, w2), w1, w2))([W1, W2]);
    const xStar = tf.tensor2d(pgd(W1, W2).dataSync() as Float32Array, [n, d]); // detached copy: a constant
    const danskin = tf.grads((w1: tf.Tensor, w2: tf.Tensor) => loss(xStar, w1, w2))([W1, W2]);
    const flat = (gs: tf.Tensor[]) => tf.concat(gs.map((g) => tf.reshape(g, [-1])));
    const diff = tf.norm(tf.sub(flat(unrolled), flat(danskin))).dataSync()[0]!;
    return diff / tf.norm(flat(danskin)).dataSync()[0]!;
  });
}
