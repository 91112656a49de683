import { ConfigError } from '../errors.ts';

/** A learning-rate schedule over the whole run (the `schedule` option); `learningRate` defines each. */
export type LrSchedule = 'constant' | 'piecewise' | 'cyclic';
/** Every LrSchedule, in the order help lists them. */
export const LR_SCHEDULES: readonly LrSchedule[] = ['constant', 'piecewise', 'cyclic'];

/**
 * Learning rate at training progress `t` ∈ [0, 1] (fraction of all batches done).
 * piecewise: ×0.1 at 50% and again at 75% (Madry / Rice et al.); cyclic: one-cycle, linear up from 0 to
 * the peak at 40% then down to 0 (fast adversarial training).
 */
export function learningRate(schedule: LrSchedule, peak: number, t: number): number {
  switch (schedule) {
    case 'constant':
      return peak;
    case 'piecewise':
      return t < 0.5 ? peak : t < 0.75 ? peak * 0.1 : peak * 0.01;
    case 'cyclic':
      return t < 0.4 ? (peak * t) / 0.4 : Math.max(0, (peak * (1 - t)) / 0.6);
    default:
      throw new ConfigError('schedule', LR_SCHEDULES.join(', '), String(schedule));
  }
}

/** ε during training: a linear ramp over the first `rampEpochs` epochs (in fractional epochs), then ε. */
export function epsilonAt(eps: number, rampEpochs: number, epochFloat: number): number {
  if (!(rampEpochs > 0)) return eps;
  return eps * Math.min(1, epochFloat / rampEpochs);
}
