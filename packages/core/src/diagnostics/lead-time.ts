/**
 * Does a curvature measure warn of catastrophic overfitting before the CO monitor's rules do? From a run's
 * held-out lines: the step at which each measure first rises to `factor` times its early baseline, the step at
 * which each CO rule first fires, and the lead time between them in batches (issue 13's experiment). The
 * factor is meant to be measured: `healthyCeiling` gives the largest rise seen on runs that did not overfit,
 * above which a rule would not fire on them.
 */
import { ConfigError } from '../errors.ts';
import { median } from '../util/median.ts';
import { CoMonitor, type CoRule, type CoThresholds, type MetricPoint } from './co-monitor.ts';

/** The held-out curvature measures of a metrics line (training/held-out.ts). */
export const CURVATURE_SIGNALS = ['linearity_error', 'input_top_eigenvalue', 'elle', 'cure'] as const;
/** One of the held-out curvature measures. */
export type CurvatureSignal = (typeof CURVATURE_SIGNALS)[number];

/** A held-out line with whichever curvature measures it carries. */
export type SignalPoint = MetricPoint & Partial<Record<CurvatureSignal, number>>;

/** The measure's baseline: the median of its first `baselinePoints` values (default 3). */
export function signalBaseline(lines: readonly SignalPoint[], signal: CurvatureSignal, baselinePoints = 3): number | undefined {
  if (!Number.isInteger(baselinePoints) || baselinePoints < 1)
    throw new ConfigError('baselinePoints', 'an integer ≥ 1', String(baselinePoints));
  const first = lines
    .map((l) => l[signal])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
    .slice(0, baselinePoints);
  return first.length < baselinePoints ? undefined : median(first);
}

/** Each line's measure over the baseline, after the baseline's own points (undefined where it is missing). */
export function signalRatios(
  lines: readonly SignalPoint[],
  signal: CurvatureSignal,
  baselinePoints = 3,
): { step: number; ratio: number }[] {
  const base = signalBaseline(lines, signal, baselinePoints);
  if (base === undefined || !(base > 0)) return [];
  let seen = 0;
  const out: { step: number; ratio: number }[] = [];
  for (const l of lines) {
    const v = l[signal];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (++seen <= baselinePoints) continue;
    out.push({ step: l.step, ratio: v / base });
  }
  return out;
}

/** The first step at which the measure reaches `factor` × its baseline, or undefined. */
export function signalOnset(
  lines: readonly SignalPoint[],
  signal: CurvatureSignal,
  factor: number,
  baselinePoints = 3,
): number | undefined {
  if (!(factor > 0) || !Number.isFinite(factor)) throw new ConfigError('factor', 'a finite number > 0', String(factor));
  return signalRatios(lines, signal, baselinePoints).find((r) => r.ratio >= factor)?.step;
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

/** The largest rise over baseline a measure showed on runs that did not overfit: a factor at or below it would fire on them. */
export function healthyCeiling(runs: readonly (readonly SignalPoint[])[], signal: CurvatureSignal, baselinePoints = 3): number | undefined {
  const ratios = runs.flatMap((r) => signalRatios(r, signal, baselinePoints).map((x) => x.ratio));
  return ratios.length ? Math.max(...ratios) : undefined;
}

/** How many batches a signal fired before a CO rule (negative: after; undefined if either never fired). */
export interface LeadTime {
  signal: CurvatureSignal;
  signalStep?: number;
  rule: CoRule;
  ruleStep?: number;
  leadBatches?: number;
}

/** Lead times of every (signal, rule) pair on one run, signals judged at their `factors`. */
export function leadTimes(
  lines: readonly SignalPoint[],
  factors: Partial<Record<CurvatureSignal, number>>,
  opts: { baselinePoints?: number; thresholds?: Partial<CoThresholds>; rules?: readonly CoRule[] } = {},
): LeadTime[] {
  const onsets = coRuleOnsets(lines, opts.thresholds);
  const rules = opts.rules ?? (['fgsm-pgd-gap', 'alignment-collapse'] as const);
  const out: LeadTime[] = [];
  for (const [signal, factor] of Object.entries(factors) as [CurvatureSignal, number][]) {
    const signalStep = signalOnset(lines, signal, factor, opts.baselinePoints);
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
