import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpu } from '../testing/fixtures.ts';
import { danskinCheck } from './danskin.ts';

await cpu();

test('Danskin: ∇φ(θ) by finite differences equals the gradient at the exact adversarial point', () => {
  for (const seed of [0, 1, 2]) {
    const r = danskinCheck({ seed, eps: 0.1 });
    assert.equal(r.deltaIsExact, true, 'FGSM finds δ* = −ε·y·sign(w) on a linear model');
    assert.ok(r.relativeError < 1e-4, `seed ${seed}: relative error ${r.relativeError}`);
  }
});

test('differentiating through the PGD iterations gives a different gradient', () => {
  const r = danskinCheck({ seed: 0 });
  assert.ok(r.unrolledRelativeDifference > 1e-2, `unrolled vs Danskin differ by ${r.unrolledRelativeDifference}`);
});
