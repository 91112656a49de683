import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { blobConfig, blobHeldOut, blobModel, blobTrain, withoutTimings } from '../testing/training.ts';
import { trainAdversarial } from './adversarial.ts';
import type { AdversarialTrainingConfig } from './config.ts';
import { checkpointer } from './checkpointer.ts';
import { train } from './loop.ts';
import type { TrainingReporter } from './reporter.ts';
import { MemoryTrainingStore } from './store.ts';

await cpu();

const data = { train: blobTrain, heldOut: blobHeldOut };

/** A reporter that writes down every call, consecutive steps folded into one "step×k" entry. */
function recorder() {
  const calls: string[] = [];
  const numTensorsAtCheckpoint: number[] = [];
  const add = (name: string) => {
    const last = calls.at(-1);
    const m = last && /^step×(\d+)$/.exec(last);
    if (name === 'step' && m) calls[calls.length - 1] = `step×${Number(m[1]) + 1}`;
    else calls.push(name === 'step' ? 'step×1' : name);
  };
  const reporter: TrainingReporter = {
    onStart: (i) => add(`start ${i.firstEpoch}/${i.epochs} ×${i.batchesPerEpoch}`),
    onStep: () => add('step'),
    onHeldOut: (l) => add(`held-out ${l.epoch}:${l.step}`),
    onCoFlag: (f) => add(`co ${f.line.epoch}:${f.line.step} ${f.rules.join(',')}`),
    onEpochEnd: (e) => add(`epoch-end ${e.epoch}:${e.line.step}`),
    onCheckpoint: (c) => {
      numTensorsAtCheckpoint.push(tf.memory().numTensors);
      add(`checkpoint ${c.epoch} ${c.location}`);
    },
    onEvent: (msg) => add(`event ${msg.slice(0, 40)}`),
    onEnd: (r) => add(`end ${r.metrics.length} ${r.stoppedByCo}`),
  };
  return { calls, numTensorsAtCheckpoint, reporter, withoutEvents: () => calls.filter((c) => !c.startsWith('event')) };
}

test('a reporter sees start, steps, held-out lines, epoch ends, checkpoints and the end in order; numTensors stays flat', async () => {
  const model = blobModel();
  const before = tf.memory().numTensors;
  const store = new MemoryTrainingStore();
  const r = recorder();
  const result = await train(model, data, blobConfig(), store, {}, r.reporter);
  const epoch = (e: number) => [
    'step×4',
    `held-out ${e}:${8 * e - 4}`,
    'step×4',
    `held-out ${e}:${8 * e}`,
    `epoch-end ${e}:${8 * e}`,
    `checkpoint ${e} memory:e-000${e}`,
  ];
  assert.deepEqual(r.withoutEvents(), ['start 1/3 ×8', ...epoch(1), ...epoch(2), ...epoch(3), 'end 6 false']);
  // Events fall between a held-out line and what follows it, never inside a run of steps.
  for (const [i, c] of r.calls.entries()) if (c.startsWith('event')) assert.match(r.calls[i - 1]!, /^(held-out|event)/);
  assert.equal(result.metrics.length, 6);
  // From the first epoch on the store holds one checkpoint and one best model: nothing else accumulates.
  assert.equal(new Set(r.numTensorsAtCheckpoint).size, 1, `numTensors at checkpoints: ${r.numTensorsAtCheckpoint}`);
  store.dispose();
  assert.equal(tf.memory().numTensors, before, 'the optimiser and every step tensor are freed');
  model.dispose();
});

test('a CO rollback cuts the epoch short: no epoch end, no checkpoint, the epoch re-runs from the restored one', async () => {
  const store = new MemoryTrainingStore();
  const r = recorder();
  const c = blobConfig({ method: 'fgsm-rs', eps: 0.2, lr: 0.05, epochs: 4, onCo: 'rollback', co: { pgdDrop: 0.05 } });
  await train(blobModel(), data, c, store, {}, r.reporter);
  const co = r.calls.findIndex((x) => x.startsWith('co '));
  assert.ok(co > 0, r.calls.join('\n'));
  assert.match(r.calls[co - 1]!, /^held-out 3:20$/);
  assert.match(r.calls[co]!, /^co 3:20 pgd-drop/);
  assert.match(r.calls[co + 1]!, /^event catastrophic overfitting: rolled back/);
  assert.deepEqual(r.calls.slice(co + 2, co + 4), ['step×4', 'held-out 3:20']);
  assert.deepEqual(
    r.calls.filter((x) => x.startsWith('epoch-end')),
    ['epoch-end 1:8', 'epoch-end 2:16', 'epoch-end 3:24', 'epoch-end 4:32'],
  );
  assert.equal(r.calls.filter((x) => x.startsWith('checkpoint')).length, 4);
  store.dispose();
});

test('a CO stop ends the run at the flagged line: its epoch neither ends nor is checkpointed; onEnd says why', async () => {
  const store = new MemoryTrainingStore();
  const r = recorder();
  const c = blobConfig({ method: 'fgsm-rs', eps: 0.2, lr: 0.05, epochs: 4, onCo: 'stop', co: { pgdDrop: 0.05 } });
  const result = await train(blobModel(), data, c, store, {}, r.reporter);
  assert.equal(result.stoppedByCo, true);
  assert.deepEqual(r.withoutEvents().slice(-3), ['held-out 3:20', 'co 3:20 pgd-drop', 'end 5 true']);
  assert.equal(r.calls.filter((x) => x.startsWith('checkpoint')).length, 2);
  assert.equal(store.savedModel('model')!.meta.trainedWith!.epochs_done, 2);
  store.dispose();
});

test('several reporters are called in the order given, async ones awaited; a throwing reporter ends the run', async () => {
  const log: string[] = [];
  const slow: TrainingReporter = {
    onStep: async (s) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.push(`slow ${s.step}`);
    },
  };
  const fast: TrainingReporter = { onStep: (s) => void log.push(`fast ${s.step}`) };
  const store = new MemoryTrainingStore();
  const c = blobConfig({ method: 'standard', epochs: 1, evalEvery: 0 });
  await train(blobModel(), data, c, store, {}, [slow, fast]);
  assert.deepEqual(log, Array.from({ length: 8 }, (_, i) => [`slow ${i + 1}`, `fast ${i + 1}`]).flat());
  store.dispose();

  const broken = new MemoryTrainingStore();
  const boom: TrainingReporter = {
    onHeldOut: () => {
      throw new Error('reporter failed');
    },
  };
  await assert.rejects(train(blobModel(), data, c, broken, {}, boom), /reporter failed/);
  assert.equal(broken.readMetrics().length, 1, 'the line was written before the reporter saw it');
  broken.dispose();
});

test('train and trainAdversarial give the same run; a policy list without the best-model saver stores no best model', async () => {
  const c: AdversarialTrainingConfig = blobConfig({ epochs: 2 });
  const a = new MemoryTrainingStore();
  const b = new MemoryTrainingStore();
  const ra = await train(blobModel(), data, c, a, {});
  const rb = await trainAdversarial(blobModel(), blobTrain, blobHeldOut, c, b, {});
  assert.deepEqual(withoutTimings(ra.metrics), withoutTimings(rb.metrics));

  const bare = new MemoryTrainingStore();
  const rc = await train(blobModel(), data, c, bare, {}, [], [checkpointer()]);
  assert.equal(bare.savedModel('best'), undefined);
  assert.ok(bare.savedModel('model'));
  assert.equal(bare.latestCheckpoint()!.epoch, 2);
  assert.deepEqual(withoutTimings(rc.metrics), withoutTimings(ra.metrics), 'policies do not touch the numbers unless they act');
  for (const s of [a, b, bare]) s.dispose();
});

test('held-out input curvature: four more keys on every line at ε > 0, and not one other figure moves', async () => {
  const c = blobConfig({ method: 'fgsm-rs', epochs: 2 });
  const t0 = tf.memory().numTensors;
  const off = await trainAdversarial(blobModel(), blobTrain, blobHeldOut, c, new MemoryTrainingStore(), {});
  const t1 = tf.memory().numTensors;
  const on = await trainAdversarial(blobModel(), blobTrain, blobHeldOut, { ...c, curvatureExamples: 48 }, new MemoryTrainingStore(), {});
  const t2 = tf.memory().numTensors;
  const keys = ['input_top_eigenvalue', 'linearity_error', 'elle', 'cure'] as const;
  assert.equal(on.metrics.length, off.metrics.length);
  for (const line of on.metrics) {
    for (const k of keys) assert.ok(Number.isFinite(line[k]) && line[k]! >= -1e-6, `${k} = ${line[k]}`);
  }
  const stripped = on.metrics.map((l) => Object.fromEntries(Object.entries(l).filter(([k]) => !(keys as readonly string[]).includes(k))));
  assert.deepEqual(withoutTimings(stripped as typeof on.metrics), withoutTimings(off.metrics));
  // Each run keeps its model and store alive; the measures add nothing to that.
  assert.equal(t2 - t1, t1 - t0, 'the measures free every tensor they make');
});
