import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { BLOB_DIMS as d, blobModel, blobTrain } from '../testing/training.ts';
import { crossEntropy } from '../losses/losses.ts';
import { Rng } from '../util/rng.ts';
import { makeObjective, type Forward } from './objectives.ts';
import { makeOptimizer, trainableVariables } from './optim.ts';
import { trainingStep, type StepTarget } from './step.ts';

await cpu();

const x = tf.tensor4d(blobTrain.images.subarray(0, 32 * d), [32, 1, 1, d]);
const y = tf.tensor1d(blobTrain.labels.subarray(0, 32), 'int32');

function target(weightDecay = 0, lr = 0.01): StepTarget & { dispose(): void } {
  const model = blobModel();
  const forward: Forward = (xx, training) => model.apply(xx, { training }) as tf.Tensor2D;
  const optimizer = makeOptimizer('adam', lr);
  return {
    forward,
    optimizer,
    vars: trainableVariables(model),
    weightDecay,
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}

const flat = (vars: tf.Variable[]) => vars.flatMap((v) => Array.from(v.dataSync()));

test('one step: the loss before the update, an update, hits of the updated model on the same points', () => {
  const t = target();
  const before = flat(t.vars);
  const ce = tf.tidy(() => tf.mean(crossEntropy(t.forward(x, true), y)).dataSync()[0]!);
  const r = trainingStep(t, makeObjective({ method: 'standard' }, 0), x, y, { eps: 0, rng: new Rng(1) });
  assert.ok(Math.abs(r.loss - ce) < 1e-6, `loss ${r.loss} vs cross-entropy ${ce}`);
  assert.notDeepEqual(flat(t.vars), before, 'the weights moved');
  const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(t.forward(x, false), 1), y), 'int32')).dataSync()[0]!);
  assert.equal(r.hits, hits);
  assert.ok(!x.isDisposed && !y.isDisposed, 'the batch stays the caller’s');
  t.dispose();
});

test('weight decay adds λ/2·Σw² to the reported loss', () => {
  const plain = target(0);
  const decayed = target(0.1);
  const sq = tf.tidy(() => tf.addN(decayed.vars.map((v) => tf.sum(tf.square(v)))).dataSync()[0]!);
  const obj = makeObjective({ method: 'standard' }, 0);
  const a = trainingStep(plain, obj, x, y, { eps: 0, rng: new Rng(1) });
  const b = trainingStep(decayed, obj, x, y, { eps: 0, rng: new Rng(1) });
  assert.ok(Math.abs(b.loss - a.loss - 0.05 * sq) < 1e-5, `${b.loss} − ${a.loss} vs ${0.05 * sq}`);
  plain.dispose();
  decayed.dispose();
});

test('an adversarial step draws from ctx.rng and leaves no tensors behind', () => {
  const t = target();
  const obj = makeObjective({ method: 'fgsm-rs' }, 0.05);
  const rng = new Rng(3);
  trainingStep(t, obj, x, y, { eps: 0.05, rng }); // the optimiser creates its slots on the first step
  assert.notEqual(rng.state, new Rng(3).state, 'the random start came from the run’s RNG');
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const r = trainingStep(t, obj, x, y, { eps: 0.05, rng });
    assert.ok(Number.isFinite(r.loss) && r.hits >= 0 && r.hits <= 32);
  }
  assert.equal(tf.memory().numTensors, before);
  t.dispose();
});
