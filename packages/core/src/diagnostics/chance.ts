import { ConfigError } from '../errors.ts';

/** How close to chance a run must be for `atChance` to call it stuck; missing fields take DEFAULT_CHANCE_THRESHOLDS. */
export interface ChanceThresholds {
  /** Clean accuracy within this much (absolute fraction) of 1/K. */
  accMargin: number;
  /** Training loss at least this fraction of ln K, the loss of a constant uniform prediction. */
  lossRatio: number;
}

/** Accuracy within 5 points of 1/K and loss at least 95% of ln K. */
export const DEFAULT_CHANCE_THRESHOLDS: ChanceThresholds = { accMargin: 0.05, lossRatio: 0.95 };

/**
 * Whether a training run is still at chance: held-out clean accuracy near 1/K and the training loss near
 * ln K. Adversarial training at a large ε can stay there for good from an unlucky start (PGD-AT at
 * ε = 0.2 on Fashion-MNIST with some seeds, in PyTorch as in advlab: docs/training.md). The CO monitor is
 * silent on such a run, since nothing overfits, so it is reported on its own.
 */
export function atChance(p: { clean_acc: number; loss: number }, numClasses: number, thresholds: Partial<ChanceThresholds> = {}): boolean {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new ConfigError('numClasses', 'an integer ≥ 2', String(numClasses));
  const t = { ...DEFAULT_CHANCE_THRESHOLDS, ...thresholds };
  return Math.abs(p.clean_acc - 1 / numClasses) <= t.accMargin && p.loss >= t.lossRatio * Math.log(numClasses);
}
