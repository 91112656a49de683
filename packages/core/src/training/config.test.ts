import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.ts';
import { optionInfo } from '../config/options.ts';
import { resolveTrainingConfig, trainingOptions } from './config.ts';

test('resolveTrainingConfig fills the documented defaults', () => {
  const c = resolveTrainingConfig({});
  assert.deepEqual(c, {
    method: 'standard',
    eps: 0.1,
    epochs: 5,
    batchSize: 128,
    optimizer: 'adam',
    lr: 0.001,
    momentum: 0.9,
    weightDecay: 0,
    schedule: 'constant',
    epsRampEpochs: 0,
    seed: 0,
    heldOut: 1000,
    evalEvery: 0,
    alignExamples: 256,
    pgdEvalSteps: 10,
    onCo: 'warn',
    co: {},
  });
});

// One bad value per option: the error names the option's key.
const BAD: Record<keyof typeof trainingOptions, unknown> = {
  method: 'pgd2',
  eps: -0.1,
  steps: 0,
  alpha: 0,
  lambda: -1,
  beta: -1,
  epochs: 0,
  batchSize: 2.5,
  optimizer: 'rmsprop',
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
