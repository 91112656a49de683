// Native TopK and Cumsum vs tf.js cpu: bit-identical values and indices (ties, ±0, infinities), every
// exclusive / reverse combination, and the cases that must fall back.
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { compareExact, randomArray, Rng, size, SKIP } from './test-util.ts';

const topk = (x: tf.Tensor, k: number, sorted = true) => {
  const { values, indices } = tf.topk(x, k, sorted);
  return [values, indices];
};

test('TopK matches cpu bit for bit: random data, many ties, ±0, large and small k', { skip: SKIP }, async () => {
  const rng = new Rng(1);
  const cases: [number[], number[]][] = [
    [
      [420, 784],
      [784, 300, 10, 1],
    ], // FAB's projection sorts whole rows (k = d); multithreaded
    [
      [5, 7, 33],
      [33, 12, 4, 1],
    ],
    [[1000], [1000, 999, 100, 3]],
    [[3, 1], [1]],
  ];
  for (const [shape, ks] of cases) {
    const random = randomArray(rng, size(shape));
    // values on a coarse grid (many ties: the index order decides), with −0 beside +0
    const tied = randomArray(rng, size(shape), 2).map((v) => Math.round(v) || (rng.next() < 0.5 ? -0 : 0));
    for (const k of ks) {
      await compareExact(`TopK [${shape}] k=${k} random`, () => topk(tf.tensor(random, shape), k), { native: ['TopK'] });
      await compareExact(`TopK [${shape}] k=${k} ties`, () => topk(tf.tensor(tied, shape), k), { native: ['TopK'] });
    }
  }
  // denormals, extremes and single infinities order like any other value
  const odd = Float32Array.from([1e-45, -1e-45, 3.4e38, -3.4e38, Infinity, -Infinity, 0, -0, 1, 1e-40]);
  for (const k of [10, 5, 1]) {
    await compareExact(`TopK special values k=${k}`, () => topk(tf.tensor1d(odd), k), { native: ['TopK'] });
  }
  // repeated infinities with k = d: tf.js's (stable) sort keeps them in index order, as the native one does
  const infs = Float32Array.from([Infinity, 1, -Infinity, Infinity, -Infinity, 0, Infinity]);
  await compareExact('TopK repeated ±∞, k = d', () => topk(tf.tensor2d(infs, [1, 7]), 7), { native: ['TopK'] });
});

test('TopK falls back where the cpu order is not a total order, and for sorted = false', { skip: SKIP }, async () => {
  const rng = new Rng(2);
  const x = randomArray(rng, 40 * 50);
  x[777] = NaN;
  await compareExact('TopK with a NaN', () => topk(tf.tensor2d(x, [40, 50]), 50), { fallback: ['TopK'] });
  const infs = Float32Array.from([Infinity, 1, -Infinity, Infinity, -Infinity, 0, Infinity, 2]);
  await compareExact('TopK repeated ±∞, k < d', () => topk(tf.tensor1d(infs), 3), { fallback: ['TopK'] });
  const y = randomArray(rng, 30 * 20);
  await compareExact('TopK unsorted', () => topk(tf.tensor2d(y, [30, 20]), 5, false), { fallback: ['TopK'] });
});

test('Cumsum matches cpu bit for bit along the last axis: exclusive, reverse, int32', { skip: SKIP }, async () => {
  const rng = new Rng(3);
  for (const shape of [[420, 784], [3, 4, 17], [1000], [6, 1]]) {
    const ints = randomArray(rng, size(shape), 5).map(Math.round);
    const random = randomArray(rng, size(shape));
    const int32 = Int32Array.from(randomArray(rng, size(shape), 2 ** 29).map(Math.round)); // sums wrap
    const axis = shape.length - 1;
    for (const exclusive of [false, true]) {
      for (const reverse of [false, true]) {
        const label = `Cumsum [${shape}] exclusive=${exclusive} reverse=${reverse}`;
        await compareExact(`${label} integers`, () => tf.cumsum(tf.tensor(ints, shape), axis, exclusive, reverse), { native: ['Cumsum'] });
        await compareExact(`${label} random`, () => tf.cumsum(tf.tensor(random, shape), axis, exclusive, reverse), { native: ['Cumsum'] });
        await compareExact(`${label} int32`, () => tf.cumsum(tf.tensor(int32, shape, 'int32'), axis, exclusive, reverse), {
          native: ['Cumsum'],
        });
      }
    }
  }
});

test('Cumsum on another axis, or of bool, falls back to the cpu kernel', { skip: SKIP }, async () => {
  const rng = new Rng(4);
  const x = randomArray(rng, 6 * 5 * 4);
  await compareExact('Cumsum axis 0', () => tf.cumsum(tf.tensor3d(x, [6, 5, 4]), 0, true, true), { fallback: ['Cumsum'] });
  await compareExact('Cumsum axis 1', () => tf.cumsum(tf.tensor3d(x, [6, 5, 4]), 1), { fallback: ['Cumsum'] });
  await compareExact('Cumsum of bool', () => tf.cumsum(tf.tensor1d([1, 0, 1, 1], 'bool')), { fallback: ['Cumsum'] });
});
