import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, trainedMlp } from '../testing/fixtures.ts';
import { Rng } from '../util/rng.ts';
import { meanLoss, meanLossHessian } from './hessian.ts';
import { measureCurvature } from './measure.ts';
import { hutchinsonTrace, topEigenvalues } from './spectrum.ts';

await cpu();

test('measureCurvature reports the weight Hessian and input measures of the first n examples, batch size aside', () => {
  const { classifier, vars, test: data } = trainedMlp(2);
  const model = { ...classifier, variables: Object.values(vars) };
  const before = tf.memory().numTensors;
  const stages: string[] = [];
  const opts = { n: 120, densitySteps: 20, seed: 3, onStage: (s: string) => stages.push(s) };
  const a = measureCurvature(model, data, { ...opts, batchSize: 500 });
  const b = measureCurvature(model, data, { ...opts, batchSize: 7, onStage: undefined });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(stages, [
    'loss',
    'top_eigenvalues',
    'trace',
    'density',
    'input_top_eigenvalue',
    'input_linearity_error',
    'input_elle',
    'input_cure',
  ]);
  assert.equal(a.n, 120);
  assert.equal(a.hessian.parameters, 8 * 32 + 32 + 32 * 4 + 4);
  // Batching changes only float32 summation order: the same seed gives the same estimates.
  assert.ok(Math.abs(a.loss - b.loss) < 1e-6);
  for (const [i, e] of a.hessian.top_eigenvalues.entries()) assert.ok(Math.abs(e - b.hessian.top_eigenvalues[i]!) < 1e-3 * Math.abs(e));
  assert.ok(Math.abs(a.hessian.trace - b.hessian.trace) < 1e-3 * Math.abs(a.hessian.trace));
  // CURE draws nothing; the other input measures draw random starts per batch, so only it is batch-independent.
  assert.ok(Math.abs(a.input.cure - b.input.cure) <= 1e-5 * a.input.cure, `cure: ${a.input.cure} vs ${b.input.cure}`);
  for (const k of ['top_eigenvalue', 'linearity_error', 'elle', 'cure'] as const) {
    assert.ok(a.input[k] > 0 && Number.isFinite(a.input[k]), `${k} = ${a.input[k]}`);
    assert.equal(a.input[k], a.input.summaries[k].mean);
    assert.ok(a.input.summaries[k].max >= a.input.summaries[k].median);
  }
  assert.equal(a.input.cure_h, 0.1 * Math.sqrt(8));
  // The same quantities straight from the solvers, with the report's stream of random numbers.
  const { x, y } = tf.tidy(() => ({
    x: tf.tensor4d(data.images.slice(0, 120 * 8), [120, 1, 1, 8]),
    y: tf.tensor1d(data.labels.slice(0, 120), 'int32'),
  }));
  const op = meanLossHessian(model, x, y);
  const rng = new Rng(3);
  assert.equal(a.loss, meanLoss(model, x, y));
  assert.deepEqual(a.hessian.top_eigenvalues, topEigenvalues(op, { top: 2, rng }).eigenvalues);
  assert.equal(a.hessian.trace, hutchinsonTrace(op, { rng }).trace);
  assert.ok(a.hessian.top_eigenvalues[0]! >= a.hessian.top_eigenvalues[1]!);
  assert.equal(a.hessian.density!.nodes[0]!.length, 20);
  tf.dispose([x, y]);
});

test('measureCurvature names a bad n, batch size or density steps', () => {
  const { classifier, vars, test: data } = trainedMlp(2);
  const model = { ...classifier, variables: Object.values(vars) };
  assert.throws(() => measureCurvature(model, data, { n: data.n + 1 }), /n: expected an integer in \[1, 400\]/);
  assert.throws(() => measureCurvature(model, data, { n: 10, batchSize: 0 }), /batchSize/);
  assert.throws(() => measureCurvature(model, data, { n: 10, densitySteps: -1 }), /densitySteps/);
});
