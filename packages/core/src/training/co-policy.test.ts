import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { coPolicy, MAX_ROLLBACKS, rollbackState } from './co-policy.ts';
import type { LoopState } from './policy.ts';
import { line, policyContext } from './testing.ts';

await cpu();

const restored: LoopState = { epoch: 2, step: 16, rng: 77, method: 'fgsm', rollbacks: 0, seconds: 3 };

test('rollbackState: an FGSM method first halves its step (default α per method), then switches to GradAlign, then gives up', () => {
  const fgsm = rollbackState({ ...restored, epoch: 3, step: 20, rng: 5 }, restored, 0.1)!;
  assert.deepEqual(fgsm, { ...restored, method: 'fgsm', alpha: 0.05, rollbacks: 1 }, 'the checkpoint’s epoch, step and RNG');
  assert.equal(rollbackState({ ...restored, method: 'fgsm-rs' }, restored, 0.1)!.alpha, 0.0625);
  assert.equal(rollbackState({ ...restored, method: 'fgsm-rs', alpha: 0.08 }, restored, 0.1)!.alpha, 0.04);
  const second = rollbackState(fgsm, restored, 0.1)!;
  assert.equal(second.method, 'gradalign');
  assert.equal(second.alpha, undefined);
  assert.equal(second.rollbacks, 2);
  assert.equal(rollbackState({ ...restored, method: 'pgd' }, restored, 0.1)!.method, 'gradalign', 'not FGSM: GradAlign at once');
  assert.equal(rollbackState(second, restored, 0.1), undefined);
  assert.equal(MAX_ROLLBACKS, 2);
});

test('the CO policy marks the lines the monitor fires on; warn reports and goes on', async () => {
  const p = policyContext();
  const policy = coPolicy('warn');
  await policy.onStart!(p.ctx, []);
  const ok = line(1, 4, {});
  policy.inspect!(ok);
  assert.equal(ok.co, undefined);
  assert.equal(await policy.afterHeldOut!(p.ctx, ok), undefined);
  const bad = line(1, 8, { fgsm_acc: 0.9, clean_acc: 0.8, pgd_acc: 0.8 });
  policy.inspect!(bad);
  assert.equal(bad.co, true);
  assert.deepEqual(bad.co_rules, ['fgsm-above-clean']);
  assert.equal(await policy.afterHeldOut!(p.ctx, bad), undefined);
  assert.equal(p.events.length, 2);
  assert.equal(p.events[0], 'co-flag fgsm-above-clean');
  assert.match(p.events[1]!, /^catastrophic overfitting at epoch 1, step 8: FGSM accuracy 90\.0% above clean 80\.0%/);
  assert.equal(p.store.readMetrics().length, 0, 'warn writes nothing');
  p.dispose();
});

test('the CO policy in stop mode asks the driver to stop; the monitor remembers a resumed run’s best', async () => {
  const p = policyContext();
  const policy = coPolicy('stop', { pgdDrop: 0.1 });
  await policy.onStart!(p.ctx, [line(1, 8, { pgd_acc: 0.6 }), { epoch: 1, step: 8, event: 'an event line' } as never]);
  const dropped = line(2, 16, { pgd_acc: 0.45 });
  policy.inspect!(dropped);
  assert.deepEqual(dropped.co_rules, ['pgd-drop']);
  assert.deepEqual(await policy.afterHeldOut!(p.ctx, dropped), { stop: true });
  assert.match(p.events.at(-1)!, /^catastrophic overfitting at epoch 2: stopping \(PGD accuracy 45\.0%/);
  p.dispose();
});

test('the CO policy in rollback mode restores the checkpoint, logs an event line and rebuilds the monitor from the lines up to it', async () => {
  const p = policyContext({ config: { method: 'fgsm', eps: 0.1 }, state: { method: 'fgsm', epoch: 2, step: 16 } });
  const policy = coPolicy('rollback', { pgdDrop: 0.1 });
  await policy.onStart!(p.ctx, []);
  const first = line(1, 8, { pgd_acc: 0.3 });
  policy.inspect!(first);

  // No checkpoint yet: nothing to roll back to.
  const early = line(1, 8, { fgsm_acc: 0.95 });
  policy.inspect!(early);
  assert.equal(await policy.afterHeldOut!(p.ctx, early), undefined);
  assert.match(p.events.at(-1)!, /no rollback left \(no checkpoint, or two already done\): continuing$/);

  const saved = p.model.getWeights().map((w) => Array.from(w.dataSync()));
  await p.store.writeCheckpoint(1, p.model, p.optimizer, { ...p.ctx.state, epoch: 1, step: 8, rng: 42 }, {});
  const zeros = p.model.getWeights().map((w) => tf.zerosLike(w));
  p.model.setWeights(zeros); // training went on
  tf.dispose(zeros);
  policy.inspect!(line(2, 12, { pgd_acc: 0.7 }));
  const collapsed = line(2, 16, { pgd_acc: 0.35 });
  policy.inspect!(collapsed);
  assert.deepEqual(collapsed.co_rules, ['pgd-drop']);
  const control = await policy.afterHeldOut!(p.ctx, collapsed);
  assert.deepEqual(control, { restart: { epoch: 1, step: 8, rng: 42, method: 'fgsm', alpha: 0.05, rollbacks: 1, seconds: 0 } });
  assert.deepEqual(
    p.model.getWeights().map((w) => Array.from(w.dataSync())),
    saved,
    'the checkpoint’s weights are back',
  );
  assert.deepEqual(p.store.readMetrics(), [
    { epoch: 2, step: 16, event: 'catastrophic overfitting: rolled back to epoch 1, continuing with fgsm α=0.0500' },
  ]);
  // The best PGD accuracy is epoch 1's 0.3 again, not the rolled-back 0.7: 0.35 is no drop now.
  const rerun = line(2, 16, { pgd_acc: 0.35 });
  policy.inspect!(rerun);
  assert.equal(rerun.co, undefined);
  p.dispose();
});
