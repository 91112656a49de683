import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { whereRows } from './norms.ts';

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
