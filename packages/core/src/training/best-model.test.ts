import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpu } from '../testing/fixtures.ts';
import { bestModelSaver } from './best-model.ts';
import { line, policyContext } from './testing.ts';

await cpu();

test('the best-model saver stores the model when held-out PGD accuracy beats the run’s best, never on a CO line', async () => {
  const p = policyContext();
  const saves: unknown[] = [];
  const save = p.store.saveModelAs.bind(p.store);
  p.store.saveModelAs = async (slot, model, meta) => {
    saves.push([slot, meta.trainedWith]);
    await save(slot, model, meta);
  };
  const saver = bestModelSaver();
  await saver.onStart!(p.ctx, [line(1, 8, { pgd_acc: 0.5 }), { epoch: 1, step: 8, event: 'x' } as never]);
  for (const l of [
    line(2, 12, { pgd_acc: 0.45 }), // below the resumed run's 0.5
    { ...line(2, 16, { pgd_acc: 0.9 }), co: true as const }, // flagged: not trusted
    line(3, 20, { pgd_acc: 0.6 }),
    line(3, 24, { pgd_acc: 0.6 }), // equal is not better
    line(4, 28, { pgd_acc: 0.7 }),
  ])
    assert.equal(await saver.afterHeldOut!(p.ctx, l), undefined, 'it never steers the loop');
  assert.deepEqual(saves, [
    ['best', { tag: 't', epoch: 3, step: 20, heldout_pgd_acc: 0.6 }],
    ['best', { tag: 't', epoch: 4, step: 28, heldout_pgd_acc: 0.7 }],
  ]);
  assert.equal(p.store.savedModel('best')!.meta.dataset, 'blobs');
  p.dispose();
});
