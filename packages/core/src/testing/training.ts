/**
 * A tiny adversarial-training problem (4 Gaussian blobs in 8 dimensions, an MLP) for tests of the training
 * loop, and the resume property every TrainingStore must give: a run interrupted mid-epoch and resumed from
 * its store ends with the same metrics as one that was never interrupted.
 */
import assert from 'node:assert/strict';
import { createModel } from '../models/zoo.ts';
import { trainAdversarial, type MetricsLine } from '../training/adversarial.ts';
import type { AdversarialTrainingConfig } from '../training/config.ts';
import type { TrainingStore } from '../training/store.ts';
import { blobs } from './fixtures.ts';

export const BLOB_DIMS = 8;
export const blobTrain = blobs(256, BLOB_DIMS, 4, 21);
export const blobHeldOut = blobs(128, BLOB_DIMS, 4, 21, 0.12, 99);

export const blobConfig = (over: Partial<AdversarialTrainingConfig> = {}): AdversarialTrainingConfig => ({
  method: 'fgsm-rs',
  eps: 0.05,
  epochs: 3,
  batchSize: 32,
  optimizer: 'adam',
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'cyclic',
  epsRampEpochs: 0,
  seed: 4,
  heldOut: 64,
  evalEvery: 4,
  alignExamples: 32,
  pgdEvalSteps: 3,
  curvatureExamples: 0,
  onCo: 'warn',
  co: {},
  ...over,
});

/** Metrics without their timings, which differ between otherwise identical runs. */
export const withoutTimings = (m: MetricsLine[]) => m.map(({ seconds: _s, examples_per_s: _e, ...rest }) => rest);

// He init: this tiny blob problem was sized to learn within 5 epochs from it.
export const blobModel = () => createModel('mlp', { inputShape: [1, 1, BLOB_DIMS], numClasses: 4, seed: 9, hidden: 16, init: 'he' });

/**
 * Trains the blob problem into `full` uninterrupted and into `broken` with a crash in epoch 2, resumes
 * `broken()` (called again: a store reopened after the crash) and asserts the metrics are the same.
 */
export async function assertResumeReproduces(
  full: TrainingStore,
  broken: () => TrainingStore,
  over: Partial<AdversarialTrainingConfig> = {},
): Promise<void> {
  const config = blobConfig(over);
  const a = await trainAdversarial(blobModel(), blobTrain, blobHeldOut, config, full, {});
  assert.equal(a.metrics.length, 3 * 2, 'a line every 4 batches (8 per epoch)');
  for (const k of ['epoch', 'step', 'clean_acc', 'fgsm_acc', 'pgd_acc', 'grad_align', 'seconds']) assert.ok(k in a.metrics[0]!, k);
  const first = broken();
  await assert.rejects(
    trainAdversarial(
      blobModel(),
      blobTrain,
      blobHeldOut,
      config,
      first,
      {},
      {
        onBatch: (p) => {
          if (p.epoch === 2 && p.batch === 6) throw new Error('simulated kill');
        },
      },
    ),
    /simulated kill/,
  );
  assert.equal(first.latestCheckpoint()!.epoch, 1);
  assert.ok(first.readMetrics().length > 2, 'lines of the unfinished epoch were written before the crash');
  const b = await trainAdversarial(blobModel(), blobTrain, blobHeldOut, config, broken(), {});
  assert.deepEqual(withoutTimings(b.metrics), withoutTimings(a.metrics));
}
