import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atChance } from './chance.ts';

test('atChance: a dead run (10% at loss ln 10) is at chance; a learning or overfitting one is not', () => {
  // The metrics of advlab's PGD-AT ε = 0.2 seed-1 run after epoch 1 and epoch 3.
  assert.equal(atChance({ clean_acc: 0.095, loss: 2.3038 }, 10), true);
  assert.equal(atChance({ clean_acc: 0.087, loss: 2.3027 }, 10), true);
  // Learning: accuracy well above chance, or loss well below ln K.
  assert.equal(atChance({ clean_acc: 0.54, loss: 2.01 }, 10), false);
  assert.equal(atChance({ clean_acc: 0.12, loss: 1.6 }, 10), false);
  // Catastrophic overfitting lowers robust, not clean, accuracy: not at chance.
  assert.equal(atChance({ clean_acc: 0.39, loss: 0.07 }, 10), false);
  // Two classes: chance is 50%, ln 2.
  assert.equal(atChance({ clean_acc: 0.52, loss: 0.69 }, 2), true);
  assert.throws(
    () => atChance({ clean_acc: 0.1, loss: 2.3 }, 1),
    (e: any) => e.code === 'E_CONFIG' && /numClasses/.test(e.message),
  );
});
