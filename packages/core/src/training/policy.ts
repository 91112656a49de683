/**
 * The behaviours around the bare epoch/batch loop — checkpointing, keeping the best model, reacting to
 * catastrophic overfitting — as policies the driver calls at fixed points. Unlike a reporter, a policy may
 * write to the store, annotate a metrics line before it is written, and stop or restart the run.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelMeta } from '../models/meta.ts';
import type { MethodName } from './objectives.ts';
import type { AdaptiveWeight } from './curvature-objectives.ts';
import type { AdversarialTrainingConfig } from './config.ts';
import type { MetricsLine } from './held-out.ts';
import type { ReporterFanOut } from './reporter.ts';
import type { TrainingStore } from './store.ts';

/** Loop state saved with every checkpoint: enough to continue a run exactly where it was. */
export interface LoopState {
  /** The last completed epoch. */
  epoch: number;
  step: number;
  /** The training RNG's state at the end of `epoch`. */
  rng: number;
  /** Method and step size in force; a CO rollback changes them. */
  method: MethodName;
  alpha?: number;
  rollbacks: number;
  seconds: number;
  /** An adaptive regulariser weight's state (ELLE-A, CURE), absent for the other methods. */
  regularizer?: AdaptiveWeight;
}

/** What the driver hands a LoopPolicy: the run's config, model, optimiser, store, reporters and current state. */
export interface LoopContext {
  readonly config: AdversarialTrainingConfig;
  readonly model: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly store: TrainingStore;
  readonly meta: ModelMeta;
  readonly report: ReporterFanOut;
  /** The state as of this call (a rollback replaces it: read it, do not keep it). */
  readonly state: LoopState;
}

/** What a policy may ask of the driver after a held-out line. */
export type LoopControl = { stop: true } | { restart: LoopState };

/** One policy object serves one run: it may keep state between calls. */
export interface LoopPolicy {
  /** Before the first step; `history` is what the store already holds (a resumed run's earlier lines). */
  onStart?(ctx: LoopContext, history: readonly MetricsLine[]): void | Promise<void>;
  /** Annotates a held-out line before it is written (the CO verdict is part of the line). */
  inspect?(line: MetricsLine): void;
  /**
   * After a held-out line has been written and reported. Returning a control ends the epoch at once: the
   * remaining policies are not called for this line.
   */
  afterHeldOut?(ctx: LoopContext, line: MetricsLine): Promise<LoopControl | undefined>;
  /** After a completed epoch; `state` is what the next epoch starts from. */
  afterEpoch?(ctx: LoopContext, state: LoopState): Promise<void>;
}
