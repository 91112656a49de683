import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { ModelFormatError, ShapeError } from '../errors.ts';
import { createModel } from './zoo.ts';
import { classifierFromLayersModel, PROB_FLOOR } from './classifier.ts';

await tf.setBackend('cpu');

function softmaxModel(): tfl.LayersModel {
  return tfl.sequential({
    name: 'sm',
    layers: [
      tfl.layers.flatten({ inputShape: [4, 4, 1] }),
      tfl.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
}

test('zoo model: logits equal model.predict exactly; shape info and name', () => {
  const m = createModel('wong-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const c = classifierFromLayersModel(m, { name: 'mnist-wong' });
  assert.equal(c.name, 'mnist-wong');
  assert.equal(c.numClasses, 10);
  assert.deepEqual(c.inputShape, [28, 28, 1]);
  assert.equal(c.outputsProbabilities, false);
  assert.equal(classifierFromLayersModel(m).name, 'wong-cnn');
  const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const z = c.logits(x);
  const p = m.predict(x) as tf.Tensor;
  assert.deepEqual(z.shape, [3, 10]);
  assert.deepEqual(Array.from(z.dataSync()), Array.from(p.dataSync()));
  tf.dispose([x, z, p]);
  m.dispose();
});

test('softmax model: outputsProbabilities, logits are log-probabilities (exp sums to 1 per row)', () => {
  const m = softmaxModel();
  const c = classifierFromLayersModel(m);
  assert.equal(c.outputsProbabilities, true);
  const x = tf.randomUniform([6, 4, 4, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const z = c.logits(x);
  assert.deepEqual(z.shape, [6, 5]);
  const e = tf.sum(tf.exp(z), 1).dataSync();
  for (const s of e) assert.ok(Math.abs(s - 1) < 1e-5, `row sums to ${s}`);
  // exactly log(p), and all negative (p < 1)
  const p = (m.predict(x) as tf.Tensor).dataSync();
  const zv = z.dataSync();
  for (let i = 0; i < p.length; i++) {
    assert.ok(Math.abs(zv[i]! - Math.log(p[i]!)) < 1e-6);
    assert.ok(zv[i]! <= 0);
  }
  tf.dispose([x, z]);
  // forcing the flag on a logits model applies the log, clipped at 1e-12
  const lin = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 0 });
  lin.setWeights([tf.zeros([16, 3]), tf.tensor1d([0, -5, 2])]);
  const forced = classifierFromLayersModel(lin, { outputsProbabilities: true });
  assert.equal(forced.outputsProbabilities, true);
  const zf = forced.logits(tf.zeros([1, 4, 4, 1]) as tf.Tensor4D).dataSync();
  assert.ok(Math.abs(zf[0]! - Math.log(PROB_FLOOR)) < 1e-3);
  assert.ok(Math.abs(zf[1]! - Math.log(PROB_FLOOR)) < 1e-3);
  assert.equal(zf[2], 0); // clipped to 1
  // and forcing it off on a softmax model gives the raw probabilities
  const off = classifierFromLayersModel(m, { outputsProbabilities: false });
  assert.equal(off.outputsProbabilities, false);
  m.dispose();
  lin.dispose();
});

test('logits are differentiable: gradient of a linear model is its weight column', () => {
  const m = createModel('linear', { inputShape: [2, 2, 1], numClasses: 3, seed: 0 });
  const W = [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
    [10, 11, 12],
  ];
  m.setWeights([tf.tensor2d(W), tf.zeros([3])]);
  const c = classifierFromLayersModel(m);
  const x = tf.randomUniform([2, 2, 2, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.slice(c.logits(xx as tf.Tensor4D), [0, 1], [-1, 1])))(x);
  assert.deepEqual(g.shape, [2, 2, 2, 1]);
  assert.deepEqual(Array.from(g.dataSync()), [2, 5, 8, 11, 2, 5, 8, 11]);
  tf.dispose([x, g]);
  m.dispose();
});

test('logits is pure: batch-norm statistics unchanged, same output twice', () => {
  const m = createModel('resnet', { inputShape: [8, 8, 3], numClasses: 4, seed: 1 });
  const c = classifierFromLayersModel(m);
  const before = m.getWeights().map((w) => Array.from(w.dataSync()));
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const a = c.logits(x);
  const b = c.logits(x);
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  const after = m.getWeights().map((w) => Array.from(w.dataSync()));
  assert.deepEqual(after, before);
  tf.dispose([x, a, b]);
  m.dispose();
});

test('memory: logits in a tf.tidy loop (forward and gradient) leaks no tensors', () => {
  const m = createModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  const c = classifierFromLayersModel(m);
  const sm = classifierFromLayersModel(softmaxModel());
  const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
  const xs = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    tf.tidy(() => {
      tf.sum(c.logits(x)).dataSync();
      sm.logits(xs);
      tf.grad((xx: tf.Tensor) => tf.sum(tf.max(c.logits(xx as tf.Tensor4D), 1)))(x);
    });
  }
  assert.equal(tf.memory().numTensors, n0);
  // outside tidy: exactly one new tensor (the result), no leaked intermediates
  const z = c.logits(x);
  assert.equal(tf.memory().numTensors, n0 + 1);
  z.dispose();
  const zs = sm.logits(xs);
  assert.equal(tf.memory().numTensors, n0 + 1);
  zs.dispose();
  // an int input is cast, not leaked
  const xi = tf.zeros([1, 28, 28, 1], 'int32') as tf.Tensor4D;
  const n1 = tf.memory().numTensors;
  const zi = c.logits(xi);
  assert.equal(zi.dtype, 'float32');
  assert.equal(tf.memory().numTensors, n1 + 1);
  tf.dispose([zi, xi, x, xs]);
  m.dispose();
});

test('rejects models that are not [n,h,w,c] → [n,K], and inputs of the wrong shape', () => {
  const flatIn = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [10], units: 3 })] });
  assert.throws(() => classifierFromLayersModel(flatIn), (e: unknown) => e instanceof ModelFormatError && /rank 4/.test(e.message));
  const convOut = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 })] });
  assert.throws(() => classifierFromLayersModel(convOut), (e: unknown) => e instanceof ModelFormatError && /rank 2/.test(e.message));
  const inp = tfl.input({ shape: [4, 4, 1] });
  const f = tfl.layers.flatten().apply(inp) as tfl.SymbolicTensor;
  const two = tfl.model({
    inputs: inp,
    outputs: [tfl.layers.dense({ units: 3 }).apply(f) as tfl.SymbolicTensor, tfl.layers.dense({ units: 2 }).apply(f) as tfl.SymbolicTensor],
  });
  assert.throws(() => classifierFromLayersModel(two), (e: unknown) => e instanceof ModelFormatError && /exactly one output/.test(e.message));
  const oneClass = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] }), tfl.layers.dense({ units: 1 })] });
  assert.throws(() => classifierFromLayersModel(oneClass), (e: unknown) => e instanceof ModelFormatError && /K >= 2/.test(e.message));
  const anySize = tfl.sequential({
    layers: [tfl.layers.globalAveragePooling2d({ inputShape: [null, null, 3] as unknown as number[] }), tfl.layers.dense({ units: 3 })],
  });
  assert.throws(() => classifierFromLayersModel(anySize), (e: unknown) => e instanceof ModelFormatError && /known height/.test(e.message));

  const m = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 0 });
  const c = classifierFromLayersModel(m);
  const bad = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
  assert.throws(() => c.logits(bad), (e: unknown) => e instanceof ShapeError && /expected input \[n, 4, 4, 1\], found \[1,4,4,3\]/.test(e.message));
  tf.dispose(bad);
  [flatIn, convOut, two, oneClass, anySize, m].forEach((x) => x.dispose());
});
