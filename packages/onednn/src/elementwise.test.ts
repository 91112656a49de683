// Native elementwise kernels vs tf.js cpu: unary maps (including NaN / ±0 / ±∞ semantics), binary ops with
// broadcasting, AddN; and the broadcast planner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { broadcastPlan } from './kernels/elementwise.ts';
import { useBackend } from '@advlab/node';
import { BROADCAST_PAIRS, compare, counts, randomArray, Rng, SKIP, size, valuesOn } from './test-util.ts';

test('broadcastPlan collapses broadcast patterns into at most 4 strided dims', () => {
  const p = broadcastPlan([128, 28, 28, 32], [32])!;
  assert.deepEqual(p.outShape, [128, 28, 28, 32]);
  assert.deepEqual(Array.from(p.dims), [1, 1, 128 * 28 * 28, 32]);
  assert.deepEqual(Array.from(p.stridesA), [128 * 28 * 28 * 32, 128 * 28 * 28 * 32, 32, 1]);
  assert.deepEqual(Array.from(p.stridesB), [32, 32, 0, 1]);
  const q = broadcastPlan([5, 1], [1, 7])!; // outer product
  assert.deepEqual(Array.from(q.dims), [1, 1, 5, 7]);
  assert.deepEqual(Array.from(q.stridesA), [5, 5, 1, 0]);
  assert.deepEqual(Array.from(q.stridesB), [7, 7, 0, 1]);
  assert.deepEqual(Array.from(broadcastPlan([3, 4], [3, 4])!.dims), [1, 1, 1, 12]);
  assert.equal(broadcastPlan([2, 1, 2, 1, 2], [1, 2, 1, 2, 1]), null); // 5 alternating groups
  assert.equal(broadcastPlan([3], [4]), null);
});

const UNARY: [string, (x: tf.Tensor) => tf.Tensor][] = [
  ['Relu', (x) => tf.relu(x)],
  ['Step', (x) => tf.step(x, 0.25)],
  ['Sign', (x) => tf.sign(x)],
  ['ClipByValue', (x) => tf.clipByValue(x, -0.5, 0.75)],
  ['Neg', (x) => tf.neg(x)],
  ['Exp', (x) => tf.exp(x)],
  ['Log', (x) => tf.log(tf.abs(x))],
  ['Square', (x) => tf.square(x)],
  ['Abs', (x) => tf.abs(x)],
  ['Sqrt', (x) => tf.sqrt(tf.abs(x))],
  ['Sigmoid', (x) => tf.sigmoid(x)],
  ['Tanh', (x) => tf.tanh(x)],
  ['Relu6', (x) => tf.relu6(tf.mul(x, 4))],
  ['LeakyRelu', (x) => tf.leakyRelu(x, 0.3)],
  ['Elu', (x) => tf.elu(x)],
  ['Rsqrt', (x) => tf.rsqrt(tf.abs(x))],
];

test('unary kernels match cpu on random data (small and multithreaded sizes)', { skip: SKIP }, async () => {
  const rng = new Rng(1);
  for (const n of [7, 100_003]) {
    const xv = randomArray(rng, n, 2);
    for (const [name, f] of UNARY) {
      await compare(`${name} n=${n}`, () => f(tf.tensor1d(xv)), { tol: 1e-6, native: [name] });
    }
  }
});

test('unary kernels reproduce tf.js on NaN, ±0, ±∞', { skip: SKIP }, async () => {
  const special = Float32Array.from([NaN, 0, -0, Infinity, -Infinity, 1e-30, -1e-30, 3, -3, 6, 7]);
  for (const [name, f] of UNARY) {
    const [want] = await valuesOn('cpu', () => f(tf.tensor1d(special)));
    const [got] = await valuesOn('onednn', () => f(tf.tensor1d(special)));
    for (let i = 0; i < special.length; i++) {
      const w = want![i]!,
        g = got![i]!;
      // +0 vs −0 is not observable through tf.js ops that matter here; compare as numbers, NaN with NaN
      const same = Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= 1e-6 * Math.abs(w);
      assert.ok(same, `${name}(${special[i]}): got ${g}, cpu ${w}`);
    }
  }
});

const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['Add', tf.add],
  ['Sub', tf.sub],
  ['Multiply', tf.mul],
  ['RealDiv', tf.div],
  ['Maximum', tf.maximum],
  ['Minimum', tf.minimum],
  ['SquaredDifference', tf.squaredDifference],
];

test('binary kernels match cpu over broadcasting patterns', { skip: SKIP }, async () => {
  const rng = new Rng(2);
  for (const [as, bs] of BROADCAST_PAIRS) {
    const av = randomArray(rng, size(as)),
      bv = randomArray(rng, size(bs));
    for (let i = 0; i < bv.length; i++) if (Math.abs(bv[i]!) < 0.05) bv[i] = 0.5; // keep divisions tame
    for (const [name, f] of BINARY) {
      await compare(`${name} [${as}] [${bs}]`, () => f(tf.tensor(av, as), tf.tensor(bv, bs)), { tol: 1e-6, native: [name] });
    }
  }
  // more than four alternating broadcast groups: the cpu kernel
  const as = [2, 1, 2, 1, 2],
    bs = [1, 3, 1, 3, 1];
  const av = randomArray(rng, size(as)),
    bv = randomArray(rng, size(bs));
  await compare('Add, 5 broadcast groups', () => tf.add(tf.tensor(av, as), tf.tensor(bv, bs)), { tol: 0, fallback: ['Add'] });
  // int32 operands: the cpu kernel
  await compare('Add int32', () => tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32')), {
    tol: 0,
    fallback: ['Add'],
  });
});

test('Maximum / Minimum propagate NaN like tf.js', { skip: SKIP }, async () => {
  const a = Float32Array.from([NaN, 1, NaN, -2]),
    b = Float32Array.from([1, NaN, NaN, 3]);
  for (const f of [tf.maximum, tf.minimum]) {
    const [got] = await valuesOn('onednn', () => f(tf.tensor1d(a), tf.tensor1d(b)));
    const [want] = await valuesOn('cpu', () => f(tf.tensor1d(a), tf.tensor1d(b)));
    assert.deepEqual(Array.from(got!), Array.from(want!));
  }
});

test('AddN matches cpu', { skip: SKIP }, async () => {
  const rng = new Rng(3);
  const xs = [0, 1, 2, 3].map(() => randomArray(rng, 5000));
  await compare('AddN of 4', () => tf.addN(xs.map((x) => tf.tensor2d(x, [50, 100]))), { tol: 1e-6, native: ['AddN'] });
});

test('FusedBatchNorm matches cpu with per-channel and scalar statistics', { skip: SKIP }, async () => {
  const rng = new Rng(4);
  const x = randomArray(rng, 6 * 5 * 5 * 7, 3);
  const stat = (scale: number, shift: number) => randomArray(rng, 7).map((v) => v * scale + shift);
  const [m, v, o, s] = [stat(1, 0), stat(0.5, 1.5).map(Math.abs), stat(1, 0), stat(1, 1)];
  await compare(
    'per-channel [7]',
    () => tf.batchNorm(tf.tensor4d(x, [6, 5, 5, 7]), tf.tensor1d(m), tf.tensor1d(v), tf.tensor1d(o), tf.tensor1d(s), 1e-3),
    { tol: 1e-5, native: ['FusedBatchNorm'] },
  );
  await compare(
    'keepDims stats [1,1,1,7], no offset / scale',
    () =>
      tf.batchNorm(tf.tensor4d(x, [6, 5, 5, 7]), tf.tensor4d(m, [1, 1, 1, 7]), tf.tensor4d(v, [1, 1, 1, 7]), undefined, undefined, 1e-5),
    { tol: 1e-5, native: ['FusedBatchNorm'] },
  );
  await compare(
    'scalar stats',
    () => tf.batchNorm(tf.tensor4d(x, [6, 5, 5, 7]), tf.scalar(0.3), tf.scalar(2), tf.scalar(-1), tf.scalar(0.5)),
    { tol: 1e-5, native: ['FusedBatchNorm'] },
  );
});

test('ZerosLike gives zeros even in a recycled buffer; int32 falls back', { skip: SKIP }, async () => {
  await useBackend('onednn');
  const x = tf.randomNormal([64, 1000], 0, 1, 'float32', 5);
  const before = counts('ZerosLike');
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => void tf.neg(x)); // leaves a dirty buffer of x's size in the pool
    const z = tf.zerosLike(x);
    assert.ok(
      z.dataSync().every((v) => v === 0),
      'zerosLike returned a non-zero value',
    );
    z.dispose();
  }
  assert.equal(counts('ZerosLike').native - before.native, 3);
  const xi = tf.tensor1d([1, 2, 3], 'int32');
  const zi = tf.zerosLike(xi);
  assert.deepEqual(Array.from(zi.dataSync()), [0, 0, 0]);
  assert.equal(zi.dtype, 'int32');
  assert.equal(counts('ZerosLike').fallback - before.fallback, 1);
  tf.dispose([x, xi, zi]);
});

test('Cast from bool and int32 to float32 stores a Float32Array, so the kernels after it run natively', { skip: SKIP }, async () => {
  const xv = randomArray(new Rng(3), 4 * 3 * 3 * 2);
  const masked = () =>
    tf.mul(tf.tensor4d(xv, [4, 3, 3, 2]), tf.reshape(tf.cast(tf.tensor1d([true, false, true, true], 'bool'), 'float32'), [4, 1, 1, 1]));
  const [want] = await valuesOn('cpu', masked);
  await useBackend('onednn');
  const beforeCast = counts('Cast');
  const beforeMul = counts('Multiply');
  const got = masked();
  assert.equal(counts('Cast').native - beforeCast.native, 1);
  assert.equal(counts('Multiply').native - beforeMul.native, 1, 'x · cast(mask) fell back to the cpu kernel');
  assert.deepEqual(Array.from(got.dataSync()), Array.from(want!));
  const f = tf.cast(tf.tensor1d([-3, 0, 7, 2 ** 24 + 1], 'int32'), 'float32');
  assert.ok(f.dataSync() instanceof Float32Array);
  assert.deepEqual(Array.from(f.dataSync()), [-3, 0, 7, 2 ** 24]); // float32 rounding, as tf.js's cpu Cast reads it back
  // float32 → int32 keeps tf.js's cpu Cast (truncation).
  const back = tf.cast(tf.tensor1d([1.7, -0.2, 0]), 'int32');
  assert.deepEqual(Array.from(back.dataSync()), [1, 0, 0]);
  assert.equal(counts('Cast').fallback - beforeCast.fallback, 1);
  tf.dispose([got, f, back]);
});
