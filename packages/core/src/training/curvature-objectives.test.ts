import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from '../losses/losses.ts';
import { cpu, mlpClassifier } from '../testing/fixtures.ts';
import { assertResumeReproduces, blobConfig, blobHeldOut, blobModel, blobTrain } from '../testing/training.ts';
import { Rng } from '../util/rng.ts';
import { trainAdversarial } from './adversarial.ts';
import { ADAPTIVE_WEIGHT_START, elleBatchError, elleDefaultLambda, nextAdaptiveWeight } from './curvature-objectives.ts';
import { makeObjective, type Forward } from './objectives.ts';
import { MemoryTrainingStore } from './store.ts';

await cpu();

test("nextAdaptiveWeight: off until an error 2σ above the earlier ones' mean (after 3), then λ_max decaying", () => {
  const o = { max: 100, sensitivity: 2, decay: 0.5 };
  const errors = [1, 1.2, 0.8, 10, 1, 1];
  let s = ADAPTIVE_WEIGHT_START;
  const weights: number[] = [];
  for (const e of errors) {
    s = nextAdaptiveWeight(s, e, o);
    weights.push(s.weight);
  }
  // 3 errors seen before the 10: mean 1, population σ ≈ 0.163, so 10 is a spike; the next two decay.
  assert.deepEqual(weights, [0, 0, 0, 100, 50, 25]);
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  assert.equal(s.count, errors.length);
  assert.ok(Math.abs(s.mean - mean) < 1e-12);
  assert.ok(Math.abs(s.m2 - errors.reduce((a, e) => a + (e - mean) ** 2, 0)) < 1e-9);
  // Two earlier errors are too few to call a spike, however large the third.
  let t = nextAdaptiveWeight(nextAdaptiveWeight(ADAPTIVE_WEIGHT_START, 1, o), 1, o);
  t = nextAdaptiveWeight(t, 1000, o);
  assert.equal(t.weight, 0);
});

test("elleBatchError is ELLE's mean squared gap between the loss at x_c and the chord, from one forward pass", () => {
  const { classifier } = mlpClassifier(6, 8, 3, 2, [1, 1, 6]);
  const f: Forward = (x) => classifier.logits(x);
  const rng = new Rng(3);
  const xa = tf.tensor4d(
    Array.from({ length: 5 * 6 }, () => rng.next()),
    [5, 1, 1, 6],
  );
  const xb = tf.tensor4d(
    Array.from({ length: 5 * 6 }, () => rng.next()),
    [5, 1, 1, 6],
  );
  const av = [0.1, 0.5, 0.9, 0.3, 0.7];
  const a = tf.tensor4d(av, [5, 1, 1, 1]);
  const y = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
  const got = tf.tidy(() => elleBatchError(f, y, xa, xb, a).dataSync()[0]!);
  const want = tf.tidy(() => {
    const ce = (x: tf.Tensor4D) => crossEntropy(classifier.logits(x), y).dataSync();
    const [la, lb] = [ce(xa), ce(xb)];
    const lc = ce(tf.add(tf.mul(xa, tf.sub(1, a)), tf.mul(xb, a)) as tf.Tensor4D);
    return av.reduce((s, w, i) => s + (lc[i]! - (1 - w) * la[i]! - w * lb[i]!) ** 2, 0) / 5;
  });
  // A squared difference of float32 losses near 1: compare the gap itself to a few of their ulps.
  assert.ok(Math.abs(Math.sqrt(got) - Math.sqrt(want)) < 1e-6, `${got} vs ${want}`);
  tf.dispose([xa, xb, a, y]);
});

test('the curvature methods train: finite losses, tensors freed, costs and published defaults as documented', async () => {
  assert.deepEqual([0.02, 16 / 255, 0.2].map(elleDefaultLambda), [1000, 5000, 10000]);
  const costs: Record<string, number> = {};
  for (const method of ['elle', 'elle-a', 'cure', 'llr', 'gradalign'] as const) {
    for (const fgsmInit of ['zero', 'random'] as const) {
      if (method === 'llr' && fgsmInit === 'random') continue; // LLR has no FGSM point
      const c = blobConfig({ method, fgsmInit, epochs: 1, steps: 2, lambda: method === 'llr' ? 4 : 5 });
      const before = tf.memory().numTensors;
      const store = new MemoryTrainingStore();
      const r = await trainAdversarial(blobModel(), blobTrain, blobHeldOut, c, store, {});
      for (const l of r.metrics) assert.ok(Number.isFinite(l.loss), `${method}/${fgsmInit}: loss ${l.loss}`);
      store.dispose();
      assert.ok(tf.memory().numTensors - before < 40, `${method}: the run's own model and optimiser only`);
      costs[method] = makeObjective(c, c.eps).cost;
    }
  }
  assert.deepEqual(costs, { elle: 5, 'elle-a': 5, cure: 4, llr: 6, gradalign: 4 });
});

test('ELLE-A: the adaptive weight is checkpointed, and a run killed mid-epoch resumes to the same metrics', async () => {
  // A small λ_max and a fast learning rate so the weight switches on within the 3 short epochs.
  const over = { method: 'elle-a' as const, lambda: 20, lr: 0.05 };
  const store = new MemoryTrainingStore();
  await trainAdversarial(blobModel(), blobTrain, blobHeldOut, blobConfig(over), store, {});
  const state = await store.restoreCheckpoint(store.latestCheckpoint()!, blobModel(), tf.train.adam(0.01));
  assert.ok(state.regularizer, 'the state carries the weight');
  assert.equal(state.regularizer!.count, state.step, 'one error per step');
  assert.ok(state.regularizer!.weight > 0, `the weight switched on (now ${state.regularizer!.weight})`);
  store.dispose();
  const kept = new MemoryTrainingStore();
  await assertResumeReproduces(new MemoryTrainingStore(), () => kept, over);
});

test('GradAlign --fgsm-init zero keeps its stream of random numbers: the same run as before the option existed', async () => {
  const a = await trainAdversarial(
    blobModel(),
    blobTrain,
    blobHeldOut,
    blobConfig({ method: 'gradalign', epochs: 1 }),
    new MemoryTrainingStore(),
    {},
  );
  const b = await trainAdversarial(
    blobModel(),
    blobTrain,
    blobHeldOut,
    blobConfig({ method: 'gradalign', epochs: 1, fgsmInit: 'zero' }),
    new MemoryTrainingStore(),
    {},
  );
  const strip = (m: typeof a.metrics) => m.map(({ seconds: _s, examples_per_s: _e, ...rest }) => rest);
  assert.deepEqual(strip(b.metrics), strip(a.metrics));
  const c = await trainAdversarial(
    blobModel(),
    blobTrain,
    blobHeldOut,
    blobConfig({ method: 'gradalign', epochs: 1, fgsmInit: 'random' }),
    new MemoryTrainingStore(),
    {},
  );
  assert.notDeepEqual(strip(c.metrics), strip(a.metrics));
});
