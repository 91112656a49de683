import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, mlpClassifier } from '../testing/fixtures.ts';
import { assertResumeReproduces, blobConfig, blobHeldOut, blobModel, blobTrain } from '../testing/training.ts';
import { Rng } from '../util/rng.ts';
import { trainAdversarial } from './adversarial.ts';
import { hessianDiagonal, sampleLabels, SophiaOptimizer } from './sophia.ts';
import { MemoryTrainingStore } from './store.ts';

await cpu();

test('SophiaOptimizer: m, decoupled decay and the clipped step sign(m)·min(|m|/(ρh), 1), by hand', async () => {
  const w = tf.variable(tf.tensor1d([1, -2, 0.5, 3]));
  const opt = new SophiaOptimizer({ learningRate: 0.1, beta1: 0.5, beta2: 0.5, rho: 0.1, weightDecay: 0.2, hessianEvery: 2 });
  assert.ok(opt.dueForHessian(), 'step 0 refreshes h');
  opt.refreshHessian([w], [tf.tensor1d([4, 0, 40, 1])]); // h = 0.5·0 + 0.5·ĥ = [2, 0, 20, 0.5]
  const g = tf.tensor1d([0.2, -0.3, 1, 0.002]);
  opt.applyGradients({ [w.name]: g });
  // m = 0.5·g = [0.1, −0.15, 0.5, 0.001]; ratio = |m| / (0.1·h + 1e-15) = [0.5, huge, 0.25, 0.02];
  // θ·(1 − 0.1·0.2) − 0.1·sign(m)·min(ratio, 1)
  const m = [0.1, -0.15, 0.5, 0.001];
  const h = [2, 0, 20, 0.5];
  const want = [1, -2, 0.5, 3].map(
    (v, i) => v * (1 - 0.02) - 0.1 * Math.sign(m[i]!) * Math.min(Math.abs(m[i]!) / (0.1 * h[i]! + 1e-15), 1),
  );
  const got = Array.from(w.dataSync());
  for (const [i, v] of got.entries()) assert.ok(Math.abs(v - want[i]!) < 1e-6, `θ[${i}] = ${v}, want ${want[i]}`);
  assert.equal(opt.unclippedFraction(), 3 / 4);
  assert.equal(opt.iterations, 1);
  assert.ok(!opt.dueForHessian(), 'step 1 does not');
  const saved = await opt.getWeights();
  assert.deepEqual(
    saved.map((s) => s.name),
    ['iter', `${w.name}/m`, `${w.name}/h`],
  );
  const restored = new SophiaOptimizer({ learningRate: 0.1, beta1: 0.5, beta2: 0.5, rho: 0.1, hessianEvery: 2 });
  await restored.setWeights(saved.map((s) => ({ name: s.name, tensor: tf.clone(s.tensor) })));
  assert.equal(restored.iterations, 1);
  assert.ok(restored.dueForHessian() === false);
  const again = await restored.getWeights();
  assert.deepEqual(Array.from(again[2]!.tensor.dataSync()), h);
  tf.dispose([w, g]);
  opt.dispose();
  restored.dispose();
});

test('hessianDiagonal: GNB is B·ĝ² for labels drawn from the softmax; Hutchinson averages to the Hessian diagonal', () => {
  const { classifier, vars } = mlpClassifier(3, 4, 3, 5, [1, 1, 3]);
  const variables = [vars.w2, vars.b2]; // the last layer: its Hessian diagonal has a closed form
  const rng = new Rng(1);
  const x = tf.tensor4d(
    Array.from({ length: 6 * 3 }, () => rng.next()),
    [6, 1, 1, 3],
  );
  const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
  const before = tf.memory().numTensors;
  const gnb = hessianDiagonal('gnb', classifier.logits, variables, x, y, new Rng(2));
  assert.deepEqual(
    gnb.map((t) => t.shape),
    [vars.w2.shape, vars.b2.shape],
  );
  assert.ok(gnb.every((t) => t.dataSync().every((v) => v >= 0 && Number.isFinite(v))));
  tf.dispose(gnb);
  // The bias b2's Hessian of the mean CE is mean over examples of diag(p) − ppᵀ, whose diagonal is mean p(1 − p):
  // the Gauss-Newton matrix equals it for the last layer, so the GNB estimates average to it as well.
  const p = tf.tidy(() => tf.softmax(classifier.logits(x)).arraySync() as number[][]);
  const exact = [0, 1, 2].map((c) => p.reduce((s, row) => s + row[c]! * (1 - row[c]!), 0) / 6);
  const average = (estimator: 'gnb' | 'hutchinson', draws: number) => {
    const sum = [0, 0, 0];
    const r = new Rng(3);
    for (let i = 0; i < draws; i++) {
      const est = hessianDiagonal(estimator, classifier.logits, variables, x, y, r);
      est[1]!.dataSync().forEach((v, c) => {
        sum[c]! += v / draws;
      });
      tf.dispose(est);
    }
    return sum;
  };
  const hutch = average('hutchinson', 400);
  for (const [c, v] of hutch.entries())
    assert.ok(Math.abs(v - exact[c]!) < 0.15 * exact[c]! + 0.01, `Hutchinson b2[${c}] ${v} vs ${exact[c]}`);
  const g = average('gnb', 3000);
  for (const [c, v] of g.entries()) assert.ok(Math.abs(v - exact[c]!) < 0.15 * exact[c]! + 0.01, `GNB b2[${c}] ${v} vs ${exact[c]}`);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y, ...Object.values(vars)]);
});

test('Sophia trains the blob problem, logs its unclipped fraction, and a killed run resumes to the same metrics', async () => {
  const over = { optimizer: 'sophia' as const, method: 'standard' as const, lr: 0.03, hessianEvery: 3 };
  const r = await trainAdversarial(blobModel(), blobTrain, blobHeldOut, blobConfig({ ...over, epochs: 3 }), new MemoryTrainingStore(), {});
  for (const l of r.metrics) assert.ok(l.unclipped_fraction! >= 0 && l.unclipped_fraction! <= 1, String(l.unclipped_fraction));
  assert.ok(r.metrics.at(-1)!.clean_acc > 0.8, `learns: ${r.metrics.at(-1)!.clean_acc}`);
  const kept = new MemoryTrainingStore();
  await assertResumeReproduces(new MemoryTrainingStore(), () => kept, over);
  // Hutchinson's estimator also runs inside the loop.
  const h = await trainAdversarial(
    blobModel(),
    blobTrain,
    blobHeldOut,
    blobConfig({ ...over, epochs: 1, hessianEstimator: 'hutchinson' }),
    new MemoryTrainingStore(),
    {},
  );
  assert.ok(h.metrics.every((l) => Number.isFinite(l.loss)));
});

test('sampleLabels draws each row independently from its own softmax', () => {
  const logits = tf.tensor2d([
    [0.1, 0.5, -0.3],
    [1, 0, 0],
    [0, 0, 2],
  ]);
  const p = tf.tidy(() => tf.softmax(logits).arraySync() as number[][]);
  const rng = new Rng(11);
  const draws = 6000;
  const counts = p.map(() => [0, 0, 0]);
  let same = 0;
  for (let i = 0; i < draws; i++) {
    const d = tf.tidy(() => sampleLabels(logits, rng).dataSync());
    for (const [row, c] of d.entries()) counts[row]![c]!++;
    if (d[0] === d[1]) same++;
  }
  for (const [r, row] of counts.entries()) {
    for (const [k, c] of row.entries())
      assert.ok(Math.abs(c / draws - p[r]![k]!) < 0.025, `row ${r} class ${k}: ${c / draws} vs ${p[r]![k]}`);
  }
  // Independent rows agree with probability Σ_k p0k·p1k; rows driven by one shared uniform would agree far more often.
  const agree = p[0]!.reduce((s, v, k) => s + v * p[1]![k]!, 0);
  assert.ok(Math.abs(same / draws - agree) < 0.025, `rows 0 and 1 agree ${same / draws}, independent: ${agree}`);
  logits.dispose();
});
