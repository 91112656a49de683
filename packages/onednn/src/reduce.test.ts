// Native Sum / Mean / Softmax vs tf.js cpu, and the reduction planner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { reducePlan } from './kernels/reduce.ts';
import { compare, randomArray, Rng, size, SKIP } from './test-util.ts';

test('reducePlan views contiguous reductions as [outer, R, inner]', () => {
  assert.deepEqual(reducePlan([128, 7, 7, 32], [0, 1, 2], false), { outer: 1, r: 128 * 49, inner: 32, outShape: [32] });
  assert.deepEqual(reducePlan([128, 10], 1, true), { outer: 128, r: 10, inner: 1, outShape: [128, 1] });
  assert.deepEqual(reducePlan([4, 5, 6], 1, false), { outer: 4, r: 5, inner: 6, outShape: [4, 6] });
  // size-1 dims between reduced axes do not break the block
  assert.deepEqual(reducePlan([4, 1, 5, 6], [0, 2], false), { outer: 1, r: 20, inner: 6, outShape: [1, 6] });
  assert.equal(reducePlan([4, 5, 6], [0, 2], false), null);
});

/** [shape, axis, keepDims] covering last axis, leading axes, a middle block, all axes, and a scattered set. */
const CASES: [number[], number | number[] | null, boolean][] = [
  [[128, 10], 1, false],
  [[128, 10], -1, true],
  [[64, 7, 7, 32], [0, 1, 2], false], // a conv bias gradient
  [[64, 7, 7, 32], [1, 2], true], // global average pool
  [[100, 300], 0, false],
  [[3, 200_000], 1, false], // few long rows (split across threads)
  [[2, 70_000, 3], 1, false], // few narrow columns over long rows
  [[2, 10, 40_000], 1, false], // wide rows (column split)
  [[1000], null, false],
  [[5, 6, 7], null, true],
  [[4, 5, 6], [0, 2], false], // not one block: cpu kernel
];

for (const kernel of ['Sum', 'Mean'] as const) {
  const op = kernel === 'Sum' ? tf.sum : tf.mean;
  test(`${kernel} matches cpu over axis patterns`, { skip: SKIP }, async () => {
    const rng = new Rng(1);
    for (const [shape, axis, keepDims] of CASES) {
      const xv = randomArray(rng, size(shape));
      const supported = reducePlan(shape, axis ?? undefined, keepDims) !== null;
      await compare(
        `${kernel} [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`,
        () => op(tf.tensor(xv, shape), axis ?? undefined, keepDims),
        {
          tol: 1e-5,
          ...(supported ? { native: [kernel] } : { fallback: [kernel] }),
        },
      );
    }
  });
}

test('Softmax matches cpu', { skip: SKIP }, async () => {
  const rng = new Rng(2);
  for (const shape of [
    [1, 3],
    [128, 10],
    [4, 5, 100],
    [2000, 40],
  ]) {
    const xv = randomArray(rng, size(shape), 5);
    await compare(`Softmax [${shape}]`, () => tf.softmax(tf.tensor(xv, shape)), { tol: 1e-6, native: ['Softmax'] });
  }
});
