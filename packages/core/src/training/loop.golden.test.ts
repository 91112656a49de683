// The training loop's numbers are pinned: loop.golden.json was recorded from the loop as it stood before it
// was split into a driver, a step and policies, so any change to a metric, an RNG draw or the order of the
// store writes and hook calls shows up here. Regenerate only for an intended change:
//   ADVLAB_UPDATE_GOLDEN=1 node --conditions=source --import tsx --test packages/core/src/training/loop.golden.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { cpu } from '../testing/fixtures.ts';
import { blobConfig, blobHeldOut, blobModel, blobTrain } from '../testing/training.ts';
import type { ModelMeta } from '../models/meta.ts';
import { trainAdversarial, type TrainingHooks } from './adversarial.ts';
import type { AdversarialTrainingConfig } from './config.ts';
import { type CheckpointRef, MemoryTrainingStore, type TrainingStore } from './store.ts';
import type { LoopState } from './policy.ts';

await cpu();

const GOLDEN = join(import.meta.dirname, 'loop.golden.json');

/** FNV-1a over the float32 bits of every weight: pins the weights (hence every RNG draw) compactly. */
function weightsHash(model: tfl.LayersModel): string {
  let h = 0x811c9dc5;
  for (const w of model.getWeights()) {
    const bytes = new Uint8Array((w.dataSync() as Float32Array).slice().buffer);
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const untimed = (o: object) => {
  const { seconds: _s, examples_per_s: _e, ...rest } = o as Record<string, unknown>;
  return rest;
};

/** One timeline of store writes and hook calls, in the order they happened. */
class RecordingStore implements TrainingStore {
  constructor(
    readonly log: unknown[],
    readonly inner = new MemoryTrainingStore(),
  ) {}
  appendMetrics(line: object): void {
    this.log.push(['append', untimed(line)]);
    this.inner.appendMetrics(line);
  }
  readMetrics<T>(): T[] {
    return this.inner.readMetrics<T>();
  }
  truncateMetrics(keep: (line: Record<string, unknown>) => boolean): void {
    this.inner.truncateMetrics(keep);
    this.log.push(['truncate', this.inner.readMetrics().length]);
  }
  async writeCheckpoint(epoch: number, model: tfl.LayersModel, optimizer: tf.Optimizer, state: object, meta: ModelMeta): Promise<void> {
    this.log.push(['checkpoint', epoch, untimed(state), meta, weightsHash(model)]);
    await this.inner.writeCheckpoint(epoch, model, optimizer, state, meta);
  }
  latestCheckpoint(): CheckpointRef | undefined {
    return this.inner.latestCheckpoint();
  }
  async restoreCheckpoint(ckpt: CheckpointRef, model: tfl.LayersModel, optimizer: tf.Optimizer): Promise<LoopState> {
    const s = await this.inner.restoreCheckpoint(ckpt, model, optimizer);
    this.log.push(['restore', ckpt.epoch, untimed(s), weightsHash(model)]);
    return s;
  }
  async saveModelAs(slot: 'best' | 'model', model: tfl.LayersModel, meta: ModelMeta): Promise<void> {
    this.log.push(['save', slot, meta, weightsHash(model)]);
    await this.inner.saveModelAs(slot, model, meta);
  }
}

const recordingHooks = (log: unknown[], crashAt?: { epoch: number; batch: number }): TrainingHooks => ({
  onBatch: (p) => {
    log.push(['batch', p.epoch, p.epochs, p.batch, p.batches, p.loss, p.advAcc, p.align ?? null]);
    if (crashAt && p.epoch === crashAt.epoch && p.batch === crashAt.batch) throw new Error('simulated kill');
  },
  onMetrics: (m) => log.push(['metrics', m.epoch, m.step]),
  onEvent: (e) => log.push(['event', e]),
});

const META: ModelMeta = { dataset: 'blobs', trainedWith: { tag: 'golden' } };

/** Blob-fixture runs covering every method, both CO rollbacks, stop and warn, ε ramp and mid-epoch lines. */
const GOLDEN_RUNS: Record<string, Partial<AdversarialTrainingConfig>> = {
  'fgsm-rs': {},
  pgd: { method: 'pgd', steps: 2 },
  standard: { method: 'standard' },
  trades: { method: 'trades', steps: 2 },
  gradalign: { method: 'gradalign' },
  // CO at end-of-epoch lines: rollback with α/2, then with GradAlign, then "no rollback left".
  'rollback-twice': { method: 'fgsm', eps: 0.3, lr: 0.1, schedule: 'constant', epochs: 4, onCo: 'rollback' },
  // CO on the first line of epoch 3: rolled back mid-epoch.
  'rollback-mid-epoch': { method: 'fgsm-rs', eps: 0.2, lr: 0.05, epochs: 4, onCo: 'rollback', co: { pgdDrop: 0.05 } },
  stop: { method: 'fgsm-rs', eps: 0.2, lr: 0.05, epochs: 4, onCo: 'stop', co: { pgdDrop: 0.05 } },
  warn: { method: 'fgsm', eps: 0.3, lr: 0.1, schedule: 'constant', epochs: 4, onCo: 'warn' },
  // (An explicit --alpha cannot be combined with a ramp: ε = 0 on the first batch makes the scaled α 0.)
  'eps-ramp': { epsRampEpochs: 2, evalEvery: 3 },
  // A rollback inside the ramp: the halved α is scaled with ε.
  'rollback-in-ramp': { method: 'fgsm', eps: 0.3, lr: 0.1, schedule: 'constant', epochs: 4, onCo: 'rollback', epsRampEpochs: 3 },
  'sgd-decay-limit': { method: 'pgd', steps: 1, optimizer: 'sgd', weightDecay: 5e-4, limit: 200, evalEvery: 0, schedule: 'constant' },
};

async function record(over: Partial<AdversarialTrainingConfig>): Promise<unknown> {
  const log: unknown[] = [];
  const store = new RecordingStore(log);
  const model = blobModel();
  const r = await trainAdversarial(model, blobTrain, blobHeldOut, blobConfig(over), store, META, recordingHooks(log));
  const out = { stoppedByCo: r.stoppedByCo, metrics: r.metrics.map(untimed), final: weightsHash(model), log };
  store.inner.dispose();
  model.dispose();
  return out;
}

/** Killed in epoch 2, then resumed from the same store by a fresh model: both halves of the timeline. */
async function recordResume(): Promise<unknown> {
  const log: unknown[] = [];
  const store = new RecordingStore(log);
  const over: Partial<AdversarialTrainingConfig> = { method: 'fgsm', eps: 0.3, lr: 0.1, schedule: 'constant', onCo: 'rollback' };
  const first = blobModel();
  await assert.rejects(
    trainAdversarial(first, blobTrain, blobHeldOut, blobConfig(over), store, META, recordingHooks(log, { epoch: 2, batch: 6 })),
    /simulated kill/,
  );
  log.push(['killed']);
  const model = blobModel();
  const r = await trainAdversarial(model, blobTrain, blobHeldOut, blobConfig(over), store, META, recordingHooks(log));
  const out = { stoppedByCo: r.stoppedByCo, metrics: r.metrics.map(untimed), final: weightsHash(model), log };
  store.inner.dispose();
  first.dispose();
  model.dispose();
  return out;
}

async function recordAll(): Promise<Record<string, unknown>> {
  const all: Record<string, unknown> = {};
  for (const [name, over] of Object.entries(GOLDEN_RUNS)) all[name] = { config: over, ...((await record(over)) as object) };
  all.resume = await recordResume();
  return all;
}

/** One array element per line: a diff of the golden file then points at the line that moved. */
function stringify(golden: Record<string, unknown>): string {
  const runs = Object.entries(golden).map(([name, run]) => {
    const fields = Object.entries(run as Record<string, unknown>).map(([k, v]) =>
      Array.isArray(v)
        ? `    ${JSON.stringify(k)}: [\n${v.map((e) => `      ${JSON.stringify(e)}`).join(',\n')}\n    ]`
        : `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`,
    );
    return `  ${JSON.stringify(name)}: {\n${fields.join(',\n')}\n  }`;
  });
  return `{\n${runs.join(',\n')}\n}\n`;
}

test('the training loop reproduces the recorded metrics, RNG draws, store writes and hook order', async () => {
  const now = await recordAll();
  if (process.env.ADVLAB_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, stringify(now));
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(now), Object.keys(golden));
  for (const name of Object.keys(golden)) assert.deepEqual(JSON.parse(JSON.stringify(now[name])), golden[name], name);
});

test('the golden runs exercise what they are named after', () => {
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, { log: unknown[][]; stoppedByCo: boolean }>;
  const events = (name: string) => golden[name]!.log.filter((e) => e[0] === 'event').map((e) => e[1] as string);
  const rollbacks = (name: string) => events(name).filter((e) => /rolled back/.test(e));
  assert.equal(rollbacks('rollback-twice').length, 2);
  assert.ok(rollbacks('rollback-twice')[1]!.includes('gradalign'));
  assert.ok(events('rollback-twice').some((e) => /no rollback left/.test(e)));
  assert.equal(rollbacks('rollback-mid-epoch').length, 1);
  assert.equal(golden.stop!.stoppedByCo, true);
  assert.ok(events('warn').some((e) => /catastrophic overfitting at epoch/.test(e)));
  assert.ok(golden.resume!.log.some((e) => e[0] === 'restore'));
  assert.ok(events('resume').some((e) => /^resumed from epoch 1/.test(e)));
});
