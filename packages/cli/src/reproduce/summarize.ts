/**
 * The suite's numbers, read back from its run directories (config.json, metrics.jsonl, summary.json,
 * eval.json) and danskin.json: one object per finding, every value traceable to a file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeObjective, type DanskinReport, type ObjectiveConfig } from '@advlab/core';
import { loadSource, paretoFrontier, worstAt, type EvalFile, type Source } from '@advlab/report';
import { CO_EPS, EVAL_EPS, MINORITY, type Experiment, type Profile } from './suite.ts';

export interface Environment {
  machine: string;
  node: string;
  backend: unknown;
  started: string;
  finished: string;
  /** Wall seconds of the steps run by the invocations that built this suite. */
  seconds: number;
}

export interface TradeoffRow {
  run: string;
  method: string;
  clean: number;
  pgd20: number;
  worstCase: number;
  /** Fastest epoch, seconds. */
  secondsPerEpoch: number;
  meanSecondsPerEpoch: number;
  relativeTime: number;
  /** Forward+backward passes per example and step (1 for standard training). */
  passes: number;
  /** The seed's CIFAR-10 figures (clean, robust) for the same recipe. */
  seed: [number, number];
}

export interface CoEpoch {
  epoch: number;
  clean: number;
  fgsm: number;
  pgd10: number;
  align: number;
  co: boolean;
}

export interface CoRow {
  run: string;
  method: string;
  eps: number;
  epochs: CoEpoch[];
  /** First epoch with a CO flag (undefined: never flagged). */
  coEpoch?: number;
  coRules: string[];
  bestPgd10: number;
  bestPgd10Epoch: number;
  finalClean: number;
  finalPgd20: number;
  finalWorstCase: number;
  secondsPerEpoch: number;
  relativeTime: number;
  passes: number;
}

export interface ClassRow {
  run: string;
  clean: number[];
  robust: number[];
  worstClass: number;
  spread: number;
}

export interface MinorityRow {
  run: string;
  balancedRun: string;
  minorityClean: number;
  minorityRobust: number;
  othersRobust: number;
  /** The same class's robust accuracy when trained on the balanced set. */
  balancedRobust: number;
}

export interface FrontierRow {
  run: string;
  label: string;
  clean: number;
  /** PGD-20 robust accuracy at the frontier's ε. */
  robust: number;
  /** The worst case at that ε, for the runs that had one. */
  worstCase?: number;
  onFrontier: boolean;
}

export interface SuiteResults {
  profile: Profile;
  environment: Environment;
  classNames: string[];
  tradeoff: TradeoffRow[];
  co: CoRow[];
  fairness: { perClass: ClassRow[]; minority: MinorityRow[]; minorityClass: number; fraction: number };
  frontier: { eps: number; points: FrontierRow[] };
  danskin?: DanskinReport;
  /** Experiments whose run or evaluation was missing when the summary was made. */
  missing: string[];
}

const SEED_CIFAR: Record<string, [number, number]> = { 'standard-e0.1': [0.95, 0], 'pgd-e0.1': [0.83, 0.56], 'pgd20-e0.1': [0.84, 0.58] };

interface Loaded {
  e: Experiment;
  source: Source & { evaluation: NonNullable<Source['evaluation']>; run: NonNullable<Source['run']> };
}

const cleanAt = (r: EvalFile) => r.clean_accuracy;
const attackAt = (r: EvalFile, name: string, eps: number) =>
  r.attacks.find((a) => a.name === name && a.eps === eps)?.robust_accuracy ?? NaN;

/** Forward+backward passes per example of one training step of the run's method (the objective's own count). */
function passesOf(c: Record<string, unknown> | undefined): number {
  return c ? makeObjective(c as unknown as ObjectiveConfig, Number(c.eps)).cost : NaN;
}

/** The worst case only where it includes APGD (without it, it is just the minimum of FGSM and PGD). */
function strongWorstAt(r: EvalFile, eps: number): number | undefined {
  const w = worstAt(r, eps);
  return w?.attacks?.includes('apgd-ce') ? w.robust_accuracy : undefined;
}

/**
 * Seconds of the fastest epoch (held-out measurements included): every epoch does the same work, so the
 * fastest is the one least disturbed by other load on a shared machine; the mean is reported beside it.
 */
function secondsPerEpoch(s: Loaded['source']): number {
  const per = (s.run.summary?.seconds_per_epoch ?? []) as number[];
  return per.length ? Math.min(...per) : NaN;
}

/**
 * Training examples per second with the held-out measurements left out (metrics.jsonl's examples_per_s
 * at each epoch's end), the best epoch's: the cost of a method without the cost of watching it.
 */
function throughput(s: Loaded['source']): number {
  const byEpoch = new Map<number, number>();
  for (const m of s.run.metrics) if (typeof m.examples_per_s === 'number') byEpoch.set(m.epoch, m.examples_per_s);
  return byEpoch.size ? Math.max(...byEpoch.values()) : NaN;
}

function meanSecondsPerEpoch(s: Loaded['source']): number {
  const per = (s.run.summary?.seconds_per_epoch ?? []) as number[];
  return per.length ? per.reduce((a, b) => a + b, 0) / per.length : NaN;
}

export function summarize(out: string, profile: Profile, experiments: Experiment[], environment: Environment): SuiteResults {
  const loaded = new Map<string, Loaded>();
  const missing: string[] = [];
  for (const e of experiments) {
    const dir = join(out, e.name);
    if (!existsSync(join(dir, 'summary.json')) || !existsSync(join(dir, 'eval.json'))) {
      missing.push(e.name);
      continue;
    }
    loaded.set(e.name, { e, source: loadSource(dir) as Loaded['source'] });
  }
  const get = (name: string) => loaded.get(name);
  const anyEval = [...loaded.values()][0]?.source.evaluation.report;
  const classNames = anyEval?.class_names ?? [];
  const standardThroughput = get('standard-e0.1') ? throughput(get('standard-e0.1')!.source) : NaN;
  const relativeCost = (src: Loaded['source']) => standardThroughput / throughput(src);

  const tradeoff: TradeoffRow[] = [];
  for (const name of ['standard-e0.1', 'pgd-e0.1', 'pgd20-e0.1']) {
    const l = get(name);
    if (!l) continue;
    const r = l.source.evaluation.report;
    const spe = secondsPerEpoch(l.source);
    tradeoff.push({
      run: name,
      method: methodLabel(l.source.run.config),
      clean: cleanAt(r),
      pgd20: attackAt(r, 'pgd', EVAL_EPS),
      worstCase: worstAt(r, EVAL_EPS)?.robust_accuracy ?? NaN,
      secondsPerEpoch: spe,
      meanSecondsPerEpoch: meanSecondsPerEpoch(l.source),
      relativeTime: relativeCost(l.source),
      passes: passesOf(l.source.run.config),
      seed: SEED_CIFAR[name]!,
    });
  }

  const co: CoRow[] = [];
  for (const l of [...loaded.values()].filter((x) => x.e.findings.includes('co'))) {
    const r = l.source.evaluation.report;
    const ends = new Map<number, CoEpoch>();
    const flagged = new Map<number, boolean>();
    let best = -1,
      bestEpoch = 0;
    const rules = new Set<string>();
    for (const m of l.source.run.metrics) {
      if (m.co) {
        flagged.set(m.epoch, true);
        for (const rule of m.co_rules ?? []) rules.add(rule);
      }
      if ((m.pgd_acc ?? -1) > best) [best, bestEpoch] = [m.pgd_acc!, m.epoch];
      ends.set(m.epoch, {
        epoch: m.epoch,
        clean: m.clean_acc,
        fgsm: m.fgsm_acc ?? NaN,
        pgd10: m.pgd_acc ?? NaN,
        align: m.grad_align ?? NaN,
        co: false,
      });
    }
    const epochs = [...ends.values()].sort((a, b) => a.epoch - b.epoch).map((x) => ({ ...x, co: flagged.get(x.epoch) ?? false }));
    const spe = secondsPerEpoch(l.source);
    co.push({
      run: l.e.name,
      method: methodLabel(l.source.run.config),
      eps: CO_EPS,
      epochs,
      coEpoch: epochs.find((x) => x.co)?.epoch,
      coRules: [...rules],
      bestPgd10: best,
      bestPgd10Epoch: bestEpoch,
      finalClean: cleanAt(r),
      finalPgd20: attackAt(r, 'pgd', CO_EPS),
      finalWorstCase: worstAt(r, CO_EPS)?.robust_accuracy ?? NaN,
      secondsPerEpoch: spe,
      relativeTime: relativeCost(l.source),
      passes: passesOf(l.source.run.config),
    });
  }

  const perClass: ClassRow[] = [];
  for (const name of ['standard-e0.1', 'pgd-e0.1', 'standard-minority', 'pgd-e0.1-minority']) {
    const l = get(name);
    if (!l) continue;
    const r = l.source.evaluation.report;
    const robust = (worstAt(r, EVAL_EPS)?.per_class ?? []).map((v) => v ?? NaN);
    const finite = robust.filter(Number.isFinite);
    perClass.push({
      run: name,
      clean: (r.clean_per_class ?? []).map((v) => v ?? NaN),
      robust,
      worstClass: robust.indexOf(Math.min(...finite)),
      spread: Math.max(...finite) - Math.min(...finite),
    });
  }
  const minority: MinorityRow[] = [];
  for (const [name, balanced] of [
    ['standard-minority', 'standard-e0.1'],
    ['pgd-e0.1-minority', 'pgd-e0.1'],
  ] as const) {
    const rowM = perClass.find((p) => p.run === name);
    const rowB = perClass.find((p) => p.run === balanced);
    if (!rowM) continue;
    const others = rowM.robust.filter((_, k) => k !== MINORITY.class);
    minority.push({
      run: name,
      balancedRun: balanced,
      minorityClean: rowM.clean[MINORITY.class]!,
      minorityRobust: rowM.robust[MINORITY.class]!,
      othersRobust: others.reduce((a, b) => a + b, 0) / others.length,
      balancedRobust: rowB?.robust[MINORITY.class] ?? NaN,
    });
  }

  const points = [...loaded.values()]
    .filter((x) => x.e.findings.includes('frontier'))
    // PGD-20 for every point: the frontier-only runs are not given the (costly) worst-case evaluation.
    .map((x) => ({
      run: x.e.name,
      label: `${methodLabel(x.source.run.config)}`,
      clean: cleanAt(x.source.evaluation.report),
      robust: attackAt(x.source.evaluation.report, 'pgd', EVAL_EPS),
      worstCase: strongWorstAt(x.source.evaluation.report, EVAL_EPS),
    }))
    .filter((p) => Number.isFinite(p.robust));
  const front = new Set(paretoFrontier(points).map((p) => `${p.clean}/${p.robust}`));
  const frontier = {
    eps: EVAL_EPS,
    points: points.map((p) => ({ ...p, onFrontier: front.has(`${p.clean}/${p.robust}`) })).sort((a, b) => a.clean - b.clean),
  };

  const danskinFile = join(out, 'danskin.json');
  const danskin = existsSync(danskinFile) ? (JSON.parse(readFileSync(danskinFile, 'utf8')) as DanskinReport) : undefined;
  return {
    profile,
    environment,
    classNames,
    tradeoff,
    co,
    fairness: { perClass, minority, minorityClass: MINORITY.class, fraction: MINORITY.fraction },
    frontier,
    danskin,
    missing,
  };
}

/** "PGD-7 AT (ε=0.1)", "TRADES β=3 (ε=0.1)", "standard", from a run's config.json. */
export function methodLabel(c: Record<string, unknown> | undefined): string {
  if (!c) return '?';
  const eps = `ε=${c.eps}`;
  const minority = c.minority ? ', minority' : '';
  switch (c.method) {
    case 'standard':
      return `standard${minority}`;
    case 'pgd':
      return `PGD-${c.steps ?? 7} AT (${eps}${minority})`;
    case 'trades':
      return `TRADES β=${c.beta ?? 6} (${eps})`;
    case 'gradalign':
      return `GradAlign λ=${c.lambda ?? 0.2}${c.fgsmInit === 'random' ? ', random init' : ''} (${eps})`;
    case 'elle':
    case 'elle-a':
    case 'cure':
      return `${String(c.method).toUpperCase()}${c.lambda !== undefined ? ` λ=${c.lambda}` : ''}${c.fgsmInit === 'random' ? ', random init' : ''} (${eps})`;
    case 'llr':
      return `LLR λ=${c.lambda ?? 4} μ=${c.mu ?? 3} (${eps})`;
    case 'fgsm':
      return `FGSM AT (${eps})`;
    case 'fgsm-rs':
      return `FGSM-RS AT (${eps})`;
    default:
      return `${String(c.method)} (${eps})`;
  }
}
