import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { batchRows, whereRows } from './norms.ts';

await cpu();

test('whereRows picks whole rows, bit for bit, for 2-D and 4-D batches', async () => {
  const a = tf.tensor4d([1.5, -2.25, 3e-30, -0.1, 7, 8, 9, 1e30], [4, 2, 1, 1]);
  const b = tf.tensor4d([10, 20, 30, 40, 50, 60, -70, 80], [4, 2, 1, 1]);
  const cond = tf.tensor1d([true, false, false, true], 'bool');
  const before = tf.memory().numTensors;
  const got = whereRows(cond, a, b);
  assert.equal(tf.memory().numTensors, before + 1);
  assert.deepEqual(Array.from(got.dataSync()), Array.from(Float32Array.from([1.5, -2.25, 30, 40, 50, 60, 9, 1e30])));
  assert.deepEqual(got.shape, [4, 2, 1, 1]);
  const m2 = whereRows(
    tf.tensor1d([false, true], 'bool'),
    tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]),
    tf.tensor2d([
      [-1, -2, -3],
      [-4, -5, -6],
    ]),
  );
  assert.deepEqual(await m2.array(), [
    [-1, -2, -3],
    [4, 5, 6],
  ]);
  tf.dispose([a, b, cond, got, m2]);
});

test('batchRows writes a sub-batch back at its rows and leaves the others and its inputs untouched', async () => {
  const into = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2, 1, 1]);
  const rows = tf.tensor4d([-1, -2, -3, -4], [2, 2, 1, 1]);
  const before = tf.memory().numTensors;
  const { written, spread, mask, norms } = tf.tidy(() => {
    const place = batchRows([3, 1], 4);
    return {
      written: place.write(rows, into),
      spread: place.spread(rows),
      mask: place.mask,
      norms: place.spread(tf.tensor1d([0.5, 0.25])),
    };
  });
  assert.equal(tf.memory().numTensors, before + 4);
  assert.deepEqual(Array.from(written.dataSync()), [1, 2, -3, -4, 5, 6, -1, -2]);
  assert.deepEqual(Array.from(spread.dataSync()), [0, 0, -3, -4, 0, 0, -1, -2]);
  assert.deepEqual(Array.from(mask.dataSync()), [0, 1, 0, 1]);
  assert.deepEqual(Array.from(norms.dataSync()), [0, 0.25, 0, 0.5]);
  assert.deepEqual(Array.from(into.dataSync()), [1, 2, 3, 4, 5, 6, 7, 8]);
  tf.dispose([into, rows, written, spread, mask, norms]);
});

test('batchRows rejects an index out of range or repeated, and a sub-batch of the wrong length', () => {
  assert.throws(() => batchRows([0, 4], 4), /row 4 is not a distinct index in \[0, 4\)/);
  assert.throws(() => batchRows([1, 1], 4), /row 1 is not a distinct index/);
  assert.throws(() => batchRows([0.5], 4), /row 0.5/);
  const before = tf.memory().numTensors;
  assert.throws(() => tf.tidy(() => batchRows([0, 2], 4).spread(tf.zeros([3, 2]))), /batchRows: 3 rows for 2 indices/);
  assert.equal(tf.memory().numTensors, before);
});
