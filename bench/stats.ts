/**
 * Pure helpers of `npm run bench`: statistics over rounds, and the two sides' AutoAttack results in one
 * shape. No I/O and no tf.js here, so bench/stats.test.ts can check them quickly.
 */
import { median as medianOf } from '../packages/core/src/util/median.ts';

/** Median of a non-empty list (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  return medianOf(xs);
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** One side of a workload over its rounds: each round's time is the median of that round's repetitions. */
export interface SideStats {
  min_ms: number;
  median_ms: number;
  max_ms: number;
  /** The round times in the order run. */
  rounds_ms: number[];
}

/** min / median / max of the round times (rounded to 0.01 ms); null when no round completed. */
export function sideStats(roundsMs: readonly number[]): SideStats | null {
  if (roundsMs.length === 0) return null;
  return {
    min_ms: round(Math.min(...roundsMs), 2),
    median_ms: round(median(roundsMs), 2),
    max_ms: round(Math.max(...roundsMs), 2),
    rounds_ms: roundsMs.map((t) => round(t, 2)),
  };
}

export interface RatioStats {
  /** Median of the per-round ratios advlab / PyTorch; null when no round has both sides. */
  ratio: number | null;
  ratio_min: number | null;
  ratio_max: number | null;
  /** advlab / PyTorch per round (null where a side is missing or PyTorch took no time). */
  ratios: (number | null)[];
}

/**
 * The per-round ratios advlab / PyTorch and their median. Each ratio pairs two measurements taken back to
 * back, so load that changes between rounds hits both sides of a ratio; the median then drops the rounds
 * a noisy neighbour spoiled, which a ratio of the two sides' medians would not.
 */
export function roundRatios(advlabMs: readonly (number | null)[], pytorchMs: readonly (number | null)[]): RatioStats {
  const n = Math.max(advlabMs.length, pytorchMs.length);
  const ratios: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    const a = advlabMs[i];
    const p = pytorchMs[i];
    ratios.push(typeof a === 'number' && typeof p === 'number' && p > 0 && Number.isFinite(a) ? round(a / p, 3) : null);
  }
  const ok = ratios.filter((r): r is number => r !== null);
  if (ok.length === 0) return { ratio: null, ratio_min: null, ratio_max: null, ratios };
  return { ratio: round(median(ok), 3), ratio_min: Math.min(...ok), ratio_max: Math.max(...ok), ratios };
}

// ------------------------------------------------------------------------------------------ AutoAttack

/** The attacks of AutoAttack's standard version, in the order it runs them (and advlab's suite names). */
export const AUTOATTACK_STANDARD = ['apgd-ce', 'apgd-t', 'fab-t', 'square'] as const;

/** One attack of a suite run, as either side reports it. */
export interface SuiteStepRound {
  attack: string;
  /** Examples it ran on: the survivors of the attacks before it. */
  run_on: number | null;
  broke: number | null;
  seconds: number | null;
  /** Robust accuracy over all n after this attack. */
  robust_accuracy: number | null;
  skipped?: string;
}

/** One run of the whole suite on one side. */
export interface SuiteRound {
  n: number;
  clean_accuracy: number;
  robust_accuracy: number;
  attacks: SuiteStepRound[];
  /** Sum of the attacks' seconds: what the whole-suite row compares. */
  attack_seconds: number;
  /** The whole call (advlab: evaluateRobustness incl. the clean pass; AutoAttack: run_standard_evaluation incl. its checks). */
  total_seconds: number | null;
  standard_budget: boolean;
  threads?: number;
  /** The checkout's commit as autoattack_eval.py reports it. */
  autoattack_commit?: string;
  warnings: string[];
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown): number | null => (isNum(v) ? v : null);

/**
 * The JSON bench/pytorch/autoattack_eval.py prints on stdout, as a SuiteRound. Throws an Error saying what
 * is wrong: not JSON, the script's own `error`, or a missing field.
 */
export function parseAutoAttackOutput(stdout: string): SuiteRound {
  const text = stdout.trim();
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`autoattack_eval.py: expected one JSON object on stdout, found ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('autoattack_eval.py: expected a JSON object');
  if (typeof doc.error === 'string') throw new Error(`autoattack_eval.py: ${doc.error}`);
  const missing = (what: string) => new Error(`autoattack_eval.py: no ${what} in its JSON`);
  const data = doc.data as { first_n?: unknown } | undefined;
  const n = numOrNull(data?.first_n);
  if (n === null) throw missing('data.first_n');
  if (!isNum(doc.clean_accuracy)) throw missing('clean_accuracy');
  if (!isNum(doc.robust_accuracy)) throw missing('robust_accuracy');
  if (!Array.isArray(doc.attacks)) throw missing('attacks');
  const seconds = doc.seconds as { attacks?: unknown; total?: unknown } | undefined;
  if (!isNum(seconds?.attacks)) throw missing('seconds.attacks');
  const attacks = doc.attacks.map((raw: unknown, i: number): SuiteStepRound => {
    const a = raw as Record<string, unknown>;
    if (typeof a?.attack !== 'string') throw missing(`attacks[${i}].attack`);
    return {
      attack: a.attack,
      run_on: numOrNull(a.run_on),
      broke: numOrNull(a.broke),
      seconds: numOrNull(a.seconds),
      robust_accuracy: numOrNull(a.robust_accuracy),
      ...(typeof a.skipped === 'string' ? { skipped: a.skipped } : {}),
    };
  });
  return {
    n,
    clean_accuracy: doc.clean_accuracy,
    robust_accuracy: doc.robust_accuracy,
    attacks,
    attack_seconds: seconds.attacks,
    total_seconds: numOrNull(seconds.total),
    standard_budget: doc.standard_budget !== false,
    ...(isNum(doc.threads) ? { threads: doc.threads } : {}),
    ...(typeof doc.autoattack_commit === 'string' ? { autoattack_commit: doc.autoattack_commit } : {}),
    warnings: Array.isArray(doc.warnings) ? doc.warnings.map(String) : [],
  };
}

/** The part of advlab's EvaluationReport a suite round needs (kept structural so this file imports nothing). */
export interface AdvlabSuiteReport {
  n: number;
  clean_accuracy: number;
  seconds: number;
  worst_case: {
    robust_accuracy: number;
    sequence: readonly { attack: string; run_on: number; broke: number; seconds: number; skipped?: string }[];
  };
}

/** advlab's evaluation report (suite after no other attack) as a SuiteRound. */
export function suiteRoundFromReport(report: AdvlabSuiteReport, standardBudget: boolean): SuiteRound {
  // The suite runs on the clean-correct examples; each step removes what it broke.
  let robust = Math.round(report.clean_accuracy * report.n);
  const attacks = report.worst_case.sequence.map((s): SuiteStepRound => {
    robust -= s.broke;
    return {
      attack: s.attack,
      run_on: s.run_on,
      broke: s.broke,
      seconds: s.seconds,
      robust_accuracy: robust / report.n,
      ...(s.skipped !== undefined ? { skipped: s.skipped } : {}),
    };
  });
  return {
    n: report.n,
    clean_accuracy: report.clean_accuracy,
    robust_accuracy: report.worst_case.robust_accuracy,
    attacks,
    attack_seconds: attacks.reduce((t, a) => t + (a.seconds ?? 0), 0),
    total_seconds: report.seconds,
    standard_budget: standardBudget,
    warnings: [],
  };
}

/** Seconds of `attack` in a round ('autoattack' = the whole suite), in ms; null when the round lacks it. */
export function suiteMs(r: SuiteRound, attack: string): number | null {
  if (attack === 'autoattack') return r.attack_seconds * 1000;
  const s = r.attacks.find((a) => a.attack === attack)?.seconds;
  return s === null || s === undefined ? null : s * 1000;
}

/** The largest gap in robust accuracy (fractions) that still counts as agreement: 0.5 points. */
export const ROBUST_AGREEMENT = 0.005;

/**
 * The rounds whose final robust accuracies differ by more than 0.5 points, as one line each (empty when
 * all agree). Both sides attack the same images with the same budget, so a larger gap says one of them
 * is weaker (or the weights differ), and the times would compare unequal work.
 */
export function disagreements(advlab: readonly (SuiteRound | null)[], pytorch: readonly (SuiteRound | null)[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.min(advlab.length, pytorch.length); i++) {
    const a = advlab[i];
    const p = pytorch[i];
    if (!a || !p) continue;
    const gap = Math.abs(a.robust_accuracy - p.robust_accuracy);
    if (gap > ROBUST_AGREEMENT + 1e-12)
      out.push(
        `round ${i + 1}: robust accuracy advlab ${(100 * a.robust_accuracy).toFixed(1)}%, AutoAttack ${(100 * p.robust_accuracy).toFixed(1)}% (differ by ${(100 * gap).toFixed(1)} points, more than ${100 * ROBUST_AGREEMENT})`,
      );
  }
  return out;
}
