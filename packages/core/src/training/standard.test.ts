import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { tinyImages } from '../data/synthetic.ts';
import { createModel } from '../models/zoo.ts';
import { trainStandard } from './standard.ts';

await cpu();
const data = tinyImages({ n: 256, nTest: 64, classes: 4, seed: 3 });

function weightsOf(m: ReturnType<typeof createModel>): number[] {
  return m.getWeights().flatMap((w) => Array.from(w.dataSync()));
}

test('plain training lowers the loss, is deterministic for a seed, and reports progress', () => {
  const run = (seed: number) => {
    const model = createModel('wong-cnn', { inputShape: [8, 8, 1], numClasses: 4, seed });
    const batches: number[] = [];
    const h = trainStandard(model, data.train, { epochs: 3, batchSize: 32, lr: 0.01, seed, onBatch: (p) => batches.push(p.batch) });
    return { model, h, batches };
  };
  const a = run(1);
  const b = run(1);
  assert.ok(a.h[2]!.loss < a.h[0]!.loss * 0.7, `loss ${a.h.map((m) => m.loss.toFixed(3))}`);
  assert.ok(a.h[2]!.train_accuracy > 0.8, `train accuracy ${a.h[2]!.train_accuracy}`);
  assert.deepEqual(weightsOf(a.model), weightsOf(b.model), 'same seed, same weights');
  assert.equal(a.batches.length, 3 * 8);
  const c = run(2);
  assert.notDeepEqual(weightsOf(a.model), weightsOf(c.model));
});

test('tf.js memory: numTensors does not grow across training epochs', () => {
  const model = createModel('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed: 1, hidden: 16 });
  trainStandard(model, data.train, { epochs: 1, batchSize: 64, seed: 1 });
  const before = tf.memory().numTensors;
  trainStandard(model, data.train, { epochs: 2, batchSize: 64, seed: 1 });
  // The optimiser is created and disposed per call, so nothing it made survives.
  assert.equal(tf.memory().numTensors, before);
});

test('bad training options are typed errors naming the flag', () => {
  const model = createModel('linear', { inputShape: [8, 8, 1], numClasses: 4, seed: 1 });
  assert.throws(() => trainStandard(model, data.train, { epochs: 0 }), /--epochs/);
  assert.throws(() => trainStandard(model, data.train, { epochs: 1, batchSize: 0 }), /--batch-size/);
  assert.throws(() => trainStandard(model, data.train, { epochs: 1, lr: -1 }), /--lr/);
});
