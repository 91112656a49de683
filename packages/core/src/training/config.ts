/** The configuration of a training run: what determines it (written to config.json) and its validation. */
import { ConfigError } from '../errors.ts';
import type { CoThresholds } from '../diagnostics/co-monitor.ts';
import { makeObjective, type MethodName } from './objectives.ts';
import type { LrSchedule } from './schedules.ts';

export type CoPolicy = 'warn' | 'stop' | 'rollback';

/** Everything that determines a run. Written to config.json; a resume must present the same. */
export interface AdversarialTrainingConfig {
  method: MethodName;
  eps: number;
  steps?: number;
  alpha?: number;
  lambda?: number;
  beta?: number;
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: LrSchedule;
  epsRampEpochs: number;
  seed: number;
  /** First `limit` training examples (all when undefined). */
  limit?: number;
  /** Held-out set: the first `heldOut` test examples (≥ 512 recommended). */
  heldOut: number;
  /** Also measure every N batches (0: once per epoch). */
  evalEvery: number;
  /** Gradient alignment and the FGSM–PGD cosine on the first `alignExamples` of the held-out set. */
  alignExamples: number;
  pgdEvalSteps: number;
  onCo: CoPolicy;
  co: Partial<CoThresholds>;
}

export function validateTrainingConfig(c: AdversarialTrainingConfig): void {
  if (!(c.eps >= 0)) throw new ConfigError('--eps', 'a number ≥ 0', String(c.eps));
  if (!Number.isInteger(c.epochs) || c.epochs < 1) throw new ConfigError('--epochs', 'an integer ≥ 1', String(c.epochs));
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw new ConfigError('--batch-size', 'an integer ≥ 1', String(c.batchSize));
  if (!Number.isInteger(c.heldOut) || c.heldOut < 1) throw new ConfigError('--held-out', 'an integer ≥ 1', String(c.heldOut));
  if (!Number.isInteger(c.evalEvery) || c.evalEvery < 0) throw new ConfigError('--eval-every', 'an integer ≥ 0', String(c.evalEvery));
  if (!['warn', 'stop', 'rollback'].includes(c.onCo)) throw new ConfigError('--on-co', 'warn, stop or rollback', String(c.onCo));
  if (!(c.weightDecay >= 0)) throw new ConfigError('--weight-decay', 'a number ≥ 0', String(c.weightDecay));
  makeObjective(c, c.eps); // validates method-specific options
}
