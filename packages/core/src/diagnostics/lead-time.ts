/**
 * Does a curvature measure warn of catastrophic overfitting before the CO monitor's rules do? From a run's
 * held-out lines: the step at which each measure first exceeds a threshold, the step at which each CO rule first
 * fires, and the lead time between them in batches (issue 13's experiment). The threshold is meant to be
 * measured: `healthyCeiling` gives the largest value seen on runs that did not overfit, which a threshold must
 * exceed so that it would not have fired on them.
 */
import { ConfigError } from '../errors.ts';
import { CoMonitor, type CoRule, type CoThresholds, type MetricPoint } from './co-monitor.ts';

/** The held-out curvature measures of a metrics line (training/held-out.ts). */
export const CURVATURE_SIGNALS = ['linearity_error', 'input_top_eigenvalue', 'elle', 'cure'] as const;
/** One of the held-out curvature measures. */
export type CurvatureSignal = (typeof CURVATURE_SIGNALS)[number];

/** A held-out line with whichever curvature measures it carries. */
export type SignalPoint = MetricPoint & Partial<Record<CurvatureSignal, number>>;

/**
 * The first step at which the measure exceeds `threshold` (strictly, so a threshold equal to the largest value a
 * healthy run showed never fires on that run), or undefined.
 */
export function signalOnset(lines: readonly SignalPoint[], signal: CurvatureSignal, threshold: number): number | undefined {
  if (!Number.isFinite(threshold)) throw new ConfigError('threshold', 'a finite number', String(threshold));
  return lines.find((l) => {
    const v = l[signal];
    return typeof v === 'number' && Number.isFinite(v) && v > threshold;
  })?.step;
}

/** The first step at which each CO rule fires on the lines, replayed through a fresh CoMonitor. */
export function coRuleOnsets(lines: readonly MetricPoint[], thresholds: Partial<CoThresholds> = {}): Partial<Record<CoRule, number>> {
  const monitor = new CoMonitor(thresholds);
  const first: Partial<Record<CoRule, number>> = {};
  for (const l of lines) {
    for (const rule of monitor.observe(l).rules) first[rule] ??= l.step;
  }
  return first;
}

/**
 * The largest value a measure reached on runs that did not overfit, over all their lines: a threshold at or above
 * it would not have fired on any of them. Absolute, not a rise over an early baseline: every run's curvature
 * grows by orders of magnitude while a model leaves its near-linear initialisation, overfitting or not.
 */
export function healthyCeiling(runs: readonly (readonly SignalPoint[])[], signal: CurvatureSignal): number | undefined {
  const values = runs.flatMap((r) => r.map((l) => l[signal]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
  return values.length ? Math.max(...values) : undefined;
}

/** How many batches a signal fired before a CO rule (negative: after; undefined if either never fired). */
export interface LeadTime {
  signal: CurvatureSignal;
  signalStep?: number;
  rule: CoRule;
  ruleStep?: number;
  leadBatches?: number;
}

/** Lead times of every (signal, rule) pair on one run, each signal judged at its threshold in `signals`. */
export function leadTimes(
  lines: readonly SignalPoint[],
  signals: Partial<Record<CurvatureSignal, number>>,
  opts: { thresholds?: Partial<CoThresholds>; rules?: readonly CoRule[] } = {},
): LeadTime[] {
  const onsets = coRuleOnsets(lines, opts.thresholds);
  const rules = opts.rules ?? (['fgsm-pgd-gap', 'alignment-collapse'] as const);
  const out: LeadTime[] = [];
  for (const [signal, threshold] of Object.entries(signals) as [CurvatureSignal, number][]) {
    const signalStep = signalOnset(lines, signal, threshold);
    for (const rule of rules) {
      const ruleStep = onsets[rule];
      out.push({
        signal,
        ...(signalStep !== undefined ? { signalStep } : {}),
        rule,
        ...(ruleStep !== undefined ? { ruleStep } : {}),
        ...(signalStep !== undefined && ruleStep !== undefined ? { leadBatches: ruleStep - signalStep } : {}),
      });
    }
  }
  return out;
}
