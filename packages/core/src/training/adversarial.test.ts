import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import {
  assertResumeReproduces,
  BLOB_DIMS as d,
  blobConfig,
  blobHeldOut as heldOut,
  blobModel,
  blobTrain as train,
} from '../testing/training.ts';
import { createModel } from '../models/zoo.ts';
import { Rng } from '../util/rng.ts';
import { gradAlignPenalty, makeObjective, METHODS, type Forward } from './objectives.ts';
import { hooksReporter, type MetricsLine, trainAdversarial } from './adversarial.ts';
import { makeOptimizer, trainableVariables } from './optim.ts';
import { MemoryTrainingStore } from './store.ts';

await cpu();

test('each method lowers its own adversarial loss on a tiny problem', () => {
  const x = tf.tensor4d(train.images.subarray(0, 64 * d), [64, 1, 1, d]);
  const y = tf.tensor1d(train.labels.subarray(0, 64), 'int32');
  for (const { name } of METHODS) {
    const model = createModel('mlp', { inputShape: [1, 1, d], numClasses: 4, seed: 5, hidden: 32, init: 'he' });
    const forward: Forward = (xx, training) => model.apply(xx, { training }) as tf.Tensor2D;
    const obj = makeObjective({ method: name, steps: 3 }, 0.05);
    const measure = () => {
      const rng = new Rng(1);
      const p = obj.prepare(forward, x, y, { eps: 0.05, rng });
      const l = tf.tidy(() => obj.loss(forward, x, y, p, { eps: 0.05, rng }).dataSync()[0]!);
      tf.dispose(p);
      return l;
    };
    const before = measure();
    const opt = makeOptimizer('adam', 0.01);
    const vars = trainableVariables(model);
    const rng = new Rng(2);
    for (let s = 0; s < 25; s++) {
      const p = obj.prepare(forward, x, y, { eps: 0.05, rng });
      tf.tidy(() => {
        opt.minimize(() => obj.loss(forward, x, y, p, { eps: 0.05, rng }), false, vars);
      });
      tf.dispose(p);
    }
    const after = measure();
    assert.ok(after < 0.8 * before, `${name}: loss ${before.toFixed(4)} → ${after.toFixed(4)}`);
    opt.dispose();
    model.dispose();
  }
  tf.dispose([x, y]);
});

test("GradAlign's regulariser gradient matches finite differences (double backprop)", () => {
  const rng = new Rng(3);
  const W1 = tf.variable(tf.randomNormal([d, 6], 0, 0.7, 'float32', rng.seed()));
  const W2 = tf.variable(tf.randomNormal([6, 4], 0, 0.7, 'float32', rng.seed()));
  // Smooth (tanh) so second derivatives are informative; the penalty differentiates input gradients.
  const forward: Forward = (xx) => tf.matMul(tf.tanh(tf.matMul(tf.reshape(xx, [xx.shape[0], d]), W1)), W2) as tf.Tensor2D;
  const x = tf.tensor4d(train.images.subarray(0, 16 * d), [16, 1, 1, d]);
  const y = tf.tensor1d(train.labels.subarray(0, 16), 'int32');
  const eta = tf.randomUniform([16, 1, 1, d], -0.1, 0.1, 'float32', rng.seed()) as tf.Tensor4D;
  const penalty = () => gradAlignPenalty(forward, x, y, eta);
  const { grads } = tf.variableGrads(penalty, [W1]);
  const g = grads[W1.name]!.dataSync();
  const w = W1.dataSync().slice();
  const h = 1e-2;
  let worst = 0;
  for (const k of [0, 5, 11, 23, 37, 47]) {
    const plus = w.slice();
    plus[k]! += h;
    const minus = w.slice();
    minus[k]! -= h;
    W1.assign(tf.tensor2d(plus, [d, 6]));
    const fp = tf.tidy(() => penalty().dataSync()[0]!);
    W1.assign(tf.tensor2d(minus, [d, 6]));
    const fm = tf.tidy(() => penalty().dataSync()[0]!);
    W1.assign(tf.tensor2d(w, [d, 6]));
    const fd = (fp - fm) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - g[k]!) / Math.max(1e-3, Math.abs(fd)));
  }
  assert.ok(worst < 0.05, `relative error ${worst}`);
  const gNorm = Math.hypot(...g);
  assert.ok(gNorm > 1e-4, 'the regulariser has a non-zero weight gradient');
});

const config = blobConfig;
const newModel = blobModel;

test('resume after a crash mid-epoch (store kept in memory) produces the same metrics as an uninterrupted run', async () => {
  const kept = new MemoryTrainingStore();
  await assertResumeReproduces(new MemoryTrainingStore(), () => kept);
  assert.ok(kept.savedModel('model') && kept.savedModel('best'), 'final and best models stored');
});

test('tf.js memory: numTensors does not grow across adversarial training epochs', async () => {
  const model = newModel();
  const c = config({ method: 'pgd', steps: 2, epochs: 1, evalEvery: 0 });
  const r1 = new MemoryTrainingStore();
  await trainAdversarial(model, train, heldOut, c, r1, {});
  r1.dispose();
  const before = tf.memory().numTensors;
  const r2 = new MemoryTrainingStore();
  await trainAdversarial(model, train, heldOut, c, r2, {});
  const heldAfterOneEpoch = tf.memory().numTensors - before;
  const r3 = new MemoryTrainingStore();
  await trainAdversarial(model, train, heldOut, { ...c, epochs: 2 }, r3, {});
  assert.equal(tf.memory().numTensors - before, 2 * heldAfterOneEpoch, 'a store holds one checkpoint, best and final, whatever the epochs');
  r2.dispose();
  r3.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('standard training through the same loop: loss falls, deterministic per seed, typed option errors', async () => {
  const c = config({ method: 'standard', epochs: 5, evalEvery: 0, schedule: 'constant' });
  const weights = async (seed: number) => {
    const run = new MemoryTrainingStore();
    const model = newModel();
    const r = await trainAdversarial(model, train, heldOut, { ...c, seed }, run, {});
    return { w: model.getWeights().flatMap((t) => Array.from(t.dataSync())), m: r.metrics };
  };
  const a = await weights(1);
  const b = await weights(1);
  const other = await weights(2);
  assert.ok(a.m.at(-1)!.loss < 0.7 * a.m[0]!.loss, `loss ${a.m.map((l) => l.loss.toFixed(3))}`);
  assert.ok(a.m.at(-1)!.clean_acc > 0.8, `held-out clean accuracy ${a.m.at(-1)!.clean_acc}`);
  assert.deepEqual(a.w, b.w, 'same seed, same weights');
  assert.notDeepEqual(a.w, other.w);
  const run = new MemoryTrainingStore();
  await assert.rejects(trainAdversarial(newModel(), train, heldOut, { ...c, epochs: 0 }, run, {}), { message: /^epochs: / });
  await assert.rejects(trainAdversarial(newModel(), train, heldOut, { ...c, batchSize: 0 }, run, {}), { message: /^batchSize: / });
  await assert.rejects(trainAdversarial(newModel(), train, heldOut, { ...c, lr: -1 }, run, {}), { message: /^lr: / });
});

test('a run that never leaves chance is marked at_chance on its end-of-epoch lines; a learning run is not', async () => {
  // All-zero weights and a vanishing learning rate: constant logits, loss ln 4, accuracy = class 0's share.
  const dead = newModel();
  dead.setWeights(dead.getWeights().map((w) => tf.zerosLike(w)));
  const run = new MemoryTrainingStore();
  const events: string[] = [];
  const r = await trainAdversarial(dead, train, heldOut, config({ epochs: 2, lr: 1e-9 }), run, {}, { onEvent: (e) => events.push(e) });
  const epochEnds = r.metrics.filter((l) => l.step % 8 === 0);
  assert.equal(epochEnds.length, 2);
  for (const l of epochEnds) assert.equal(l.at_chance, true, `epoch ${l.epoch}: clean ${l.clean_acc}, loss ${l.loss}`);
  assert.ok(
    r.metrics.filter((l) => l.step % 8 !== 0).every((l) => l.at_chance === undefined),
    'only whole epochs are judged',
  );
  assert.equal(events.filter((e) => /still at chance/.test(e)).length, 2);

  const alive = new MemoryTrainingStore();
  const learning = config({ epochs: 3, method: 'standard', schedule: 'constant' });
  const a = await trainAdversarial(newModel(), train, heldOut, learning, alive, {});
  assert.ok(a.metrics.at(-1)!.clean_acc > 0.5, `the fixture learns: clean ${a.metrics.at(-1)!.clean_acc}`);
  assert.ok(a.metrics.every((l) => l.at_chance === undefined));
});

test('hooksReporter: steps reach onBatch with the run’s epoch count, held-out lines onMetrics, events onEvent', async () => {
  const seen: unknown[] = [];
  const hooks = {
    prefix: 'h',
    onBatch(p: unknown) {
      seen.push([this.prefix, p]);
    },
    onMetrics: (m: { step: number }) => void seen.push(['metrics', m.step]),
  };
  const r = hooksReporter(hooks, 7);
  await r.onStep!({ epoch: 2, step: 9, batch: 1, batches: 8, loss: 0.5, advAcc: 0.25, align: 0.9 });
  await r.onHeldOut!({ step: 12 } as MetricsLine);
  await r.onEvent!('no onEvent hook: ignored');
  assert.deepEqual(seen, [
    ['h', { epoch: 2, epochs: 7, batch: 1, batches: 8, loss: 0.5, advAcc: 0.25, align: 0.9 }],
    ['metrics', 12],
  ]);
});
