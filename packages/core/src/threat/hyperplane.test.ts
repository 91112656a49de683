import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { Rng } from '../util/rng.ts';
import { projectHyperplaneBox } from './hyperplane.ts';
import { NORMS, type Norm } from './norms.ts';

await cpu();

const normOf = (norm: Norm, v: number[]) =>
  norm === 'linf' ? Math.max(0, ...v.map(Math.abs)) : norm === 'l2' ? Math.hypot(...v) : v.reduce((a, b) => a + Math.abs(b), 0);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** Runs the projection on plain arrays (rows of t and w, residuals c) and returns δ as arrays. */
function project(norm: Norm, t: number[][], w: number[][], c: number[], bounds: [number, number] = [0, 1]): number[][] {
  return tf.tidy(() => projectHyperplaneBox(norm, tf.tensor2d(t), tf.tensor2d(w), tf.tensor1d(c), bounds).arraySync());
}

test('inside the box, each norm matches the closed-form projection onto the hyperplane', () => {
  const rng = new Rng(11);
  const n = 16;
  const d = 10;
  const t = Array.from({ length: n }, () => Array.from({ length: d }, () => 0.45 + 0.1 * rng.next()));
  const w = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
  // Residuals small enough that no coordinate reaches the box (checked below through the closed forms).
  const c = w.map((row) => 0.03 * (rng.next() < 0.5 ? -1 : 1) * normOf('l2', row));
  for (const norm of NORMS) {
    const got = project(norm, t, w, c);
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      // L2: −c w/‖w‖²; L∞: −c sign(w)/‖w‖₁; L1: everything on the coordinate of largest |w|.
      const l1 = normOf('l1', wi);
      const l2sq = dot(wi, wi);
      const jMax = wi.reduce((j, v, k) => (Math.abs(v) > Math.abs(wi[j]!) ? k : j), 0);
      const want = wi.map((v, k) =>
        norm === 'l2' ? (-c[i]! * v) / l2sq : norm === 'linf' ? (-c[i]! * Math.sign(v)) / l1 : k === jMax ? -c[i]! / v : 0,
      );
      for (let k = 0; k < d; k++) {
        const x = t[i]![k]! + want[k]!;
        assert.ok(x > 0 && x < 1, 'test setup: the unconstrained projection stays in the box');
        assert.ok(Math.abs(got[i]![k]! - want[k]!) < 1e-5, `${norm} row ${i} coord ${k}: ${got[i]![k]} vs ${want[k]}`);
      }
    }
  }
});

/**
 * Brute force for d = 3: grid the two coordinates other than the one of largest |w| over the box, solve the
 * hyperplane for the third, keep the feasible grid points and return the smallest norm among them.
 */
function bruteForce(norm: Norm, t: number[], w: number[], c: number, [lo, hi]: [number, number], steps = 400): number {
  const j = w.reduce((jj, v, k) => (Math.abs(v) > Math.abs(w[jj]!) ? k : jj), 0);
  const [a, b] = [0, 1, 2].filter((k) => k !== j) as [number, number];
  let best = Number.POSITIVE_INFINITY;
  for (let p = 0; p <= steps; p++) {
    const da = lo - t[a]! + ((hi - lo) * p) / steps;
    for (let q = 0; q <= steps; q++) {
      const db = lo - t[b]! + ((hi - lo) * q) / steps;
      const dj = (-c - w[a]! * da - w[b]! * db) / w[j]!;
      const xj = t[j]! + dj;
      if (xj < lo || xj > hi) continue;
      const delta = [0, 0, 0];
      delta[a] = da;
      delta[b] = db;
      delta[j] = dj;
      best = Math.min(best, normOf(norm, delta));
    }
  }
  return best;
}

test('with the box active (d = 3), the projection is feasible and no feasible grid point is closer', () => {
  const rng = new Rng(5);
  const cases: { t: number[]; w: number[]; c: number; bounds: [number, number] }[] = [];
  for (let i = 0; i < 12; i++) {
    const bounds: [number, number] = i % 3 === 2 ? [-1, 2] : [0, 1];
    const [lo, hi] = bounds;
    // Points near faces and residuals large enough that the unconstrained projection leaves the box.
    const t = [0, 1, 2].map(() => (rng.next() < 0.5 ? lo + 0.05 * rng.next() * (hi - lo) : hi - 0.05 * rng.next() * (hi - lo)));
    const w = [0, 1, 2].map(() => rng.normal());
    const reach = w.reduce((s, v, k) => s + Math.abs(v) * (v > 0 ? hi - t[k]! : t[k]! - lo), 0);
    // −c must be reachable: ⟨w, δ⟩ = −c; pick 30–90% of the largest progress in the direction that has room.
    const target = (0.3 + 0.6 * rng.next()) * reach;
    cases.push({ t, w, c: -target, bounds });
  }
  for (const norm of NORMS) {
    for (const { t, w, c, bounds } of cases) {
      const delta = project(norm, [t], [w], [c], bounds)[0]!;
      assert.ok(Math.abs(dot(w, delta) + c) < 1e-4 * Math.max(1, Math.abs(c)), `${norm}: on the hyperplane (${dot(w, delta)} vs ${-c})`);
      delta.forEach((v, k) => {
        const x = t[k]! + v;
        assert.ok(x >= bounds[0] - 1e-6 && x <= bounds[1] + 1e-6, `${norm}: in the box (${x})`);
      });
      const mine = normOf(norm, delta);
      const brute = bruteForce(norm, t, w, c, bounds);
      // Every grid point is feasible, so the exact minimum is ≤ brute; the grid is fine enough to come within 3%.
      assert.ok(mine <= brute * (1 + 1e-4) + 1e-6, `${norm}: ${mine} > brute force ${brute}`);
      assert.ok(mine >= brute * 0.97 - 1e-3, `${norm}: ${mine} far below brute force ${brute} (grid too coarse?)`);
    }
  }
});

/**
 * A float64 reference by a different method: bisection on the multiplier θ of "move each coordinate by
 * min(θ·ω_i, cap_i)" (L∞: ω = 1, L2: ω = |w|), and for L1 the fractional-knapsack greedy.
 */
function reference(norm: Norm, t: number[], w: number[], c: number, [lo, hi]: [number, number]): number[] {
  const s = c > 0 ? -1 : 1;
  const v = w.map((x) => s * x);
  const cap = v.map((x, k) => (x > 0 ? hi - t[k]! : x < 0 ? t[k]! - lo : 0));
  const r = Math.abs(c);
  const move = (amount: number[]) => amount.map((a, k) => Math.sign(v[k]!) * a);
  if (norm === 'l1') {
    const order = v.map((_, k) => k).sort((p, q) => Math.abs(v[q]!) - Math.abs(v[p]!));
    const amount = v.map(() => 0);
    let left = r;
    for (const k of order) {
      if (left <= 0 || v[k] === 0) break;
      const a = Math.min(cap[k]!, left / Math.abs(v[k]!));
      amount[k] = a;
      left -= a * Math.abs(v[k]!);
    }
    return move(amount);
  }
  const omega = norm === 'linf' ? v.map(() => 1) : v.map(Math.abs);
  const amountAt = (theta: number) => cap.map((cp, k) => (v[k] === 0 ? 0 : Math.min(theta * omega[k]!, cp)));
  const progress = (theta: number) => dot(amountAt(theta), v.map(Math.abs));
  let [a, b] = [0, 1];
  while (progress(b) < r && b < 1e12) b *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = (a + b) / 2;
    if (progress(mid) < r) a = mid;
    else b = mid;
  }
  return move(amountAt(b));
}

test('batched, d = 40, box active: norms match a float64 bisection / greedy reference', () => {
  const rng = new Rng(9);
  const n = 24;
  const d = 40;
  const bounds: [number, number] = [0, 1];
  const t = Array.from({ length: n }, () => Array.from({ length: d }, () => (rng.next() < 0.3 ? rng.next() * 0.05 : rng.next())));
  // Some exact zeros and ties in w (the L1 tie-sharing path and the w_i = 0 guards).
  const w = Array.from({ length: n }, (_, i) =>
    Array.from({ length: d }, (_, k) => (k % 7 === 0 ? 0 : i % 4 === 0 && k % 5 === 1 ? 1.5 : rng.normal())),
  );
  const c = w.map((row, i) => {
    const reach = row.reduce((s, v, k) => s + Math.abs(v) * (v > 0 ? 1 - t[i]![k]! : t[i]![k]!), 0);
    return (i % 2 ? 1 : -1) * (0.05 + 0.5 * rng.next()) * reach * 0.5; // reachable whichever sign: see the check
  });
  for (const norm of NORMS) {
    const got = project(norm, t, w, c, bounds);
    let checked = 0;
    for (let i = 0; i < n; i++) {
      const ref = reference(norm, t[i]!, w[i]!, c[i]!, bounds);
      const feasible = Math.abs(dot(w[i]!, ref) + c[i]!) < 1e-6 * Math.max(1, Math.abs(c[i]!));
      if (!feasible) continue; // the other sign had no room: covered by the infeasible test
      checked++;
      assert.ok(Math.abs(dot(w[i]!, got[i]!) + c[i]!) < 1e-4, `${norm} row ${i}: constraint`);
      const [mine, want] = [normOf(norm, got[i]!), normOf(norm, ref)];
      assert.ok(Math.abs(mine - want) <= 1e-4 * Math.max(1, want), `${norm} row ${i}: ‖δ‖ ${mine} vs reference ${want}`);
      got[i]!.forEach((v, k) => {
        assert.ok(t[i]![k]! + v >= -1e-6 && t[i]![k]! + v <= 1 + 1e-6, `${norm} row ${i}: box`);
        if (w[i]![k] === 0) assert.equal(v, 0, `${norm} row ${i}: a coordinate with w = 0 moved`);
      });
    }
    assert.ok(checked >= n / 2, `${norm}: only ${checked} of ${n} rows feasible`);
  }
});

test('edge cases: a point on the hyperplane stays; a hyperplane beyond the box gives the corner of most progress; w = 0', () => {
  for (const norm of NORMS) {
    const onPlane = project(norm, [[0.2, 0.7, 0.5]], [[1, -2, 0.5]], [0])[0]!;
    assert.deepEqual(
      onPlane.map((v) => Math.abs(v)),
      [0, 0, 0],
      `${norm}: c = 0 → δ = 0`,
    );
    // ⟨w, δ⟩ = −c = 5 is out of reach (at most 0.8·1 + 0.7·2 = 2.2 with w_3 = 0): every useful coordinate goes to its face.
    const far = project(norm, [[0.2, 0.7, 0.5]], [[1, -2, 0]], [-5])[0]!;
    [0.8, -0.7, 0].forEach((v, k) => {
      assert.ok(Math.abs(far[k]! - v) < 1e-6, `${norm}: corner coord ${k}: ${far[k]} vs ${v}`);
    });
    const zero = project(norm, [[0.2, 0.7]], [[0, 0]], [1])[0]!;
    assert.ok(
      zero.every((v) => v === 0),
      `${norm}: w = 0 → no move`,
    );
    const allFinite = project(norm, [[0, 1, 0.5]], [[1e-30, -1e-20, 3]], [-0.3])[0]!;
    assert.ok(allFinite.every(Number.isFinite), `${norm}: tiny |w| stays finite: ${allFinite}`);
  }
});

test('tensors: nothing leaks', () => {
  const before = tf.memory().numTensors;
  const [t, w, c] = [tf.tensor2d([[0.5, 0.5]]), tf.tensor2d([[1, 1]]), tf.tensor1d([0.2])];
  for (const norm of NORMS) projectHyperplaneBox(norm, t, w, c, [0, 1]).dispose();
  tf.dispose([t, w, c]);
  assert.equal(tf.memory().numTensors, before);
});
