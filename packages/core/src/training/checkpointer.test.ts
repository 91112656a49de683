import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { checkpointer, resumeFrom } from './checkpointer.ts';
import { policyContext } from './testing.ts';

await cpu();

const weights = (p: ReturnType<typeof policyContext>) => p.model.getWeights().map((w) => Array.from(w.dataSync()));

test('the checkpointer stores model, optimiser and state after each epoch and reports where', async () => {
  const p = policyContext();
  const state = { ...p.ctx.state, epoch: 3, step: 24, rng: 9 };
  await checkpointer().afterEpoch!(p.ctx, state);
  assert.deepEqual(p.events, ['checkpoint 3 memory:e-0003']);
  assert.equal(p.store.latestCheckpoint()!.epoch, 3);
  const back = await p.store.restoreCheckpoint(p.store.latestCheckpoint()!, p.model, p.optimizer);
  assert.deepEqual(back, JSON.parse(JSON.stringify(state)));
  p.dispose();
});

test('resumeFrom: nothing stored is a fresh start; lines without a checkpoint are dropped', async () => {
  const p = policyContext();
  assert.equal(await resumeFrom(p.store, p.model, p.optimizer), undefined);
  p.store.appendMetrics({ epoch: 1, step: 4 });
  assert.equal(await resumeFrom(p.store, p.model, p.optimizer), undefined);
  assert.deepEqual(p.store.readMetrics(), [], 'killed before the first checkpoint: start over cleanly');
  p.dispose();
});

test('resumeFrom restores the newest checkpoint and keeps only the lines up to its epoch', async () => {
  const p = policyContext();
  const saved = weights(p);
  await p.store.writeCheckpoint(1, p.model, p.optimizer, { ...p.ctx.state, epoch: 1, step: 8 }, {});
  for (const l of [
    { epoch: 1, step: 8 },
    { epoch: 1, step: 8, event: 'e' },
    { epoch: 2, step: 12 },
  ])
    p.store.appendMetrics(l);
  const ones = p.model.getWeights().map((w) => tf.onesLike(w));
  p.model.setWeights(ones);
  tf.dispose(ones);
  const r = await resumeFrom(p.store, p.model, p.optimizer);
  assert.equal(r!.state.epoch, 1);
  assert.equal(r!.state.step, 8);
  assert.equal(r!.from.location, 'memory:e-0001');
  assert.deepEqual(weights(p), saved);
  assert.deepEqual(p.store.readMetrics(), [
    { epoch: 1, step: 8 },
    { epoch: 1, step: 8, event: 'e' },
  ]);
  p.dispose();
});
