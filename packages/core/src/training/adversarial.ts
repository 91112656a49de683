/**
 * The older training entry point (the CLI now calls `train` with a terminal reporter): `trainAdversarial` with callback hooks, a
 * thin layer over `train` (loop.ts) that turns the hooks into a reporter.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageSet } from '../data/types.ts';
import type { ModelMeta } from '../models/meta.ts';
import type { TrainingStore } from './store.ts';
import type { AdversarialTrainingConfig } from './config.ts';
import type { MetricsLine } from './held-out.ts';
import type { TrainingReporter } from './reporter.ts';
import { train as runTraining } from './loop.ts';

export { heldOutMetrics, type MetricsLine } from './held-out.ts';

/** Callbacks of `trainAdversarial`, all optional and synchronous; a hook that throws ends the run with its error. */
export interface TrainingHooks {
  /**
   * After every optimiser step: batch `batch` of `batches` in epoch `epoch` of `epochs` (1-based), the epoch's mean
   * loss and adversarial accuracy so far, and the latest held-out gradient alignment once there is one.
   */
  onBatch?: (p: { epoch: number; epochs: number; batch: number; batches: number; loss: number; advAcc: number; align?: number }) => void;
  /** Each held-out metrics line, after it has been stored. */
  onMetrics?: (m: MetricsLine) => void;
  /** Something a person should read: resumed, still at chance, CO warnings, rollbacks. */
  onEvent?: (message: string) => void;
}

/** The reporter that feeds `hooks`: steps → onBatch (with the run's epoch count), held-out lines → onMetrics. */
export function hooksReporter(hooks: TrainingHooks, epochs: number): TrainingReporter {
  return {
    onStep: (s) =>
      hooks.onBatch?.({ epoch: s.epoch, epochs, batch: s.batch, batches: s.batches, loss: s.loss, advAcc: s.advAcc, align: s.align }),
    onHeldOut: (line) => hooks.onMetrics?.(line),
    onEvent: (message) => hooks.onEvent?.(message),
  };
}

/**
 * Adversarial training with live CO diagnostics over one loop; the method is an objective. Writes
 * metrics, checkpoints (every epoch) and the best/final models into `run`, and resumes from its newest
 * checkpoint when there is one (the caller checks the config matches).
 */
export async function trainAdversarial(
  model: tfl.LayersModel,
  train: ImageSet,
  heldOut: ImageSet,
  c: AdversarialTrainingConfig,
  run: TrainingStore,
  meta: ModelMeta,
  hooks: TrainingHooks = {},
): Promise<{ metrics: MetricsLine[]; stoppedByCo: boolean }> {
  return runTraining(model, { train, heldOut }, c, run, meta, hooksReporter(hooks, c.epochs));
}
