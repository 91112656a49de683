import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median } from './median.ts';

test('median: odd and even counts, unsorted input left unsorted, none is NaN', () => {
  const values = [3, 1, 2];
  assert.equal(median(values), 2);
  assert.deepEqual(values, [3, 1, 2]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median(Float32Array.from([-1])), -1);
  assert.ok(Number.isNaN(median([])));
});
