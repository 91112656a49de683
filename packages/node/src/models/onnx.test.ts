import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { AdvlabError, classifierFromLayersModel, runAttack, runAttackAsync, threatModel } from '@advlab/core';
import {
  MAX_ONNX_BYTES,
  asyncClassifierFromFunction,
  loadOnnxModel,
  type OnnxRuntimeModule,
  type OnnxRuntimeSession,
  type OnnxRuntimeTensor,
  type OnnxValueMetadata,
} from './onnx.ts';

await tf.setBackend('cpu');

// Written by scripts/export-onnx-fixture.py (PyTorch 1.13): see its header.
const FIXTURES = resolve(import.meta.dirname, '../../../../test/fixtures');
const ONNX = join(FIXTURES, 'tiny-cnn.onnx');
const ONNX_NHWC = join(FIXTURES, 'tiny-cnn-nhwc.onnx');

interface Param {
  name: string;
  shape: number[];
  values: number[];
}
interface Fixture {
  inputShape: [number, number, number];
  numClasses: number;
  params: Param[];
  images: { shape: [number, number, number, number]; layout: 'nhwc'; scale: number; values: number[] };
  logits: { shape: [number, number]; values: number[] };
}
const fx = JSON.parse(readFileSync(join(FIXTURES, 'tiny-cnn-weights.json'), 'utf8')) as Fixture;

const tmp = mkdtempSync(join(tmpdir(), 'advlab-onnx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The fixture's test images, NHWC (each pixel k/256, exact in float32). */
function images(): tf.Tensor4D {
  const { shape, scale, values } = fx.images;
  return tf.tensor4d(
    Float32Array.from(values, (k) => k * scale),
    shape,
  );
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function param(name: string): tf.Tensor {
  const p = fx.params.find((q) => q.name === name);
  assert.ok(p, `fixture parameter ${name}`);
  return tf.tensor(p.values, p.shape, 'float32');
}

/**
 * The fixture's network in tf.js (NHWC): PyTorch's conv kernels are [out, in, kh, kw], tf.js's [kh, kw, in, out];
 * PyTorch flattens [c, h, w], tf.js [h, w, c], so the dense kernel's rows are permuted to match.
 */
function tfjsTwin(): tfl.Sequential {
  const [h, w, c] = fx.inputShape;
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [h, w, c], filters: 4, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: fx.numClasses }),
    ],
  });
  const weights = tf.tidy(() => {
    const oihwToHwio = (t: tf.Tensor) => tf.transpose(t, [2, 3, 1, 0]);
    const fc = param('fc.weight'); // [K, c*5*5], in NCHW flatten order
    const [k] = fc.shape as [number, number];
    const fcKernel = tf.reshape(tf.transpose(tf.reshape(fc, [k, 4, 5, 5]), [2, 3, 1, 0]), [5 * 5 * 4, k]); // rows (h, w, c)
    return [
      oihwToHwio(param('conv1.weight')),
      param('conv1.bias'),
      oihwToHwio(param('conv2.weight')),
      param('conv2.bias'),
      fcKernel,
      param('fc.bias'),
    ];
  });
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AdvlabError, `expected an AdvlabError, found ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('the ONNX fixture reads as an NCHW classifier and gives PyTorch’s logits', async () => {
  const m = await loadOnnxModel(ONNX);
  try {
    assert.equal(m.name, 'tiny-cnn');
    assert.equal(m.layout, 'nchw');
    assert.deepEqual(m.inputShape, fx.inputShape);
    assert.equal(m.numClasses, fx.numClasses);
    assert.deepEqual(m.bounds, [0, 1]);
    assert.equal(m.inputName, 'input');
    assert.equal(m.outputName, 'logits');
    const x = images();
    const y = await m.logitsAsync(x);
    assert.deepEqual(y.shape, fx.logits.shape);
    assert.ok(maxAbsDiff(await y.data(), fx.logits.values) <= 1e-5, `max |ONNX − PyTorch| ${maxAbsDiff(await y.data(), fx.logits.values)}`);
    tf.dispose([x, y]);
  } finally {
    await m.dispose();
  }
});

test('an NHWC ONNX model (same weights behind a permute) needs no transpose and gives the same logits', async () => {
  const m = await loadOnnxModel(ONNX_NHWC);
  try {
    assert.equal(m.layout, 'nhwc');
    assert.deepEqual(m.inputShape, fx.inputShape);
    const x = images();
    const y = await m.logitsAsync(x);
    assert.ok(maxAbsDiff(await y.data(), fx.logits.values) <= 1e-5);
    tf.dispose([x, y]);
  } finally {
    await m.dispose();
  }
});

test('the ONNX model equals a tf.js model built from the same weights (OIHW→HWIO, NCHW flatten order)', async () => {
  const twin = tfjsTwin();
  const m = await loadOnnxModel(ONNX);
  try {
    const fixed = images();
    const t0 = twin.predict(fixed) as tf.Tensor2D;
    assert.ok(maxAbsDiff(await t0.data(), fx.logits.values) <= 1e-5, 'tf.js twin vs PyTorch');
    // More images than the fixture holds, with 3 distinct channels everywhere: a layout slip cannot hide.
    const x = tf.randomUniform([37, ...fx.inputShape], 0, 1, 'float32', 7) as tf.Tensor4D;
    const [a, b] = [await m.logitsAsync(x), twin.predict(x) as tf.Tensor2D];
    const d = maxAbsDiff(await a.data(), await b.data());
    assert.ok(d <= 1e-5, `max |ONNX − tf.js| ${d}`);
    // …and the check has teeth: the same images transposed as if the layout were ignored give other logits.
    const wrong = tf.tidy(() => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), x.shape) as tf.Tensor4D);
    const c = await m.logitsAsync(wrong);
    assert.ok(maxAbsDiff(await c.data(), await b.data()) > 1e-2);
    tf.dispose([fixed, t0, x, a, b, wrong, c]);
  } finally {
    await m.dispose();
    twin.dispose();
  }
});

test('Square on the ONNX model and on its tf.js twin, same seed: the same adversarial points and verdicts', async () => {
  const twin = classifierFromLayersModel(tfjsTwin(), { name: 'twin' });
  const m = await loadOnnxModel(ONNX);
  try {
    const x = tf.randomUniform([12, ...fx.inputShape], 0.1, 0.9, 'float32', 3) as tf.Tensor4D;
    const y = tf.tidy(() => tf.cast(tf.argMax(twin.logits(x), 1), 'float32') as tf.Tensor1D);
    const th = threatModel('linf', 0.05);
    const a = await runAttackAsync('square', m, x, y, th, { config: { queries: 150 }, seed: 9 });
    const b = runAttack('square', twin, x, y, th, { config: { queries: 150 }, seed: 9 });
    assert.deepEqual(a.success, b.success);
    assert.ok(
      a.success.some((f) => f === 1),
      'Square fools some',
    );
    assert.ok(maxAbsDiff(await a.xAdv.data(), await b.xAdv.data()) <= 1e-6, 'the same points');
    tf.dispose([x, y, a.xAdv, b.xAdv]);
  } finally {
    await m.dispose();
  }
});

test('batching: any batchSize gives the logits of one batch', async () => {
  const x = tf.randomUniform([23, ...fx.inputShape], 0, 1, 'float32', 3) as tf.Tensor4D;
  const one = await loadOnnxModel(ONNX, { batchSize: 64 });
  const ref = await one.logitsAsync(x);
  for (const batchSize of [1, 5, 22, 23]) {
    const m = await loadOnnxModel(ONNX, { batchSize });
    assert.equal(m.batchSize, batchSize);
    const y = await m.logitsAsync(x);
    assert.ok(maxAbsDiff(await y.data(), await ref.data()) <= 1e-6, `batchSize ${batchSize}`);
    y.dispose();
    await m.dispose();
  }
  const empty = await one.logitsAsync(tf.zeros([0, ...fx.inputShape]) as tf.Tensor4D);
  assert.deepEqual(empty.shape, [0, fx.numClasses]);
  tf.dispose([x, ref, empty]);
  await one.dispose();
});

test('mean / std are applied inside logitsAsync, on NHWC channels before the transpose', async () => {
  const mean = [0.1, 0.2, 0.3];
  const std = [0.5, 0.25, 2];
  const plain = await loadOnnxModel(ONNX);
  const norm = await loadOnnxModel(ONNX, { mean, std, name: 'normalised' });
  const x = images();
  const manual = tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor4D);
  const [a, b] = [await norm.logitsAsync(x), await plain.logitsAsync(manual)];
  assert.equal(norm.name, 'normalised');
  assert.ok(maxAbsDiff(await a.data(), await b.data()) <= 1e-6);
  tf.dispose([x, manual, a, b]);
  await Promise.all([plain.dispose(), norm.dispose()]);
});

test('tf.memory().numTensors is flat across queries', async () => {
  const m = await loadOnnxModel(ONNX, { batchSize: 3 });
  const x = images();
  (await m.logitsAsync(x)).dispose(); // warm-up
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) (await m.logitsAsync(x)).dispose();
  assert.equal(tf.memory().numTensors, before);
  // a query with the wrong shape leaks nothing either
  const bad = tf.zeros([2, 12, 12, 1]) as tf.Tensor4D;
  await assert.rejects(m.logitsAsync(bad), (e: unknown) => e instanceof AdvlabError && e.code === 'E_SHAPE');
  bad.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  await m.dispose();
  await m.dispose(); // twice is fine
  const x2 = images();
  await rejectsWith(m.logitsAsync(x2), 'E_BACKEND', /disposed/);
  x2.dispose();
});

test('a missing, non-ONNX, empty, oversized file or a folder is a typed error naming the file', async () => {
  const missing = join(tmp, 'nope.onnx');
  await rejectsWith(loadOnnxModel(missing), 'E_MODEL_MISSING', new RegExp(`${missing}: not found`));

  const text = join(tmp, 'model.onnx');
  writeFileSync(text, '{"this": "is JSON, not ONNX"}\n');
  await rejectsWith(loadOnnxModel(text), 'E_MODEL_FORMAT', new RegExp(`^${text}: expected an ONNX model`));

  const empty = join(tmp, 'empty.onnx');
  writeFileSync(empty, '');
  await rejectsWith(loadOnnxModel(empty), 'E_MODEL_FORMAT', new RegExp(`^${empty}: .*empty file`));

  // A sparse file one byte over the default cap: refused from its size alone, never read.
  const huge = join(tmp, 'huge.onnx');
  const fd = openSync(huge, 'w');
  ftruncateSync(fd, MAX_ONNX_BYTES + 1);
  closeSync(fd);
  await rejectsWith(
    loadOnnxModel(huge),
    'E_MODEL_FORMAT',
    new RegExp(`^${huge}: expected an ONNX model of at most ${MAX_ONNX_BYTES} bytes.*found ${MAX_ONNX_BYTES + 1} bytes; not read`),
  );
  await rejectsWith(
    loadOnnxModel(ONNX, { maxBytes: 1000 }),
    'E_MODEL_FORMAT',
    /tiny-cnn\.onnx: expected an ONNX model of at most 1000 bytes/,
  );

  const dir = join(tmp, 'folder.onnx');
  mkdirSync(dir);
  await rejectsWith(loadOnnxModel(dir), 'E_MODEL_FORMAT', /folder\.onnx: .*found a directory/);
});

test('a model that is not an image classifier is refused, naming the file and what it has', async () => {
  await rejectsWith(
    loadOnnxModel(join(FIXTURES, 'two-inputs.onnx')),
    'E_MODEL_FORMAT',
    /two-inputs\.onnx: expected one input.*found 2 inputs \["input","offset"\]/,
  );
  await rejectsWith(
    loadOnnxModel(join(FIXTURES, 'feature-map.onnx')),
    'E_MODEL_FORMAT',
    /feature-map\.onnx: expected an output of rank 2 \[n, K\].*found output "features" of shape \["batch",4,12,12\]/,
  );
  await rejectsWith(
    loadOnnxModel(ONNX, { inputShape: [28, 28, 1] }),
    'E_MODEL_FORMAT',
    /tiny-cnn\.onnx: expected an input of \[h, w, c\] \[28,28,1\]/,
  );
  await rejectsWith(
    loadOnnxModel(ONNX, { output: 'probs' }),
    'E_MODEL_FORMAT',
    /expected an output named "probs".*found outputs \["logits"\]/,
  );
  await rejectsWith(loadOnnxModel(ONNX, { batchSize: 0 }), 'E_CONFIG', /batchSize: expected a positive integer, found 0/);
});

test('without onnxruntime the error is E_BACKEND, naming the file and the package to install', async () => {
  await rejectsWith(
    loadOnnxModel(ONNX, { runtime: 'advlab-test-no-such-onnxruntime' }),
    'E_BACKEND',
    /tiny-cnn\.onnx: running an ONNX model needs the package advlab-test-no-such-onnxruntime, which could not be loaded .*npm install advlab-test-no-such-onnxruntime/,
  );
});

/**
 * A stand-in for onnxruntime whose model takes inputs of `inputShape` and answers logits [n, k] with
 * logit j = (j + 1) · (the image's pixel sum); it records the batch of every run.
 */
function fakeRuntime(inputShape: readonly (number | string)[], k: number, outK: number | string = k) {
  const runs: number[] = [];
  class Tensor implements OnnxRuntimeTensor {
    constructor(
      readonly type: string,
      readonly data: Float32Array,
      readonly dims: readonly number[],
    ) {}
  }
  const session: OnnxRuntimeSession = {
    inputNames: ['x'],
    outputNames: ['y'],
    inputMetadata: [{ name: 'x', isTensor: true, type: 'float32', shape: inputShape }] as OnnxValueMetadata[],
    outputMetadata: [{ name: 'y', isTensor: true, type: 'float32', shape: ['n', outK] }] as OnnxValueMetadata[],
    run: async (feeds) => {
      const t = feeds.x as Tensor;
      const n = t.dims[0]!;
      if (typeof inputShape[0] === 'number') assert.equal(n, inputShape[0], 'the fixed batch dimension is honoured');
      runs.push(n);
      const per = t.data.length / n;
      const out = new Float32Array(n * k);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let p = 0; p < per; p++) s += t.data[i * per + p]!;
        for (let j = 0; j < k; j++) out[i * k + j] = (j + 1) * s;
      }
      return { y: new Tensor('float32', out, [n, k]) };
    },
    release: async () => undefined,
  };
  const runtime: OnnxRuntimeModule = { InferenceSession: { create: async () => session }, Tensor };
  return { runtime, runs };
}

test('a fixed batch dimension is honoured (the last chunk padded), a symbolic class count is probed', async () => {
  const { runtime, runs } = fakeRuntime([4, 2, 5, 5], 3, 'classes');
  const m = await loadOnnxModel(ONNX, { runtime });
  assert.equal(m.layout, 'nchw');
  assert.deepEqual(m.inputShape, [5, 5, 2]);
  assert.equal(m.batchSize, 4);
  assert.equal(m.numClasses, 3);
  assert.deepEqual(runs, [4], 'one probe, padded to the fixed batch');
  const x = tf.ones([6, 5, 5, 2]) as tf.Tensor4D;
  const y = await m.logitsAsync(x);
  assert.deepEqual(runs, [4, 4, 4]);
  assert.deepEqual(
    Array.from(await y.data()),
    Array.from({ length: 18 }, (_, i) => 50 * ((i % 3) + 1)),
  );
  tf.dispose([x, y]);
  await rejectsWith(loadOnnxModel(ONNX, { runtime, batchSize: 8 }), 'E_MODEL_FORMAT', /a fixed batch of 4/);
});

test('an input whose shape does not tell its layout needs the option layout', async () => {
  const { runtime } = fakeRuntime(['n', 3, 3, 3], 2);
  await rejectsWith(loadOnnxModel(ONNX, { runtime }), 'E_MODEL_FORMAT', /layout its shape tells.*found input "x" of shape \["n",3,3,3\]/);
  const m = await loadOnnxModel(ONNX, { runtime, layout: 'nhwc' });
  assert.equal(m.layout, 'nhwc');
  assert.deepEqual(m.inputShape, [3, 3, 3]);
  const symbolic = fakeRuntime(['n', 'c', 'h', 'w'], 2).runtime;
  await rejectsWith(loadOnnxModel(ONNX, { runtime: symbolic }), 'E_MODEL_FORMAT', /layout its shape tells/);
  const given = await loadOnnxModel(ONNX, { runtime: symbolic, layout: 'nchw', inputShape: [5, 4, 1] });
  assert.deepEqual(given.inputShape, [5, 4, 1]);
  const x = tf.fill([2, 5, 4, 1], 0.5) as tf.Tensor4D;
  const y = await given.logitsAsync(x);
  assert.deepEqual(Array.from(await y.data()), [10, 20, 10, 20]);
  tf.dispose([x, y]);
});

test('asyncClassifierFromFunction wraps a sync function (a tf.js model) and an async one (the ONNX model)', async () => {
  const twin = tfjsTwin();
  const onnx = await loadOnnxModel(ONNX);
  const info = { numClasses: fx.numClasses, inputShape: fx.inputShape };
  const sync = asyncClassifierFromFunction((x) => twin.predict(x) as tf.Tensor2D, { ...info, name: 'twin' });
  const asyncFn = asyncClassifierFromFunction(async (x) => onnx.logitsAsync(x), { ...info, bounds: [0, 1] });
  assert.equal(sync.name, 'twin');
  assert.equal(asyncFn.name, 'function');
  assert.deepEqual(sync.bounds, [0, 1]);
  const x = images();
  const before = tf.memory().numTensors;
  for (const c of [sync, asyncFn]) {
    const y = await c.logitsAsync(x);
    assert.deepEqual(y.shape, fx.logits.shape);
    assert.ok(maxAbsDiff(await y.data(), fx.logits.values) <= 1e-5, c.name);
    y.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  // A function that answers the wrong shape: ShapeError, and its output is disposed.
  const wrong = asyncClassifierFromFunction((x) => tf.zeros([x.shape[0], 3]) as tf.Tensor2D, info);
  await assert.rejects(
    wrong.logitsAsync(x),
    (e: unknown) => e instanceof AdvlabError && e.code === 'E_SHAPE' && /expected logits \[4, 5\].*found shape \[4,3\]/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => asyncClassifierFromFunction((x) => x as unknown as tf.Tensor2D, { ...info, numClasses: 1 }), /numClasses/);
  x.dispose();
  twin.dispose();
  await onnx.dispose();
});

test('a query onnxruntime fails on is E_BACKEND naming the file', async () => {
  const { runtime } = fakeRuntime(['n', 2, 5, 5], 3);
  const m = await loadOnnxModel(ONNX, { runtime });
  const failing: OnnxRuntimeModule = {
    ...runtime,
    InferenceSession: {
      create: async () => ({
        ...(await runtime.InferenceSession.create(new Uint8Array())),
        run: async () => {
          throw new Error('kernel exploded');
        },
      }),
    },
  };
  const broken = await loadOnnxModel(ONNX, { runtime: failing });
  const x = tf.ones([2, 5, 5, 2]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  await rejectsWith(
    broken.logitsAsync(x),
    'E_BACKEND',
    /tiny-cnn\.onnx: onnxruntime could not run the model on \[2,2,5,5\] \(kernel exploded\)/,
  );
  assert.equal(tf.memory().numTensors, before);
  const y = await m.logitsAsync(x);
  assert.deepEqual(y.shape, [2, 3]);
  tf.dispose([x, y]);
});
