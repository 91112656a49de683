import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.ts';
import { optionInfo } from '../config/options.ts';
import { resolveTrainingConfig, trainingOptions } from './config.ts';

test("resolveTrainingConfig fills each option's declared default and leaves optional ones out", () => {
  const c: Record<string, unknown> = resolveTrainingConfig({});
  for (const [key, schema] of Object.entries(trainingOptions)) {
    const declared = optionInfo(schema)!.defaultValue;
    if (declared === undefined) assert.equal(key in c, false, key);
    else assert.deepEqual(c[key], declared, key);
  }
  // The defaults documented runs were made with (docs/training.md); the golden tests pin their effect.
  assert.deepEqual([c.method, c.eps, c.epochs, c.batchSize, c.lr, c.heldOut, c.pgdEvalSteps], ['standard', 0.1, 5, 128, 0.001, 1000, 10]);
});

// One bad value per option: the error names the option's key.
const BAD: Record<keyof typeof trainingOptions, unknown> = {
  method: 'pgd2',
  eps: -0.1,
  steps: 0,
  alpha: 0,
  lambda: -1,
  mu: -1,
  fgsmInit: 'uniform',
  beta: -1,
  epochs: 0,
  batchSize: 2.5,
  optimizer: 'rmsprop',
  rho: 0,
  hessianEvery: 0,
  hessianEstimator: 'fisher',
  lr: 0,
  momentum: -0.5,
  weightDecay: -1,
  schedule: 'cosine',
  epsRampEpochs: -1,
  seed: 2 ** 32,
  limit: 0,
  heldOut: 0,
  evalEvery: -1,
  alignExamples: 0,
  pgdEvalSteps: 0,
  curvatureExamples: -1,
  onCo: 'ignore',
  co: { pgdDrop: 'x' },
};

test('a bad value of each option is a ConfigError naming its key', () => {
  for (const [key, bad] of Object.entries(BAD)) {
    assert.throws(
      () => resolveTrainingConfig({ method: 'pgd', [key]: bad }),
      (e: unknown) => e instanceof ConfigError && e.option.split('.')[0] === key && e.message.startsWith(`${e.option}: expected `),
      key,
    );
  }
  assert.throws(
    () => resolveTrainingConfig({ co: { pgdDrops: 0.1 } as never }),
    (e: unknown) => e instanceof ConfigError && e.option === 'co.pgdDrops',
  );
});

test('optional options stay absent unless given', () => {
  assert.equal('beta' in resolveTrainingConfig({ method: 'trades' }), false);
  assert.equal(resolveTrainingConfig({ method: 'trades', beta: 3 }).beta, 3);
});

test('every training option has help and an expectation', () => {
  for (const [key, s] of Object.entries(trainingOptions)) {
    const info = optionInfo(s);
    assert.ok(info?.help && info.expected, key);
  }
});
