/**
 * Numbers the report shows, derived from the loaded inputs: the overview row of a training run or an
 * evaluation, the (clean, robust) points of the frontier and its Pareto-optimal subset, the mean
 * distortion–distance curve of a generative evaluation.
 */
import { distortionDistanceCurve, type CurvePoint } from '@advlab/core';
import {
  isGenerativeRow,
  isGenerativeRun,
  type EvalFile,
  type MetricsRow,
  type Source,
  type TrainingRun,
  type WorstCaseEntry,
} from './load.ts';

export interface OverviewRow {
  name: string;
  kind: 'training' | 'evaluation';
  /** Where the accuracies come from, e.g. "held-out (1000), last epoch" or "eval, n=1000". */
  basis: string;
  model?: string;
  method?: string;
  eps?: string;
  epochs?: string;
  clean?: number;
  fgsm?: number;
  pgd?: number;
  worst?: number;
  testAccuracy?: number;
  coEpochs?: number[];
  secondsPerEpoch?: number;
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The last measurement of each epoch, in order (event lines excluded; a re-run epoch keeps its latest). */
export function lastPerEpoch(metrics: MetricsRow[]): MetricsRow[] {
  const by = new Map<number, MetricsRow>();
  for (const l of metrics) {
    by.delete(l.epoch);
    by.set(l.epoch, l);
  }
  return [...by.values()].sort((a, b) => a.epoch - b.epoch);
}

export function finalLine(run: TrainingRun): MetricsRow | undefined {
  const final = run.summary?.final;
  return run.metrics.at(-1) ?? (final && !isGenerativeRow(final) ? final : undefined);
}

export function coEpochs(run: TrainingRun): number[] {
  if (run.summary?.co_epochs) return run.summary.co_epochs;
  return [...new Set(run.metrics.filter((m) => m.co).map((m) => m.epoch))];
}

export function secondsPerEpoch(run: TrainingRun): number | undefined {
  let per = run.summary?.seconds_per_epoch;
  if (!per || per.length === 0) {
    const ends = lastPerEpoch(run.metrics).filter((m) => num(m.seconds) !== undefined);
    per = ends.map((m, i) => m.seconds! - (i > 0 ? ends[i - 1]!.seconds! : 0));
  }
  return per.length ? per.reduce((a, b) => a + b, 0) / per.length : undefined;
}

/** The method, with the switches a CO rollback made (e.g. "fgsm → gradalign"). */
export function methodOf(run: TrainingRun): string | undefined {
  const seen: string[] = [];
  const first = str(run.config?.method);
  if (first) seen.push(first);
  for (const m of run.metrics) if (m.method && seen.at(-1) !== m.method) seen.push(m.method);
  return seen.length ? seen.join(' → ') : undefined;
}

export function runRow(name: string, run: TrainingRun): OverviewRow {
  const f = finalLine(run);
  const c = run.config ?? {};
  const done = f?.epoch;
  const planned = num(c.epochs);
  const heldOut = num(c.heldOut);
  return {
    name,
    kind: 'training',
    basis: `held-out${heldOut ? ` (${heldOut})` : ''}, last`,
    model: str(c.model),
    method: methodOf(run),
    eps: str(c.eps ?? f?.eps),
    epochs:
      done === undefined && planned === undefined
        ? undefined
        : `${done ?? 0}${planned !== undefined ? ` / ${planned}` : ''}${run.summary?.stopped_by_co ? ' (stopped: CO)' : ''}`,
    clean: f?.clean_acc,
    fgsm: num(f?.fgsm_acc),
    pgd: num(f?.pgd_acc),
    testAccuracy: num(run.summary?.test_accuracy),
    coEpochs: coEpochs(run),
    secondsPerEpoch: secondsPerEpoch(run),
  };
}

export function worstAt(r: EvalFile, eps: number): WorstCaseEntry | undefined {
  return r.worst_case_by_eps?.find((w) => w.eps === eps) ?? (r.worst_case?.eps === eps ? r.worst_case : undefined);
}

export function epsList(r: EvalFile): number[] {
  const all = r.eps ?? [...r.attacks.map((a) => a.eps), ...(r.worst_case_by_eps ?? []).map((w) => w.eps)];
  return [...new Set(all)];
}

export function evalRow(name: string, r: EvalFile): OverviewRow {
  const eps = epsList(r);
  const e0 = r.worst_case?.eps ?? eps[0];
  const at = (attack: string) => r.attacks.find((a) => a.name === attack && a.eps === e0)?.robust_accuracy;
  return {
    name,
    kind: 'evaluation',
    basis: `${r.n ? `n=${r.n}` : 'eval'}${eps.length > 1 ? `, ε ∈ {${eps.join(', ')}}` : ''}`,
    model: r.model,
    eps: e0 === undefined ? undefined : `${e0}${r.norm && r.norm !== 'linf' ? ` (${r.norm})` : ''}`,
    clean: r.clean_accuracy,
    fgsm: at('fgsm'),
    pgd: at('pgd'),
    worst: e0 === undefined ? undefined : worstAt(r, e0)?.robust_accuracy,
  };
}

export function overviewRows(sources: Source[]): OverviewRow[] {
  const rows: OverviewRow[] = [];
  for (const s of sources) {
    // A generative run measures no accuracy: the Generative models section shows it.
    if (s.run && !isGenerativeRun(s.run)) rows.push(runRow(s.name, s.run));
    if (s.evaluation) {
      const row = evalRow(s.run ? `${s.name} · eval` : s.name, s.evaluation.report);
      if (s.run) row.method ??= methodOf(s.run);
      rows.push(row);
    }
  }
  return rows;
}

export interface FrontierPoint {
  label: string;
  source: string;
  kind: string;
  eps: number | undefined;
  clean: number;
  robust: number;
}

/**
 * One (clean, robust) point per training run (held-out clean and PGD accuracy at the last measurement)
 * and per evaluation and ε (clean and worst-case accuracy; the strongest attack when there is no worst case).
 */
export function frontierPoints(sources: Source[]): FrontierPoint[] {
  const pts: FrontierPoint[] = [];
  for (const s of sources) {
    const f = s.run ? finalLine(s.run) : undefined;
    if (f && num(f.pgd_acc) !== undefined) {
      pts.push({
        label: `${s.name} (ε=${f.eps ?? s.run!.config?.eps ?? '?'})`,
        source: s.name,
        kind: 'training, held-out PGD',
        eps: f.eps,
        clean: f.clean_acc,
        robust: f.pgd_acc!,
      });
    }
    const r = s.evaluation?.report;
    if (!r) continue;
    for (const eps of epsList(r)) {
      const w = worstAt(r, eps)?.robust_accuracy;
      const attacks = r.attacks.filter((a) => a.eps === eps).map((a) => a.robust_accuracy);
      const robust = w ?? (attacks.length ? Math.min(...attacks) : undefined);
      if (robust === undefined) continue;
      pts.push({
        label: `${s.run ? `${s.name} · eval` : s.name} (ε=${eps})`,
        source: s.name,
        kind: w !== undefined ? 'evaluation, worst case' : 'evaluation, strongest attack',
        eps,
        clean: r.clean_accuracy,
        robust,
      });
    }
  }
  return pts;
}

/** The points no other point dominates (at least as good on both axes, better on one), by clean accuracy. */
export function paretoFrontier<T extends { clean: number; robust: number }>(points: T[]): T[] {
  const front = points.filter(
    (p) => !points.some((q) => q.clean >= p.clean && q.robust >= p.robust && (q.clean > p.clean || q.robust > p.robust)),
  );
  // Identical points: keep one.
  const unique = front.filter((p, i) => front.findIndex((q) => q.clean === p.clean && q.robust === p.robust) === i);
  return unique.sort((a, b) => a.clean - b.clean || b.robust - a.robust);
}

/**
 * The y of a distortion–distance curve (points sorted by x, from x = 0 to x = 1) at `x`: linear between its points,
 * as AUDDC's trapezoid rule integrates it.
 */
export function curveAt(curve: readonly CurvePoint[], x: number): number {
  const j = curve.findIndex((p) => p.x >= x);
  if (j === -1) return curve.at(-1)!.y;
  if (j === 0) return curve[0]!.y;
  const a = curve[j - 1]!;
  const b = curve[j]!;
  return a.y + ((b.y - a.y) * (x - a.x)) / (b.x - a.x);
}

/** How many evenly spaced x in [0, 1] a mean distortion–distance curve is sampled at (a step of 0.01). */
export const CURVE_GRID_POINTS = 101;

/**
 * The mean over pairs of each pair's distortion–distance curve (`distortionDistanceCurve` of @advlab/core: the
 * attacker's running-minimum envelope from (0, 1), closed at x = 1), each sampled at `gridPoints` evenly spaced x in
 * [0, 1]: pairs measured at different distortions are averaged at the same x. Undefined without a pair.
 */
export function meanDistortionCurve(pairs: readonly (readonly CurvePoint[])[], gridPoints = CURVE_GRID_POINTS): CurvePoint[] | undefined {
  if (pairs.length === 0) return undefined;
  const curves = pairs.map((points) => distortionDistanceCurve(points));
  return Array.from({ length: gridPoints }, (_, i) => {
    const x = i / (gridPoints - 1);
    return { x, y: curves.reduce((sum, c) => sum + curveAt(c, x), 0) / curves.length };
  });
}
