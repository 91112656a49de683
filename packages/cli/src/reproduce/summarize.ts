/**
 * The suite's numbers, read back from its run directories (config.json, metrics.jsonl, summary.json,
 * eval.json) and danskin.json: one object per finding, every value traceable to a file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  coRuleOnsets,
  CURVATURE_SIGNALS,
  healthyCeiling,
  leadTimes,
  cureDefaultLambda,
  elleDefaultLambda,
  ELLE_A_DEFAULT_LAMBDA,
  makeObjective,
  median,
  type CoRule,
  type CoThresholds,
  type CurvatureSignal,
  type DanskinReport,
  type LeadTime,
  type ObjectiveConfig,
  type SignalPoint,
} from '@advlab/core';
import { loadSource, paretoFrontier, worstAt, type EvalFile, type Source } from '@advlab/report';
import { CO_EPS, EVAL_EPS, MINORITY, runSize, type Experiment, type Finding, type Profile, type RunSize } from './suite.ts';

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

/** Mean and sample standard deviation over seeds (no sd with one seed). */
export interface MeanSd {
  mean: number;
  sd?: number;
}

/** The size and seeds a seeded group's runs were trained at. */
export interface SeededSize {
  size: RunSize;
  seeds: number[];
}

/** One seed's run of a seeded group: its final evaluation at the group's ε, its fastest epoch, its CO flags. */
export interface SeedRun {
  seed: number;
  run: string;
  clean: number;
  pgd20: number;
  /** Over FGSM, PGD-20, APGD-CE and APGD-T ('light': half the profile's APGD steps, 3 target classes). */
  worstCase: number;
  secondsPerEpoch: number;
  /** A CO flag on any held-out line. */
  co: boolean;
  /** The last epoch's line says clean accuracy and loss were still at chance: the run never learned. */
  atChance: boolean;
}

/** A seeded group (one recipe) over its seeds. */
export interface GroupRow {
  group: string;
  method: string;
  eps: number;
  perSeed: SeedRun[];
  clean: MeanSd;
  pgd20: MeanSd;
  worstCase: MeanSd;
  /** The fastest epoch of any seed's run, seconds. */
  secondsPerEpoch: number;
  /** Seeds with a CO flag. */
  coSeeds: number;
}

/** Do held-out curvature measures warn of catastrophic overfitting before the CO rules (diagnostics/lead-time.ts)? */
export interface CurvatureCo extends SeededSize {
  eps: number;
  /** Held-out lines every this many batches (and at each epoch's end). */
  evalEvery: number;
  /**
   * The runs the thresholds were measured on: every run of the finding but the CO-timing ones (the curvature
   * methods, GradAlign and PGD-7 AT) with no CO flag on any held-out line and not at chance at the end.
   */
  healthyRuns: string[];
  /**
   * Per signal: the threshold its onset is judged at, the largest value it reached on the healthy runs (absent
   * when no healthy run carried it).
   */
  ceilings: { signal: CurvatureSignal; ceiling?: number }[];
  rules: CoRule[];
  runs: CurvatureCoRun[];
  /** Per signal with a factor and rule, over the CO runs. */
  tally: LeadTally[];
}

export interface CurvatureCoRun {
  run: string;
  method: string;
  seed: number;
  /** First step at which each rule fired, replayed with the run's CO thresholds (absent: never). */
  ruleSteps: Partial<Record<CoRule, number>>;
  /** Per signal with a factor and rule: the signal's onset step, the rule's, and leadBatches = rule − signal. */
  leads: LeadTime[];
}

/**
 * Over the CO runs, how often a signal fired before (led), with (tied) or after (lagged) a rule; fired while the
 * rule never did (signalOnly: a false alarm, as far as that rule can tell); did not fire while the rule did
 * (ruleOnly: missed); or neither fired.
 */
export interface LeadTally {
  signal: CurvatureSignal;
  rule: CoRule;
  led: number;
  tied: number;
  lagged: number;
  signalOnly: number;
  ruleOnly: number;
  neither: number;
}

/** Curvature-regularised training against GradAlign and PGD-7 AT, one row per recipe. */
export interface CurvatureMethods extends SeededSize {
  rows: (GroupRow & { passes: number })[];
}

/** One optimiser on one task (a training recipe). */
export interface SophiaRow extends GroupRow {
  optimizer: string;
  perSeed: (SeedRun & {
    /** Best held-out PGD-10 accuracy of the run. */
    bestPgd10: number;
    /** First step whose held-out PGD-10 accuracy reached the task's target (absent: never). */
    stepsToTarget?: number;
    unclipped?: Spread;
  })[];
  /** Seeds that reached the target. */
  reachedTarget: number;
  /** Sophia: the unclipped fraction over every seed's held-out lines. */
  unclipped?: Spread;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Sophia against Adam, per task. */
export interface SophiaComparison extends SeededSize {
  /** A task's target is this share of Adam's mean best held-out PGD-10 accuracy. */
  targetShare: number;
  tasks: {
    task: string;
    eps: number;
    /** targetShare × Adam's mean (over seeds) best held-out PGD-10 accuracy on the task; absent without an Adam run. */
    target?: number;
    rows: SophiaRow[];
  }[];
}

/** One seed's generative run: its evaluation (eval-generative.json) and training time. */
export interface GenerativeSeed {
  seed: number;
  run: string;
  auddc: { latent: number; output: number; interpolation: number };
  successRate: Record<string, number> | null;
  negElbo: number;
  mse: number;
  secondsPerEpoch: number;
}

/** A generative recipe over its seeds (mean ± sd), e.g. the plain VAE or the adversarially trained one. */
export interface GenerativeRow {
  group: string;
  method: string;
  auddc: { latent: MeanSd; output: MeanSd; interpolation: MeanSd };
  successRate: Record<string, MeanSd>;
  negElbo: MeanSd;
  mse: MeanSd;
  perSeed: GenerativeSeed[];
}

/** Issue 15's comparison: AUDDC and judged success against reconstruction quality, standard vs robust VAE. */
export interface GenerativeComparison extends SeededSize {
  pairs: number;
  budget: string;
  judge: string;
  rows: GenerativeRow[];
}

export interface SuiteResults {
  profile: Profile;
  environment: Environment;
  classNames: string[];
  tradeoff: TradeoffRow[];
  co: CoRow[];
  fairness: { perClass: ClassRow[]; minority: MinorityRow[]; minorityClass: number; fraction: number };
  frontier: { eps: number; points: FrontierRow[] };
  /** Only when the curvature finding was selected (likewise the next two). */
  curvatureCo?: CurvatureCo;
  curvatureMethods?: CurvatureMethods;
  sophia?: SophiaComparison;
  generative?: GenerativeComparison;
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
  const generativeSeeds: { e: Experiment; seed: GenerativeSeed; pairs: number; budget: string }[] = [];
  for (const e of experiments) {
    const dir = join(out, e.name);
    if (e.evaluation === 'generative') {
      const read = readGenerativeRun(dir, e);
      if (read) generativeSeeds.push({ e, ...read });
      else missing.push(e.name);
      continue;
    }
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
  const selected = (f: Finding) => experiments.some((e) => e.findings.includes(f));
  const seededSize = (f: Finding): SeededSize => {
    const group = experiments.filter((e) => e.findings.includes(f));
    return { size: runSize(group[0]!, profile), seeds: [...new Set(group.map((e) => e.seed ?? 0))].sort((a, b) => a - b) };
  };
  const ofFinding = (f: Finding) => [...loaded.values()].filter((l) => l.e.findings.includes(f));
  return {
    profile,
    environment,
    classNames,
    tradeoff,
    co,
    fairness: { perClass, minority, minorityClass: MINORITY.class, fraction: MINORITY.fraction },
    frontier,
    ...(selected('curvature')
      ? {
          curvatureCo: curvatureCo(ofFinding('curvature'), seededSize('curvature'), profile),
          curvatureMethods: {
            ...seededSize('curvature'),
            rows: byGroup(ofFinding('curvature').filter((l) => !isCoRun(l))).map((runs) => ({
              ...groupRow(runs),
              passes: passesOf(runs[0]!.source.run.config),
            })),
          },
        }
      : {}),
    ...(selected('sophia') ? { sophia: sophiaComparison(ofFinding('sophia'), seededSize('sophia')) } : {}),
    ...(experiments.some((e) => e.evaluation === 'generative')
      ? { generative: generativeComparison(experiments, generativeSeeds, profile) }
      : {}),
    danskin,
    missing,
  };
}

/** The lead-time analysis times CO on FGSM and FGSM-RS; its thresholds are measured on the group's other runs. */
const CO_METHODS = ['fgsm', 'fgsm-rs'];
/** The rules timed: the FGSM–PGD gap (a model that is not robust) and the alignment's collapse (GradAlign's signal). */
const LEAD_RULES: CoRule[] = ['fgsm-pgd-gap', 'alignment-collapse'];

const methodOf = (l: Loaded) => String(l.source.run.config?.method);
const isCoRun = (l: Loaded) => CO_METHODS.includes(methodOf(l));
const coFlagged = (l: Loaded) => l.source.run.metrics.some((m) => m.co);
/** The run's last line (its last epoch's end) says it is at chance (training/loop.ts's atChance): it never learned. */
const neverLearned = (l: Loaded) => (l.source.run.metrics.at(-1) as { at_chance?: boolean } | undefined)?.at_chance === true;

type HeldOutLine = Loaded['source']['run']['metrics'][number];

/** The held-out lines with the numbers the CO rules read (every line of a run at ε > 0). */
function heldOutPoints(l: Loaded): (HeldOutLine & SignalPoint)[] {
  return l.source.run.metrics.filter((m): m is HeldOutLine & SignalPoint =>
    [m.fgsm_acc, m.pgd_acc, m.grad_align].every((v) => typeof v === 'number' && Number.isFinite(v)),
  );
}

function meanSd(values: number[]): MeanSd {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean };
  return { mean, sd: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) };
}

function spread(values: number[]): Spread | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return undefined;
  return { min: v[0]!, median: median(v), max: v[v.length - 1]! };
}

/** The loaded runs grouped by recipe (in suite order), each group by seed. */
function byGroup(runs: Loaded[]): Loaded[][] {
  const groups = new Map<string, Loaded[]>();
  for (const l of runs) {
    const group = l.e.group ?? l.e.name;
    groups.set(group, [...(groups.get(group) ?? []), l]);
  }
  return [...groups.values()].map((g) => g.sort((a, b) => (a.e.seed ?? 0) - (b.e.seed ?? 0)));
}

function groupRow(runs: Loaded[]): GroupRow {
  const first = runs[0]!;
  const eps = first.e.evalEps[0]!;
  const perSeed = runs.map((l) => {
    const r = l.source.evaluation.report;
    return {
      seed: l.e.seed ?? 0,
      run: l.e.name,
      clean: cleanAt(r),
      pgd20: attackAt(r, 'pgd', eps),
      worstCase: worstAt(r, eps)?.robust_accuracy ?? NaN,
      secondsPerEpoch: secondsPerEpoch(l.source),
      co: coFlagged(l),
      atChance: neverLearned(l),
    };
  });
  return {
    group: first.e.group ?? first.e.name,
    method: methodLabel(first.source.run.config),
    eps,
    perSeed,
    clean: meanSd(perSeed.map((s) => s.clean)),
    pgd20: meanSd(perSeed.map((s) => s.pgd20)),
    worstCase: meanSd(perSeed.map((s) => s.worstCase)),
    secondsPerEpoch: Math.min(...perSeed.map((s) => s.secondsPerEpoch)),
    coSeeds: perSeed.filter((s) => s.co).length,
  };
}

function curvatureCo(runs: Loaded[], sized: SeededSize, profile: Profile): CurvatureCo {
  const healthy = runs.filter((l) => !isCoRun(l) && !coFlagged(l) && !neverLearned(l));
  const ceilings = CURVATURE_SIGNALS.map((signal) => {
    const ceiling = healthyCeiling(healthy.map(heldOutPoints), signal);
    return { signal, ...(ceiling !== undefined ? { ceiling } : {}) };
  });
  const judged = Object.fromEntries(ceilings.flatMap((f) => (f.ceiling !== undefined ? [[f.signal, f.ceiling]] : [])));
  const coRuns = runs.filter(isCoRun).map((l): CurvatureCoRun => {
    const lines = heldOutPoints(l);
    const thresholds = l.source.run.config?.co as Partial<CoThresholds> | undefined;
    const onsets = coRuleOnsets(lines, thresholds);
    return {
      run: l.e.name,
      method: methodLabel(l.source.run.config),
      seed: l.e.seed ?? 0,
      ruleSteps: Object.fromEntries(LEAD_RULES.flatMap((rule) => (onsets[rule] !== undefined ? [[rule, onsets[rule]]] : []))),
      leads: leadTimes(lines, judged, { thresholds, rules: LEAD_RULES }),
    };
  });
  const tally = ceilings
    .filter((f) => f.ceiling !== undefined)
    .flatMap(({ signal }) =>
      LEAD_RULES.map((rule) => {
        const t: LeadTally = { signal, rule, led: 0, tied: 0, lagged: 0, signalOnly: 0, ruleOnly: 0, neither: 0 };
        for (const r of coRuns) {
          const lead = r.leads.find((x) => x.signal === signal && x.rule === rule)!;
          if (lead.ruleStep === undefined) {
            if (lead.signalStep === undefined) t.neither++;
            else t.signalOnly++;
          } else if (lead.leadBatches === undefined) t.ruleOnly++;
          else if (lead.leadBatches > 0) t.led++;
          else if (lead.leadBatches === 0) t.tied++;
          else t.lagged++;
        }
        return t;
      }),
    );
  return {
    ...sized,
    eps: CO_EPS,
    // The runs' own setting: the curvature group is measured more often than the profile's other runs.
    evalEvery: Number(runs.find(isCoRun)?.source.run.config?.evalEvery ?? profile.evalEvery),
    healthyRuns: healthy.map((l) => l.e.name),
    ceilings,
    rules: LEAD_RULES,
    runs: coRuns,
    tally,
  };
}

/** Speed is compared as steps to a share of what Adam reaches: its mean best held-out PGD-10 accuracy. */
const TARGET_SHARE = 0.9;

function sophiaComparison(runs: Loaded[], sized: SeededSize): SophiaComparison {
  const bestPgd10 = (l: Loaded) => Math.max(...heldOutPoints(l).map((m) => m.pgd_acc));
  const tasks = new Map<string, Loaded[][]>();
  for (const group of byGroup(runs)) {
    const task = methodLabel(group[0]!.source.run.config);
    tasks.set(task, [...(tasks.get(task) ?? []), group]);
  }
  return {
    ...sized,
    targetShare: TARGET_SHARE,
    tasks: [...tasks.entries()].map(([task, groups]) => {
      const adam = groups.find((g) => g[0]!.source.run.config?.optimizer === 'adam');
      const target = adam ? TARGET_SHARE * meanSd(adam.map(bestPgd10)).mean : undefined;
      const rows = groups.map((group): SophiaRow => {
        const row = groupRow(group);
        const perSeed = row.perSeed.map((s, k) => {
          const lines = heldOutPoints(group[k]!);
          const reached = target === undefined ? undefined : lines.find((m) => m.pgd_acc >= target)?.step;
          const unclipped = spread(lines.map((m) => m.unclipped_fraction ?? NaN));
          return {
            ...s,
            bestPgd10: bestPgd10(group[k]!),
            ...(reached !== undefined ? { stepsToTarget: reached } : {}),
            ...(unclipped ? { unclipped } : {}),
          };
        });
        const unclipped = spread(group.flatMap((l) => heldOutPoints(l).map((m) => m.unclipped_fraction ?? NaN)));
        return {
          ...row,
          optimizer: String(group[0]!.source.run.config?.optimizer),
          perSeed,
          reachedTarget: perSeed.filter((s) => s.stepsToTarget !== undefined).length,
          ...(unclipped ? { unclipped } : {}),
        };
      });
      return { task, eps: groups[0]![0]!.e.evalEps[0]!, ...(target !== undefined ? { target } : {}), rows };
    }),
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
    case 'cure': {
      // The weight in force, defaults included: ELLE's λ, and the adaptive methods' λ_max.
      const e = Number(c.eps);
      const weight =
        c.method === 'elle'
          ? `λ=${c.lambda ?? elleDefaultLambda(e)}`
          : `λ_max=${c.lambda ?? (c.method === 'cure' ? cureDefaultLambda(e) : ELLE_A_DEFAULT_LAMBDA)}`;
      return `${String(c.method).toUpperCase()} ${weight}${c.fgsmInit === 'random' ? ', random init' : ''} (${eps})`;
    }
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

/** A generative run's seed record from its summary.json, eval-generative.json and metrics.jsonl; undefined if one is missing. */
function readGenerativeRun(dir: string, e: Experiment): { seed: GenerativeSeed; pairs: number; budget: string } | undefined {
  const evalFile = join(dir, 'eval-generative.json');
  if (!existsSync(join(dir, 'summary.json')) || !existsSync(evalFile)) return undefined;
  const r = JSON.parse(readFileSync(evalFile, 'utf8')) as {
    auddc: GenerativeSeed['auddc'];
    success_rate: Record<string, number> | null;
    reconstruction: { neg_elbo: number; mse: number };
    pairs: unknown[];
    budget: string;
  };
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { epoch: number; seconds: number });
  // Per epoch, the time of its last line; an epoch's seconds are the difference to the epoch before.
  const ends = new Map<number, number>();
  for (const l of lines) ends.set(l.epoch, l.seconds);
  const times = [...ends.values()].map((t, i, all) => t - (i > 0 ? all[i - 1]! : 0));
  return {
    seed: {
      seed: e.seed ?? 0,
      run: e.name,
      auddc: r.auddc,
      successRate: r.success_rate,
      negElbo: r.reconstruction.neg_elbo,
      mse: r.reconstruction.mse,
      secondsPerEpoch: times.length ? Math.min(...times) : Number.NaN,
    },
    pairs: r.pairs.length,
    budget: r.budget,
  };
}

function generativeComparison(
  experiments: Experiment[],
  seeds: { e: Experiment; seed: GenerativeSeed; pairs: number; budget: string }[],
  profile: Profile,
): GenerativeComparison {
  const group = experiments.filter((e) => e.evaluation === 'generative');
  const groups = [...new Set(group.map((e) => e.group ?? e.name))];
  const rows = groups.flatMap((g): GenerativeRow[] => {
    const runs = seeds.filter((s) => (s.e.group ?? s.e.name) === g).map((s) => s.seed);
    if (!runs.length) return [];
    const attacks = [...new Set(runs.flatMap((r) => Object.keys(r.successRate ?? {})))];
    const train = group.find((e) => (e.group ?? e.name) === g)!.train;
    const label =
      train.method === 'pgd'
        ? `adversarial (PGD-${train.steps} on the latent shift, ε ${train.eps})`
        : train.spectralBound
          ? `Lipschitz encoder (spectral norms ≤ ${train.spectralBound})`
          : 'standard';
    return [
      {
        group: g,
        method: label,
        auddc: {
          latent: meanSd(runs.map((r) => r.auddc.latent)),
          output: meanSd(runs.map((r) => r.auddc.output)),
          interpolation: meanSd(runs.map((r) => r.auddc.interpolation)),
        },
        successRate: Object.fromEntries(attacks.map((a) => [a, meanSd(runs.map((r) => r.successRate?.[a] ?? Number.NaN))])),
        negElbo: meanSd(runs.map((r) => r.negElbo)),
        mse: meanSd(runs.map((r) => r.mse)),
        perSeed: runs,
      },
    ];
  });
  return {
    size: runSize(group[0]!, profile),
    seeds: [...new Set(group.map((e) => e.seed ?? 0))].sort((a, b) => a - b),
    pairs: seeds[0]?.pairs ?? 0,
    budget: seeds[0]?.budget ?? '',
    judge: 'standard-e0.1',
    rows,
  };
}
