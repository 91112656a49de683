// Whole zoo models on onednn vs the cpu reference: input gradients and every weight gradient of the
// cross-entropy, a second-order gradient, and no tensor / buffer leaks over 100 training steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { useBackend } from '@advlab/node';
import { createModel, type ModelName } from '@advlab/core';
import { poolStats } from './backend.ts';
import { kernelStats } from './kernels/util.ts';
import { randomArray, relErr, Rng, SKIP, trainableVariables } from './test-util.ts';

/** Mean cross-entropy as logSumExp(z) − z_y (tf.js's logSoftmax has no usable second order). */
function crossEntropy(logits: tf.Tensor, onehot: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, onehot), -1)));
}

interface Setup {
  model: tfl.LayersModel;
  x: Float32Array;
  xShape: number[];
  onehot: Float32Array;
}

function setup(name: ModelName, batch: number, seed: number): Setup {
  const inputShape: [number, number, number] = name === 'resnet' ? [32, 32, 3] : [28, 28, 1];
  const rng = new Rng(seed);
  const x = randomArray(rng, batch * inputShape.reduce((a, b) => a * b)).map((v) => Math.min(1, Math.abs(v) / 2));
  const onehot = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) onehot[i * 10 + rng.int(10)] = 1;
  return { model: createModel(name, { inputShape, numClasses: 10, seed }), x, xShape: [batch, ...inputShape], onehot };
}

/** [∇ₓ CE, ∇θ CE for every trainable weight], as plain arrays, on the active backend. */
function gradients(s: Setup): Float32Array[] {
  const vars = trainableVariables(s.model);
  return tf.tidy(() => {
    const x = tf.tensor(s.x, s.xShape),
      y = tf.tensor2d(s.onehot, [s.xShape[0]!, 10]);
    const loss = (xx: tf.Tensor) => crossEntropy(s.model.apply(xx, { training: true }) as tf.Tensor, y);
    const gx = tf.grad(loss)(x);
    const { grads } = tf.variableGrads(() => loss(x), vars);
    return [gx, ...vars.map((v) => grads[v.name]!)].map((t) => Float32Array.from(t.dataSync()));
  });
}

const MODELS: [ModelName, number][] = [
  ['wong-cnn', 8],
  ['cnn', 4],
  ['mlp', 16],
  ['resnet', 2],
];

for (const [name, batch] of MODELS) {
  test(`${name}: input and weight gradients of CE on onednn match cpu`, { skip: SKIP }, async () => {
    const s = setup(name, batch, 11);
    await useBackend('cpu');
    const want = gradients(s);
    await useBackend('onednn');
    const before = kernelStats();
    const got = gradients(s);
    const names = ['x', ...trainableVariables(s.model).map((v) => v.name)];
    got.forEach((g, i) => {
      const e = relErr(g, want[i]!);
      assert.ok(e <= 1e-4, `${name}: gradient of ${names[i]}: relative error ${e}`);
    });
    const after = kernelStats();
    for (const [k, c] of Object.entries(after)) {
      assert.equal(c.errors, before[k]?.errors ?? 0, `${k}: native errors (${c.lastError})`);
    }
    s.model.dispose();
  });
}

test('wong-cnn: second order, ∇ₓ Σ(∇ₓ CE)², on onednn matches cpu', { skip: SKIP }, async () => {
  const s = setup('wong-cnn', 4, 12);
  const run = () =>
    tf.tidy(() => {
      const y = tf.tensor2d(s.onehot, [4, 10]);
      const inner = (xx: tf.Tensor) => tf.grad((z: tf.Tensor) => crossEntropy(s.model.apply(z) as tf.Tensor, y))(xx);
      return Float32Array.from(
        tf
          .grad((xx: tf.Tensor) => tf.sum(tf.square(inner(xx))))(tf.tensor(s.x, s.xShape))
          .dataSync(),
      );
    });
  await useBackend('cpu');
  const want = run();
  await useBackend('onednn');
  const got = run();
  assert.ok(
    want.some((v) => v !== 0),
    'non-trivial second-order gradient',
  );
  const e = relErr(got, want);
  assert.ok(e <= 1e-4, `relative error ${e}`);
  s.model.dispose();
});

test('100 wong-cnn training steps leak neither tensors nor pooled buffers', { skip: SKIP }, async () => {
  await useBackend('onednn');
  const s = setup('wong-cnn', 32, 13);
  const vars = trainableVariables(s.model);
  const opt = tf.train.sgd(0.05);
  const x = tf.tensor(s.x, s.xShape),
    y = tf.tensor2d(s.onehot, [32, 10]);
  const step = () =>
    tf.tidy(() => {
      const loss = opt.minimize(() => crossEntropy(s.model.apply(x, { training: true }) as tf.Tensor, y), true, vars)!;
      return loss.dataSync()[0]!;
    });
  const first = step();
  for (let i = 0; i < 4; i++) step();
  const tensors = tf.memory().numTensors;
  const pool5 = poolStats()!;
  let last = first;
  for (let i = 5; i < 100; i++) last = step();
  const pool100 = poolStats()!;
  assert.equal(tf.memory().numTensors, tensors, 'tensor count grew');
  assert.ok(pool100.outstanding <= pool5.outstanding, `outstanding buffers grew: ${pool5.outstanding} -> ${pool100.outstanding}`);
  assert.ok(pool100.idleBuffers <= pool5.idleBuffers + pool5.outstanding, 'idle buffers grew');
  if (pool100.enabled) assert.ok(pool100.hits - pool5.hits > 95 * 10, `pool hits ${pool100.hits - pool5.hits}`);
  assert.ok(last < first, `loss went down: ${first} -> ${last}`);
  tf.dispose([x, y]);
  opt.dispose();
  s.model.dispose();
});
