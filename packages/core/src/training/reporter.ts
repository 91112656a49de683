/**
 * What a training run tells the outside world while it runs. The loop knows nothing of terminals, files or
 * dashboards: each of those is a reporter, and a run takes any number of them (like vitest's reporters).
 */
import type { CoRule } from '../diagnostics/co-monitor.ts';
import type { AdversarialTrainingConfig } from './config.ts';
import type { MetricsLine } from './held-out.ts';
import type { CheckpointRef } from './store.ts';

/** What a run tells reporters before its first step. */
export interface TrainingStart {
  config: AdversarialTrainingConfig;
  /** The first epoch this call trains: 1, or the one after the checkpoint it resumed from. */
  firstEpoch: number;
  epochs: number;
  batchesPerEpoch: number;
  /** Training examples per epoch (after `limit`). */
  examples: number;
  resumedFrom?: CheckpointRef;
}

/** Progress after one optimiser step. */
export interface StepReport {
  epoch: number;
  /** Optimiser steps since the start of the run (a resumed run continues the count). */
  step: number;
  /** 1-based within the epoch. */
  batch: number;
  batches: number;
  /** Mean training loss and accuracy on the training points over the epoch so far. */
  loss: number;
  advAcc: number;
  /** Gradient alignment from the latest held-out line, once there is one. */
  align?: number;
}

/** The CO monitor fired on a held-out line: which rules, and why in words. */
export interface CoFlag {
  line: MetricsLine;
  rules: CoRule[];
  detail: string;
}

/** What a finished run returns: its metrics, and whether the CO policy stopped it before the last epoch. */
export interface TrainingResult {
  /** Every line in the store at the end, events included. */
  metrics: MetricsLine[];
  stoppedByCo: boolean;
}

type MaybePromise = void | Promise<void>;

/**
 * Lifecycle callbacks, all optional, sync or async (the loop awaits each before going on, so a slow
 * reporter slows training rather than reordering events). A reporter that throws ends the run with that
 * error, after the last checkpoint — a run killed that way resumes like one killed by a signal.
 */
export interface TrainingReporter {
  /** Before the first step, after any resume. */
  onStart?(info: TrainingStart): MaybePromise;
  /** After every optimiser step. */
  onStep?(step: StepReport): MaybePromise;
  /** A held-out line, after it has been written to the store. */
  onHeldOut?(line: MetricsLine): MaybePromise;
  /** The CO monitor fired on `line` (already reported through onHeldOut); the CO policy acts next. */
  onCoFlag?(flag: CoFlag): MaybePromise;
  /** An epoch finished (not one cut short by a rollback or a stop); `line` is its last held-out line. */
  onEpochEnd?(end: { epoch: number; line: MetricsLine }): MaybePromise;
  /** A checkpoint after `epoch` has been completely stored; `location` says where, for messages. */
  onCheckpoint?(written: { epoch: number; location: string }): MaybePromise;
  /** Something a person should read: resumed, still at chance, CO warnings, rollbacks. */
  onEvent?(message: string): MaybePromise;
  /** After the final model is stored. */
  onEnd?(result: TrainingResult): MaybePromise;
}

/** Every TrainingReporter callback, required and returning a promise: what `fanOut` builds for the loop and its policies. */
export type ReporterFanOut = { [K in keyof TrainingReporter]-?: (arg: Parameters<NonNullable<TrainingReporter[K]>>[0]) => Promise<void> };

/** One reporter that calls `reporters` in order, each awaited before the next. */
export function fanOut(reporters: readonly TrainingReporter[]): ReporterFanOut {
  const call =
    <K extends keyof TrainingReporter>(k: K) =>
    async (arg: Parameters<NonNullable<TrainingReporter[K]>>[0]) => {
      // Called as a method, so a reporter that is a class instance keeps its `this`.
      for (const r of reporters) await (r[k] as ((a: typeof arg) => MaybePromise) | undefined)?.call(r, arg);
    };
  return {
    onStart: call('onStart'),
    onStep: call('onStep'),
    onHeldOut: call('onHeldOut'),
    onCoFlag: call('onCoFlag'),
    onEpochEnd: call('onEpochEnd'),
    onCheckpoint: call('onCheckpoint'),
    onEvent: call('onEvent'),
    onEnd: call('onEnd'),
  };
}
