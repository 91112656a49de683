import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epsilonAt, learningRate } from './schedules.ts';

test('learning-rate schedules', () => {
  assert.equal(learningRate('constant', 0.1, 0.9), 0.1);
  assert.equal(learningRate('piecewise', 0.1, 0.49), 0.1);
  assert.ok(Math.abs(learningRate('piecewise', 0.1, 0.6) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRate('piecewise', 0.1, 0.8) - 0.001) < 1e-12);
  assert.equal(learningRate('cyclic', 0.2, 0), 0);
  assert.ok(Math.abs(learningRate('cyclic', 0.2, 0.4) - 0.2) < 1e-12);
  assert.ok(Math.abs(learningRate('cyclic', 0.2, 0.7) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate('cyclic', 0.2, 1)) < 1e-12);
  assert.throws(() => learningRate('cosine' as never, 0.1, 0), /schedule: expected/);
});

test('ε ramp-up', () => {
  assert.equal(epsilonAt(0.3, 0, 0), 0.3);
  assert.ok(Math.abs(epsilonAt(0.3, 2, 1) - 0.15) < 1e-12);
  assert.equal(epsilonAt(0.3, 2, 5), 0.3);
});
