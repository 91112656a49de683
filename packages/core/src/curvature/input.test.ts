import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, linearClassifier, trainedMlp } from '../testing/fixtures.ts';
import { threatModel } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import { cureCurvature, elleError, inputTopEigenvalues, linearityError } from './input.ts';

await cpu();

// z = x·W with W = [[1], [1]] (d = 2, one logit): a loss linear in z is linear in x; ½‖z‖² is the quadratic
// ½(x₁ + x₂)², whose Taylor remainder at x is ½(δ₁ + δ₂)².
const model = linearClassifier([[1], [1]], [0], [1, 1, 2]);
const linearLoss = (z: tf.Tensor2D) => tf.reshape(tf.mul(z, 3), [-1]) as tf.Tensor1D;
const quadraticLoss = (z: tf.Tensor2D) => tf.mul(0.5, tf.sum(tf.square(z), 1)) as tf.Tensor1D;
const x = tf.tensor4d([0.5, 0.5, 0.3, 0.6, 0.45, 0.52], [3, 1, 1, 2]);
const y = tf.tensor1d([0, 0, 0], 'int32');
const eps = 0.1;
const threat = threatModel('linf', eps);

test('linearityError is 0 for a linear loss and max ½(δ₁+δ₂)² = 2ε² for the quadratic one', () => {
  const flat = linearityError(model, x, y, threat, { rng: new Rng(1), loss: linearLoss });
  for (const g of flat) assert.ok(g < 1e-5, `linear loss: γ = ${g}`);
  const quad = linearityError(model, x, y, threat, { rng: new Rng(2), loss: quadraticLoss });
  // Sign ascent from a random start reaches the vertex ±(ε, ε); the box [0, 1] is not active at these points.
  for (const g of quad) assert.ok(Math.abs(g - 2 * eps * eps) < 1e-5, `quadratic loss: γ = ${g}, want ${2 * eps * eps}`);
  // An L2 ball of radius ε: the maximum of ½(δ₁+δ₂)² is ½·(√2·ε)² = ε² along (1, 1)/√2.
  const l2 = linearityError(model, x, y, threatModel('l2', eps), { rng: new Rng(3), loss: quadraticLoss, steps: 30 });
  for (const g of l2) assert.ok(Math.abs(g - eps * eps) < 1e-4, `L2: γ = ${g}, want ${eps * eps}`);
});

test('elleError is 0 for a linear loss and (a(1−a)·½(Δ₁+Δ₂)²)² for the quadratic, with the same draws', () => {
  const flat = elleError(model, x, y, threat, { rng: new Rng(4), loss: linearLoss, triples: 3 });
  for (const e of flat) assert.ok(e < 1e-8, `linear loss: ${e}`);
  const got = elleError(model, x, y, threat, { rng: new Rng(5), loss: quadraticLoss });
  // Replay the draws: x_a, x_b (randomInit each), then a.
  const rng = new Rng(5);
  const xa = threat.randomInit(x, rng).dataSync();
  const xb = threat.randomInit(x, rng).dataSync();
  const a = tf.randomUniform([3], 0, 1, 'float32', rng.seed()).dataSync();
  for (let i = 0; i < 3; i++) {
    const delta = xa[2 * i]! - xb[2 * i]! + (xa[2 * i + 1]! - xb[2 * i + 1]!);
    const want = (a[i]! * (1 - a[i]!) * 0.5 * delta * delta) ** 2;
    // The error is a difference of losses near 0.5 in float32: compare its square root to a few ulps of them.
    assert.ok(Math.abs(Math.sqrt(got[i]!) - Math.sqrt(want)) < 1e-6, `example ${i}: ${got[i]} vs ${want}`);
  }
});

test('cureCurvature is h·‖WᵀW·z‖ for the quadratic loss, 0 for a linear one', () => {
  const h = 0.3;
  const flat = cureCurvature(model, x, y, { h, loss: linearLoss });
  for (const c of flat) assert.ok(c < 1e-6);
  // ∇ = WᵀW·x = (s, s) with s = x₁ + x₂ > 0, so z = (1, 1)/√2 and WᵀW·z = (√2, √2): ‖h·WᵀWz‖ = 2h.
  const quad = cureCurvature(model, x, y, { h, loss: quadraticLoss });
  for (const c of quad) assert.ok(Math.abs(c - 2 * h) < 1e-5, `${c} vs ${2 * h}`);
  assert.throws(() => cureCurvature(model, x, y, { h: 0 }), /h/);
});

test('input measures on a trained MLP: positive, finite, larger ε gives larger γ, and tensors are freed', () => {
  const { classifier, test: data } = trainedMlp(3);
  const xs = tf.tensor4d(data.images.slice(0, 64 * 8), [64, 1, 1, 8]);
  const ys = tf.tensor1d(data.labels.slice(0, 64), 'int32');
  const before = tf.memory().numTensors;
  const top = inputTopEigenvalues(classifier, xs, ys, { rng: new Rng(1) });
  const small = linearityError(classifier, xs, ys, threatModel('linf', 0.02), { rng: new Rng(2) });
  const large = linearityError(classifier, xs, ys, threatModel('linf', 0.2), { rng: new Rng(2) });
  const elle = elleError(classifier, xs, ys, threatModel('linf', 0.2), { rng: new Rng(3) });
  const cure = cureCurvature(classifier, xs, ys, { h: 0.2 * Math.sqrt(8) });
  assert.equal(tf.memory().numTensors, before);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  for (const [name, v] of Object.entries({ top: top.values, small, large, elle, cure })) {
    assert.equal(v.length, 64);
    assert.ok(
      v.every((t) => Number.isFinite(t) && t >= -1e-6),
      `${name}: finite and ≥ 0`,
    );
  }
  assert.ok(mean(large) > mean(small), `γ(0.2) = ${mean(large)} vs γ(0.02) = ${mean(small)}`);
  assert.ok(mean(top.values) > 0);
  tf.dispose([xs, ys]);
});
