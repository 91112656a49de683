import { test } from 'node:test';
import assert from 'node:assert/strict';
import { debiasedEma } from './smoothing.ts';

test('debiased EMA: weight 0 is the identity, a constant stays constant, NaN passes through', () => {
  assert.deepEqual(debiasedEma([1, 5, 2], 0), [1, 5, 2]);
  for (const v of debiasedEma([0.7, 0.7, 0.7, 0.7], 0.9)) assert.ok(Math.abs(v - 0.7) < 1e-12);
  const s = debiasedEma([1, Number.NaN, 3], 0.5);
  assert.ok(Number.isNaN(s[1]!));
  assert.equal(s[0], 1, 'the first point is the value itself (debiased)');
  // After 1 then 3 with w = 0.5: (0.5·0.5 + 0.5·3) / (1 − 0.25) = 1.75 / 0.75.
  assert.ok(Math.abs(s[2]! - 1.75 / 0.75) < 1e-12);
  assert.throws(() => debiasedEma([1], 1), RangeError);
});
