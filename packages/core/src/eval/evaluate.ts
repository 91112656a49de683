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
import { batchSource, chunks, range, type BatchSource, type EvalData } from './batches.ts';
import { classSummary, mean, perClass, type ClassSummary } from './metrics.ts';
import { PROBE_SIZE, sanityCheckSteps, type CheckResult } from './checks.ts';
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
}

/** Per-example outcome flags kept by the evaluation, useful for galleries and tests. */
export interface EvaluationDetail {
  correct: Uint8Array;
  /** key `${attack}@${eps}` → 1 where the example is still correctly classified after the attack. */
  robust: Map<string, Uint8Array>;
  worst: Map<number, Uint8Array>;
}

type ResolvedOptions = EvaluateOptions & { n: number; norm: Norm };

function validate(o: ResolvedOptions, source: BatchSource): void {
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
 * Runs `attack` at `threat` on the examples `indices` (all clean-correct), batched; returns per-example
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
  let batchNo = 0;
  for (const idx of chunks(indices, o.batchSize ?? 256)) {
    const { x, y } = source.batch(idx);
    const owned: tf.Tensor[] = [x, y];
    try {
      const seed = (o.seed ?? 0) * 1000003 + batchNo++;
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
  const all = range(o.n);
  const labels = yield* source.labels(o.n);
  const progress = o.onProgress ?? (() => {});

  const pred = yield* predictSteps(model, source, all, o.batchSize ?? 256);
  const correct = new Uint8Array(o.n);
  for (let i = 0; i < o.n; i++) correct[i] = pred[i] === labels[i] ? 1 : 0;
  const cleanPerClass = perClass(correct, labels, K);

  const robust = new Map<string, Uint8Array>();
  const worst = new Map<number, Uint8Array>();
  const detail: EvaluationDetail = { correct, robust, worst };
  const attackReports: AttackReport[] = [];
  const worstReports: WorstCaseReport[] = [];
  let maxRatio = 0;
  let points = 0;

  // Attack only the clean-correct examples; the misclassified ones are already non-robust.
  function* runOn(name: string, config: object | undefined, threat: ThreatModel, survivors: Uint8Array): HostSteps<Uint8Array> {
    const idx = all.filter((i) => survivors[i]);
    const out = new Uint8Array(o.n);
    if (idx.length === 0) return out;
    const r = yield* attackIndices(name, config, model, source, idx, threat, o, (done) =>
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
      for (let i = 0; i < o.n; i++) worstFlags[i]! &= flags[i]!;
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
        for (let i = 0; i < o.n; i++) if (worstFlags[i]) worstFlags[i] = flags[i]!;
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
    const probeIdx = all.filter((i) => correct[i]).slice(0, PROBE_SIZE);
    const probe = probeIdx.length > 0 ? source.batch(probeIdx) : undefined;
    try {
      results = yield* sanityCheckSteps({
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
      });
    } finally {
      if (probe) tf.dispose([probe.x, probe.y]);
    }
  }

  const report: EvaluationReport = {
    dataset: datasetName,
    model: model.name,
    n: o.n,
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
  return { report, detail };
}
