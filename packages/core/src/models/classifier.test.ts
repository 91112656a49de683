import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { ConfigError, ModelFormatError, ShapeError } from '../errors.ts';
import { tinyCnnGraphArtifacts, tinyCnnWeights } from '../testing/graph-model.ts';
import { createModel } from './zoo.ts';
import { type Classifier, type ClassifierOptions, classifierBounds, classifierFromLayersModel, PROB_FLOOR } from './classifier.ts';

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
  assert.throws(
    () => classifierFromLayersModel(flatIn),
    (e: unknown) => e instanceof ModelFormatError && /rank 4/.test(e.message),
  );
  const convOut = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 })] });
  assert.throws(
    () => classifierFromLayersModel(convOut),
    (e: unknown) => e instanceof ModelFormatError && /rank 2/.test(e.message),
  );
  const inp = tfl.input({ shape: [4, 4, 1] });
  const f = tfl.layers.flatten().apply(inp) as tfl.SymbolicTensor;
  const two = tfl.model({
    inputs: inp,
    outputs: [tfl.layers.dense({ units: 3 }).apply(f) as tfl.SymbolicTensor, tfl.layers.dense({ units: 2 }).apply(f) as tfl.SymbolicTensor],
  });
  assert.throws(
    () => classifierFromLayersModel(two),
    (e: unknown) => e instanceof ModelFormatError && /exactly one output/.test(e.message),
  );
  const oneClass = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] }), tfl.layers.dense({ units: 1 })] });
  assert.throws(
    () => classifierFromLayersModel(oneClass),
    (e: unknown) => e instanceof ModelFormatError && /K >= 2/.test(e.message),
  );
  const anySize = tfl.sequential({
    layers: [tfl.layers.globalAveragePooling2d({ inputShape: [null, null, 3] as unknown as number[] }), tfl.layers.dense({ units: 3 })],
  });
  assert.throws(
    () => classifierFromLayersModel(anySize),
    (e: unknown) => e instanceof ModelFormatError && /known height/.test(e.message),
  );

  const m = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 0 });
  const c = classifierFromLayersModel(m);
  const bad = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
  assert.throws(
    () => c.logits(bad),
    (e: unknown) => e instanceof ShapeError && /expected input \[n, 4, 4, 1\], found \[1,4,4,3\]/.test(e.message),
  );
  tf.dispose(bad);
  [flatIn, convOut, two, oneClass, anySize, m].forEach((x) => {
    x.dispose();
  });
});

test('bounds: default [0, 1] (also for hand-written classifiers via classifierBounds), or as given', () => {
  const m = createModel('linear', { inputShape: [2, 2, 3], numClasses: 3, seed: 0 });
  const c = classifierFromLayersModel(m);
  assert.deepEqual(c.bounds, [0, 1]);
  assert.equal(c.mean, undefined);
  assert.equal(c.std, undefined);
  assert.deepEqual(classifierFromLayersModel(m, { bounds: [0, 255] }).bounds, [0, 255]);
  assert.deepEqual(classifierFromLayersModel(m, { bounds: [-1, 1] }).bounds, [-1, 1]);
  const handWritten: Classifier = {
    name: 'h',
    numClasses: 2,
    inputShape: [1, 1, 1],
    logits: (x) => tf.reshape(tf.concat([x, x], 3), [-1, 2]),
  };
  assert.deepEqual(classifierBounds(handWritten), [0, 1]);
  assert.deepEqual(classifierBounds({ bounds: [0, 255] }), [0, 255]);
  m.dispose();
});

test('mean/std inside the wrapper equal normalising outside: logits exactly, gradients by the chain rule', () => {
  const m = createModel('cnn', { inputShape: [8, 8, 3], numClasses: 4, seed: 3 });
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const c = classifierFromLayersModel(m, { mean, std });
  assert.deepEqual(c.mean, mean);
  assert.deepEqual(c.std, std);
  const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const normalise = (v: tf.Tensor) => tf.div(tf.sub(v, tf.tensor1d(mean)), tf.tensor1d(std));
  const z = c.logits(x);
  const outside = tf.tidy(() => m.predict(normalise(x)) as tf.Tensor);
  assert.deepEqual(Array.from(z.dataSync()), Array.from(outside.dataSync()));
  const f = (v: tf.Tensor) => tf.sum(tf.mul(v, tf.tensor1d([1, -1, 0.5, 2])));
  const gIn = tf.grad((xx: tf.Tensor) => f(c.logits(xx as tf.Tensor4D)))(x);
  const gOut = tf.grad((xx: tf.Tensor) => f(m.apply(normalise(xx), { training: false }) as tf.Tensor))(x);
  assert.ok(tf.max(tf.abs(gIn)).dataSync()[0]! > 1e-3);
  assert.ok(tf.max(tf.abs(tf.sub(gIn, gOut))).dataSync()[0]! < 1e-5);
  // One number broadcasts over channels; mean 0 / std 1 is the identity.
  const scalar = classifierFromLayersModel(m, { mean: 0.5, std: [0.25] });
  assert.deepEqual(scalar.mean, [0.5, 0.5, 0.5]);
  assert.deepEqual(scalar.std, [0.25, 0.25, 0.25]);
  const zs = scalar.logits(x);
  const outsideS = tf.tidy(() => m.predict(tf.div(tf.sub(x, 0.5), 0.25)) as tf.Tensor);
  assert.ok(tf.max(tf.abs(tf.sub(zs, outsideS))).dataSync()[0]! < 1e-6);
  const identity = classifierFromLayersModel(m, { mean: 0, std: 1 });
  const zi = identity.logits(x);
  const p = m.predict(x) as tf.Tensor;
  assert.deepEqual(Array.from(zi.dataSync()), Array.from(p.dataSync()));
  // memory: preprocessing constants do not leak
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    tf.tidy(() => {
      tf.grad((xx: tf.Tensor) => tf.sum(c.logits(xx as tf.Tensor4D)))(x);
    });
  }
  assert.equal(tf.memory().numTensors, n0);
  const once = c.logits(x);
  assert.equal(tf.memory().numTensors, n0 + 1);
  tf.dispose([x, z, outside, gIn, gOut, zs, outsideS, zi, p, once]);
  m.dispose();
});

test('bad bounds / mean / std: ConfigError naming the option key', () => {
  const m = createModel('linear', { inputShape: [2, 2, 3], numClasses: 3, seed: 0 });
  const rejects = (opts: object, key: string, found: RegExp) =>
    assert.throws(
      () => classifierFromLayersModel(m, opts as ClassifierOptions),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === 'E_CONFIG' &&
        e.option === key &&
        found.test(e.found) &&
        e.message.startsWith(`${key}: expected`),
      `${JSON.stringify(opts)} → ${key}`,
    );
  rejects({ bounds: [1, 0] }, 'bounds', /^\[1, 0\]$/);
  rejects({ bounds: [0, 0] }, 'bounds', /^\[0, 0\]$/);
  rejects({ bounds: [0, Infinity] }, 'bounds', /Infinity/);
  rejects({ bounds: [NaN, 1] }, 'bounds', /NaN/);
  rejects({ bounds: [0] }, 'bounds', /^\[0\]$/);
  rejects({ bounds: '0,255' }, 'bounds', /0,255/);
  rejects({ mean: [0.1, 0.2] }, 'mean', /^\[0.1, 0.2\]$/);
  rejects({ mean: NaN }, 'mean', /NaN/);
  rejects({ mean: [0.1, '0.2', 0.3] }, 'mean', /"0.2"/);
  rejects({ std: [0.2, 0, 0.2] }, 'std', /^\[0.2, 0, 0.2\]$/);
  rejects({ std: -1 }, 'std', /-1/);
  rejects({ std: [0.2, 0.2] }, 'std', /\[0.2, 0.2\]/);
  assert.throws(
    () => classifierFromLayersModel(m, { std: [0.2, 0] }),
    (e: unknown) => e instanceof ConfigError && /one per channel \(3\)/.test(e.message),
  );
  m.dispose();
});

test('a GraphModel passed as a LayersModel: a ModelFormatError pointing to classifierFromGraphModel', async () => {
  const w = tinyCnnWeights({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3, numClasses: 3 }, 1);
  const g = await loadGraphModel(tf.io.fromMemory(tinyCnnGraphArtifacts(w)));
  assert.throws(
    () => classifierFromLayersModel(g as unknown as tfl.LayersModel),
    (e: unknown) =>
      e instanceof ModelFormatError &&
      e.code === 'E_MODEL_FORMAT' &&
      e.message === 'model: expected a tf.LayersModel (use classifierFromGraphModel for a GraphModel), found a GraphModel',
  );
  assert.throws(
    () => classifierFromLayersModel(tf.zeros([1]) as unknown as tfl.LayersModel, { name: 'm.json' }),
    (e: unknown) => e instanceof ModelFormatError && e.message === 'm.json: expected a tf.LayersModel, found a tf.Tensor',
  );
  assert.throws(
    () => classifierFromLayersModel(undefined as unknown as tfl.LayersModel),
    (e: unknown) => e instanceof ModelFormatError && /found undefined/.test(e.message),
  );
  g.dispose();
});
