import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import { classifierBounds, isSyncClassifier, type AnyClassifier, type Classifier } from '../models/classifier.ts';
import { threatModel, type ThreatModel } from '../threat/threat.ts';
import type { Norm } from '../threat/norms.ts';
import { getAttack } from '../attacks/registry.ts';
import {
  argMaxRows,
  pauseHost,
  queryLogits,
  readHost,
  runAttackSteps,
  runHostSteps,
  runHostStepsAsync,
  type HostSteps,
} from '../attacks/run.ts';
import {
  attackBatches,
  BATCHINGS,
  batchSeed,
  batchSource,
  chunks,
  range,
  shardRange,
  survivorBatches,
  type Batching,
  type BatchSource,
  type EvalData,
  type ShardSpec,
} from './batches.ts';
import { classSummary, mean, perClass, type ClassSummary } from './metrics.ts';
import { PROBE_SIZE, SANITY_CHECKS, sanityCheckSteps, skipCheck, type CheckResult, type SanityCheck } from './checks.ts';
import { getSuite, type AttackSuite } from './suites.ts';

/**
 * What `evaluateRobustness` runs: `attacks` by registry name, each at every ε of `eps` (in the model's pixel
 * units). Throws ConfigError for an unknown attack, no ε, a negative ε or an `n` that is not an integer in [1, examples].
 */
export interface EvaluateOptions {
  attacks: string[];
  eps: number[];
  /** Default 'linf'. */
  norm?: Norm;
  /** The first n examples of the set, in order (unshuffled), so numbers compare across tools. Default: all. */
  n?: number;
  batchSize?: number;
  seed?: number;
  /** Run a worst-case suite on the survivors of `attacks` (default true). */
  worstCase?: boolean;
  /**
   * The worst-case suite (see SUITES): 'apgd' (APGD-CE + APGD-T, the default) or 'autoattack' (AutoAttack's
   * standard version: APGD-CE, APGD-T, FAB-T, Square with its settings, which override `attackConfig`).
   */
  suite?: string | AttackSuite;
  /** Per-attack config overrides, e.g. { pgd: { steps: 20 } }. */
  attackConfig?: Record<string, object>;
  /** Run the sanity checks (default true). */
  sanityChecks?: boolean;
  /**
   * Evaluate only this shard of the first n examples: the contiguous run of whole batches `shardRange` gives
   * (ConfigError, key `shard`, for a bad one). The report then covers those examples (its `n` is their count)
   * and carries `shard` for `mergeShards`, which combines the shards of one evaluation into the report the
   * unsharded evaluation gives, figure for figure (see `AttackBatch` for why the draws agree). The sanity
   * checks that run the model on the probe (the first PROBE_SIZE correctly classified examples of the whole
   * set) run only in the shard that starts at example 0, which predicts past its end if it must to find them;
   * the other shards report them skipped. The rest run on each shard's own examples, and `mergeShards` runs
   * them again over all of them.
   */
  shard?: ShardSpec;
  /**
   * How attacks batch their examples (see `AttackBatch`): 'survivors' (the default without a shard) batches the
   * survivors of the whole set in turn, as every evaluation did before sharding, so documented figures rerun
   * unchanged; 'blocks' (the only rule a shard can use, and its default) batches them per fixed block of the set,
   * so an unsharded evaluation with 'blocks' is what `mergeShards` reproduces. With n ≤ batchSize both agree.
   */
  batching?: Batching;
  /**
   * Called after each attacked batch: `stage` names the attack and ε, `done` of `total` clean-correct examples have
   * been attacked at it. Called synchronously; an exception ends the evaluation.
   */
  onProgress?: (event: { stage: string; done: number; total: number }) => void;
}

/**
 * The result of one attack at one ε: robust accuracy over all `n` examples (misclassified clean examples
 * count as broken), overall and per class.
 */
export interface AttackReport {
  name: string;
  norm: Norm;
  eps: number;
  robust_accuracy: number;
  per_class: number[];
  summary: ClassSummary;
  /** The attack's resolved configuration (defaults plus overrides): what exactly was run. */
  config: object;
  /** Gradient evaluations per attacked example, and wall time. */
  cost: number;
  seconds: number;
}

/** One attack of a worst-case suite: on how many examples it ran (the survivors so far) and how many it broke. */
export interface SuiteStepReport {
  attack: string;
  /** The attack's resolved configuration. */
  config: object;
  run_on: number;
  broke: number;
  seconds: number;
  /** Why the step did not run (then run_on = broke = 0). */
  skipped?: string;
}

/** Robust accuracy at one ε when an example counts as robust only if it survives every attack in `attacks`. */
export interface WorstCaseReport {
  eps: number;
  robust_accuracy: number;
  per_class: number[];
  summary: ClassSummary;
  /** The attacks whose per-example results were combined. */
  attacks: string[];
  /** The suite that ran after `EvaluateOptions.attacks`, by its label (never "AutoAttack" unless it is), or null. */
  suite: string | null;
  /** The suite's attacks in order, each on the survivors of the ones before. */
  sequence: SuiteStepReport[];
}

/**
 * The JSON-ready result of an evaluation: accuracies are fractions in [0, 1], `per_class` arrays are indexed
 * by label (NaN for a class absent from the examples) and `seconds` is wall time.
 */
export interface EvaluationReport {
  /** Present when the attacks were batched per block ('blocks'; see `EvaluateOptions.batching`); absent: 'survivors'. */
  batching?: 'blocks';
  dataset: string;
  model: string;
  n: number;
  norm: Norm;
  eps: number[];
  clean_accuracy: number;
  clean_per_class: number[];
  clean_summary: ClassSummary;
  attacks: AttackReport[];
  /** The worst case at the first ε of the list; `worst_case_by_eps` has every ε. */
  worst_case: WorstCaseReport;
  worst_case_by_eps: WorstCaseReport[];
  checks: CheckResult[];
  seed: number;
  seconds: number;
  /** Present in the report of one shard (`EvaluateOptions.shard`) only: what `mergeShards` needs. */
  shard?: ShardInfo;
}

/**
 * What the report of a shard (`EvaluateOptions.shard`) adds for `mergeShards`: where the slice lies, the
 * settings every shard of one evaluation shares, and the per-example outcomes. Per-example flags are strings
 * of '0' and '1', one character per example of the slice, in order.
 */
export interface ShardInfo {
  index: number;
  count: number;
  /** The slice: the examples start … end − 1 of the first `total`. */
  start: number;
  end: number;
  /** n of the whole evaluation (the report's own `n` is end − start). */
  total: number;
  batch_size: number;
  /** The model's input box, as the attacks clipped to it. */
  bounds: [number, number];
  /** Whether the worst-case suite ran (`EvaluateOptions.worstCase`). */
  worst_case: boolean;
  /** Whether the sanity checks ran (`EvaluateOptions.sanityChecks`). */
  sanity_checks: boolean;
  /** The largest ‖δ‖/ε over the shard's adversarial points (0 with none); a non-finite value as a string, e.g. 'Infinity'. */
  max_ball_ratio: number | string;
  /** How many adversarial points the shard made. */
  adversarial_points: number;
  /** The label of each example of the slice. */
  labels: number[];
  /** Correctly classified on clean input. */
  correct: string;
  /** Per entry of `attacks`, in order: still correctly classified after that attack. */
  robust: string[];
  /** Per entry of `worst_case_by_eps`, in order: robust under the worst case. */
  worst: string[];
}

/** Per-example flags as a string of '0' and '1' (`ShardInfo`). */
export function encodeFlags(flags: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < flags.length; i++) s += flags[i] ? '1' : '0';
  return s;
}

/**
 * Per-example outcome flags kept by the evaluation, useful for galleries and tests: one entry per example
 * evaluated, in order (for a shard, per example of its slice).
 */
export interface EvaluationDetail {
  correct: Uint8Array;
  /** key `${attack}@${eps}` → 1 where the example is still correctly classified after the attack. */
  robust: Map<string, Uint8Array>;
  worst: Map<number, Uint8Array>;
}

type ResolvedOptions = EvaluateOptions & { n: number; norm: Norm };

/** The batching rule of an evaluation: as asked, else 'blocks' for a shard and 'survivors' otherwise. */
function batchingOf(o: Pick<EvaluateOptions, 'batching' | 'shard'>): Batching {
  return o.batching ?? (o.shard ? 'blocks' : 'survivors');
}

function validate(o: ResolvedOptions, source: BatchSource): void {
  if (o.batching !== undefined && !BATCHINGS.includes(o.batching))
    throw new ConfigError('batching', BATCHINGS.join(' or '), String(o.batching));
  if (o.shard && o.batching === 'survivors') {
    throw new ConfigError('batching', "'blocks' with a shard (survivor batches straddle shards: see AttackBatch)", "'survivors'");
  }
  if (!Number.isInteger(o.n) || o.n < 1) throw new ConfigError('n', 'an integer ≥ 1', String(o.n));
  if (o.n > source.n) throw new ConfigError('n', `at most the ${source.n} test examples`, String(o.n));
  if (o.eps.length === 0) throw new ConfigError('eps', 'at least one ε', 'none');
  for (const e of o.eps) if (!Number.isFinite(e) || e < 0) throw new ConfigError('eps', 'numbers ≥ 0', String(e));
  for (const a of o.attacks) getAttack(a); // throws with a suggestion for unknown names
  if (typeof o.suite === 'string') getSuite(o.suite);
}

/** Predicted labels for the given indices, batched. Tensors passed as `data` are not disposed. */
export function predictLabels(model: Classifier, data: EvalData, indices: number[], batchSize = 256): Int32Array {
  return runHostSteps(predictSteps(model, batchSource(data), indices, batchSize));
}

function* predictSteps(model: AnyClassifier, source: BatchSource, indices: number[], batchSize: number): HostSteps<Int32Array> {
  const out = new Int32Array(indices.length);
  let off = 0;
  for (const idx of chunks(indices, batchSize)) {
    if (!isSyncClassifier(model)) {
      const { x, y } = source.batch(idx);
      try {
        out.set(argMaxRows(yield* queryLogits(model, x), model.numClasses), off);
      } finally {
        tf.dispose([x, y]);
      }
      off += idx.length;
      yield* pauseHost();
      continue;
    }
    const pred = tf.tidy(() => tf.argMax(model.logits(source.batch(idx).x), 1));
    try {
      out.set((yield* readHost(pred))[0]!, off);
    } finally {
      pred.dispose();
    }
    off += idx.length;
    yield* pauseHost();
  }
  return out;
}

const count = (flags: Uint8Array) => flags.reduce((a, f) => a + f, 0);

/** Per-example distance of δ in plain JS, independent of the tensor code that made the points. */
function jsNorm(delta: Float32Array, norm: Norm): number {
  let acc = 0;
  for (const v of delta) acc = norm === 'linf' ? Math.max(acc, Math.abs(v)) : norm === 'l2' ? acc + v * v : acc + Math.abs(v);
  return norm === 'l2' ? Math.sqrt(acc) : acc;
}

/** The worst ‖δ‖/ε over the rows of `adv` (Infinity when a point leaves the box), measured in plain JS. */
function maxBallRatio(adv: ArrayLike<number>, clean: ArrayLike<number>, rows: number, threat: ThreatModel): number {
  const size = adv.length / rows;
  const [lo, hi] = threat.bounds;
  const delta = new Float32Array(size);
  let maxRatio = 0;
  for (let j = 0; j < rows; j++) {
    let outside = false;
    for (let k = 0; k < size; k++) {
      const a = adv[j * size + k]!;
      if (!(a >= lo && a <= hi)) outside = true;
      delta[k] = a - clean[j * size + k]!;
    }
    const ratio = threat.eps > 0 ? jsNorm(delta, threat.norm) / threat.eps : jsNorm(delta, threat.norm) > 0 ? Infinity : 0;
    maxRatio = Math.max(maxRatio, outside ? Infinity : ratio);
  }
  return maxRatio;
}

/**
 * Runs `attack` at `threat` on the examples `indices` (all clean-correct), one batch per block of the set
 * (`attackBatches`, seeded by the block); returns per-example
 * success flags aligned with `indices` and the worst ‖δ‖/ε measured independently.
 */
function* attackIndices(
  name: string,
  config: object | undefined,
  model: AnyClassifier,
  source: BatchSource,
  indices: number[],
  threat: ThreatModel,
  o: ResolvedOptions,
  onBatch: (done: number) => void,
): HostSteps<{ success: Uint8Array; maxRatio: number; points: number }> {
  const success = new Uint8Array(indices.length);
  let maxRatio = 0;
  let off = 0;
  const batches = batchingOf(o) === 'blocks' ? attackBatches(indices, o.batchSize ?? 256) : survivorBatches(indices, o.batchSize ?? 256);
  for (const { block, indices: idx } of batches) {
    const { x, y } = source.batch(idx);
    const owned: tf.Tensor[] = [x, y];
    try {
      const seed = batchSeed(o.seed ?? 0, block);
      const r = yield* runAttackSteps(name, model, x, y, threat, { config, seed });
      owned.push(r.xAdv);
      success.set(r.success, off);
      const [adv, clean] = yield* readHost(r.xAdv, x);
      maxRatio = Math.max(maxRatio, maxBallRatio(adv!, clean!, idx.length, threat));
    } finally {
      tf.dispose(owned);
    }
    off += idx.length;
    onBatch(off);
    yield* pauseHost();
  }
  return { success, maxRatio, points: indices.length };
}

/**
 * Clean and robust accuracy of `model` on the first `options.n` examples of `data` (an ImageSet, or
 * tensors `{ x, y }`, which the function reads but does not dispose): per attack and ε, per class, the
 * per-example worst case, and the sanity checks. The same examples give the same numbers in either form.
 */
export function evaluateRobustness(...args: EvaluateArgs): Evaluation {
  return runHostSteps(evaluationSteps(...args));
}

/** The model, the examples (an ImageSet or tensors `{ x, y }`), the options and a name for the report (default 'dataset'). */
export type EvaluateArgs = [model: AnyClassifier, data: EvalData, options: EvaluateOptions, datasetName?: string];

/** The report (JSON-ready) and the per-example flags. */
export interface Evaluation {
  report: EvaluationReport;
  detail: EvaluationDetail;
}

/**
 * `evaluateRobustness` for backends whose reads are asynchronous (WebGL, WebGPU): every read of the
 * evaluation and of the attacks' trust boundary is an `await data()`, and the event loop runs between
 * batches. The attacks' own iterations still run synchronously (they may call `dataSync()`). Same report
 * (but `seconds`) and detail as `evaluateRobustness`.
 */
export function evaluateRobustnessAsync(...args: EvaluateArgs): Promise<Evaluation> {
  return runHostStepsAsync(evaluationSteps(...args));
}

function* evaluationSteps(...[model, data, options, datasetName = 'dataset']: EvaluateArgs): HostSteps<Evaluation> {
  const source = batchSource(data);
  const o: ResolvedOptions = { ...options, n: options.n ?? source.n, norm: options.norm ?? 'linf' };
  validate(o, source);
  const t0 = performance.now();
  const K = model.numClasses;
  const batchSize = o.batchSize ?? 256;
  // The slice evaluated: examples start … end − 1 (all of them unless a shard); arrays below are indexed by
  // position in the slice, `at(i)` is the example's index in the set.
  const { start, end } = o.shard ? shardRange(o.n, batchSize, o.shard) : { start: 0, end: o.n };
  const m = end - start;
  const at = (i: number) => start + i;
  const all = range(m);
  const allLabels = yield* source.labels(o.n);
  const labels = allLabels.subarray(start, end);
  const progress = o.onProgress ?? (() => {});

  const pred = yield* predictSteps(model, source, all.map(at), batchSize);
  const correct = new Uint8Array(m);
  for (let i = 0; i < m; i++) correct[i] = pred[i] === labels[i] ? 1 : 0;
  const cleanPerClass = perClass(correct, labels, K);

  const robust = new Map<string, Uint8Array>();
  const worst = new Map<number, Uint8Array>();
  const detail: EvaluationDetail = { correct, robust, worst };
  const attackReports: AttackReport[] = [];
  const worstReports: WorstCaseReport[] = [];
  const robustFlags: Uint8Array[] = [];
  const worstFlagsByEps: Uint8Array[] = [];
  let maxRatio = 0;
  let points = 0;

  // Attack only the clean-correct examples; the misclassified ones are already non-robust.
  function* runOn(name: string, config: object | undefined, threat: ThreatModel, survivors: Uint8Array): HostSteps<Uint8Array> {
    const idx = all.filter((i) => survivors[i]);
    const out = new Uint8Array(m);
    if (idx.length === 0) return out;
    const r = yield* attackIndices(name, config, model, source, idx.map(at), threat, o, (done) =>
      progress({ stage: `${name} ε=${threat.eps}`, done, total: idx.length }),
    );
    idx.forEach((i, j) => {
      out[i] = r.success[j] ? 0 : 1;
    });
    maxRatio = Math.max(maxRatio, r.maxRatio);
    points += r.points;
    return out;
  }

  // Attacks perturb the model's own pixel space: ε is given in it and the box is its input range.
  const bounds = classifierBounds(model);
  for (const eps of o.eps) {
    const threat = threatModel(o.norm, eps, { bounds });
    const worstFlags = Uint8Array.from(correct);
    for (const name of o.attacks) {
      const def = getAttack(name);
      const t = performance.now();
      const flags = yield* runOn(def.name, o.attackConfig?.[def.name], threat, correct);
      robust.set(`${def.name}@${eps}`, flags);
      robustFlags.push(flags);
      for (let i = 0; i < m; i++) worstFlags[i]! &= flags[i]!;
      const pc = perClass(flags, labels, K);
      const config = { ...def.defaults(threat), ...o.attackConfig?.[def.name] };
      attackReports.push({
        name: def.name,
        norm: o.norm,
        eps,
        robust_accuracy: mean(flags),
        per_class: pc,
        summary: classSummary(pc),
        config,
        cost: def.cost(config),
        seconds: (performance.now() - t) / 1000,
      });
    }
    const used = o.attacks.map((a) => getAttack(a).name);
    const sequence: SuiteStepReport[] = [];
    const suite = (o.worstCase ?? true) ? (typeof o.suite === 'object' ? o.suite : getSuite(o.suite ?? 'apgd')) : undefined;
    if (suite) {
      const plan = suite.plan(o.norm, K);
      for (const step of plan.steps) {
        const def = getAttack(step.attack);
        const config = { ...def.defaults(threat), ...o.attackConfig?.[def.name], ...step.config };
        const ranAlready = attackReports.some(
          (a) => a.eps === eps && a.name === def.name && JSON.stringify(a.config) === JSON.stringify(config),
        );
        if (ranAlready) {
          sequence.push({
            attack: def.name,
            config,
            run_on: 0,
            broke: 0,
            seconds: 0,
            skipped: 'the same attack with the same settings already ran',
          });
          continue;
        }
        const t = performance.now();
        const runOnCount = count(worstFlags);
        const flags = yield* runOn(def.name, config, threat, worstFlags);
        for (let i = 0; i < m; i++) if (worstFlags[i]) worstFlags[i] = flags[i]!;
        sequence.push({
          attack: def.name,
          config,
          run_on: runOnCount,
          broke: runOnCount - count(worstFlags),
          seconds: (performance.now() - t) / 1000,
        });
        used.push(def.name);
      }
      for (const s of plan.skipped) sequence.push({ attack: s.attack, config: {}, run_on: 0, broke: 0, seconds: 0, skipped: s.reason });
    }
    worst.set(eps, worstFlags);
    worstFlagsByEps.push(worstFlags);
    const pc = perClass(worstFlags, labels, K);
    worstReports.push({
      eps,
      robust_accuracy: mean(worstFlags),
      per_class: pc,
      summary: classSummary(pc),
      attacks: used,
      suite: suite?.label ?? null,
      sequence,
    });
  }

  let results: CheckResult[] = [];
  if (o.sanityChecks ?? true) {
    // The probe is the first PROBE_SIZE clean-correct examples of the whole set: the slice starting at example 0
    // holds its beginning, and reads on, block by block, if it has fewer.
    const holdsProbe = start === 0;
    const probeIdx = holdsProbe ? all.filter((i) => correct[i]).slice(0, PROBE_SIZE) : [];
    for (let b = end; holdsProbe && probeIdx.length < PROBE_SIZE && b < o.n; b += batchSize) {
      const block = range(Math.min(batchSize, o.n - b)).map((j) => b + j);
      const blockPred = yield* predictSteps(model, source, block, batchSize);
      for (let j = 0; j < block.length && probeIdx.length < PROBE_SIZE; j++)
        if (blockPred[j] === allLabels[block[j]!]) probeIdx.push(block[j]! - start);
    }
    const probe = probeIdx.length > 0 ? source.batch(probeIdx.map(at)) : undefined;
    try {
      results = yield* sanityCheckSteps(
        {
          model,
          norm: o.norm,
          eps: o.eps,
          bounds,
          seed: o.seed ?? 0,
          attacks: attackReports,
          worstCases: worstReports,
          detail,
          probe,
          maxBallRatio: maxRatio,
          adversarialPoints: points,
        },
        holdsProbe ? SANITY_CHECKS : SANITY_CHECKS.map(probeSkipped),
      );
    } finally {
      if (probe) tf.dispose([probe.x, probe.y]);
    }
  }

  const report: EvaluationReport = {
    // Only when not the default of an unsharded run: reports of 'survivors' evaluations keep their old shape.
    ...(batchingOf(o) === 'blocks' ? { batching: 'blocks' as const } : {}),
    dataset: datasetName,
    model: model.name,
    n: m,
    norm: o.norm,
    eps: o.eps,
    clean_accuracy: mean(correct),
    clean_per_class: cleanPerClass,
    clean_summary: classSummary(cleanPerClass),
    attacks: attackReports,
    worst_case: worstReports[0]!,
    worst_case_by_eps: worstReports,
    checks: results,
    seed: o.seed ?? 0,
    seconds: (performance.now() - t0) / 1000,
  };
  if (o.shard) {
    report.shard = {
      index: o.shard.index,
      count: o.shard.count,
      start,
      end,
      total: o.n,
      batch_size: batchSize,
      bounds: [bounds[0], bounds[1]],
      worst_case: o.worstCase ?? true,
      sanity_checks: o.sanityChecks ?? true,
      max_ball_ratio: Number.isFinite(maxRatio) ? maxRatio : String(maxRatio),
      adversarial_points: points,
      labels: Array.from(labels),
      correct: encodeFlags(correct),
      robust: robustFlags.map(encodeFlags),
      worst: worstFlagsByEps.map(encodeFlags),
    };
  }
  return { report, detail };
}

/** What a shard that does not hold the probe reports for a check that runs on it: skipped, and where it ran. */
export const PROBE_ELSEWHERE = `run in the shard holding example 0 (the probe is the first ${PROBE_SIZE} correctly classified examples)`;

/** `check` as a shard without the probe runs it: a probe check is skipped (PROBE_ELSEWHERE), the others run. */
function probeSkipped(check: SanityCheck): SanityCheck {
  return check.usesProbe ? { ...check, run: () => skipCheck(PROBE_ELSEWHERE) } : check;
}
