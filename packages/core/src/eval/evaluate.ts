import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import type { ImageSet } from '../data/types.ts';
import { classifierBounds, type Classifier } from '../models/classifier.ts';
import { threatModel, type ThreatModel } from '../threat/threat.ts';
import type { Norm } from '../threat/norms.ts';
import { getAttack } from '../attacks/registry.ts';
import { runAttack } from '../attacks/run.ts';
import { batchTensors, chunks, range } from './batches.ts';
import { classSummary, mean, perClass, type ClassSummary } from './metrics.ts';
import * as checks from './checks.ts';

export interface EvaluateOptions {
  attacks: string[];
  eps: number[];
  /** Default 'linf'. */
  norm?: Norm;
  /** The first n examples of the set, in order (unshuffled), so numbers compare across tools. Default: all. */
  n?: number;
  batchSize?: number;
  seed?: number;
  /** Add the AutoAttack-style sequence APGD-CE → APGD-T on survivors to the worst case. */
  worstCase?: boolean;
  /** Per-attack config overrides, e.g. { pgd: { steps: 20 } }. */
  attackConfig?: Record<string, object>;
  /** Run the sanity checks (default true). */
  sanityChecks?: boolean;
  onProgress?: (event: { stage: string; done: number; total: number }) => void;
}

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

export interface WorstCaseReport {
  eps: number;
  robust_accuracy: number;
  per_class: number[];
  summary: ClassSummary;
  /** The attacks whose per-example results were combined. */
  attacks: string[];
}

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
  checks: checks.CheckResult[];
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

const WORST_CASE_SEQUENCE = ['apgd-ce', 'apgd-t'];

type ResolvedOptions = EvaluateOptions & { n: number; norm: Norm };

function validate(o: ResolvedOptions, set: ImageSet): void {
  if (!Number.isInteger(o.n) || o.n < 1) throw new ConfigError('--n', 'an integer ≥ 1', String(o.n));
  if (o.n > set.n) throw new ConfigError('--n', `at most the ${set.n} test examples`, String(o.n));
  if (o.eps.length === 0) throw new ConfigError('--eps', 'at least one ε', 'none');
  for (const e of o.eps) if (!Number.isFinite(e) || e < 0) throw new ConfigError('--eps', 'numbers ≥ 0', String(e));
  for (const a of o.attacks) getAttack(a); // throws with a suggestion for unknown names
}

/** Predicted labels for the given indices, batched. */
export function predictLabels(model: Classifier, set: ImageSet, indices: number[], batchSize = 256): Int32Array {
  const out = new Int32Array(indices.length);
  let off = 0;
  for (const idx of chunks(indices, batchSize)) {
    const pred = tf.tidy(() => {
      const { x } = batchTensors(set, idx);
      return tf.argMax(model.logits(x), 1).dataSync();
    });
    out.set(pred, off);
    off += idx.length;
  }
  return out;
}

/** Per-example distance of δ in plain JS, independent of the tensor code that made the points. */
function jsNorm(delta: Float32Array, norm: Norm): number {
  let acc = 0;
  for (const v of delta) acc = norm === 'linf' ? Math.max(acc, Math.abs(v)) : norm === 'l2' ? acc + v * v : acc + Math.abs(v);
  return norm === 'l2' ? Math.sqrt(acc) : acc;
}

/**
 * Runs `attack` at `threat` on the examples `indices` (all clean-correct), batched; returns per-example
 * success flags aligned with `indices` and the worst ‖δ‖/ε measured independently.
 */
function attackIndices(
  name: string,
  model: Classifier,
  set: ImageSet,
  indices: number[],
  threat: ThreatModel,
  o: ResolvedOptions,
  onBatch: (done: number) => void,
): { success: Uint8Array; maxRatio: number; points: number } {
  const success = new Uint8Array(indices.length);
  let maxRatio = 0;
  let off = 0;
  let batchNo = 0;
  const size = set.height * set.width * set.channels;
  const [lo, hi] = threat.bounds;
  for (const idx of chunks(indices, o.batchSize ?? 256)) {
    const { x, y } = batchTensors(set, idx);
    const r = runAttack(name, model, x, y, threat, { config: o.attackConfig?.[name], seed: (o.seed ?? 0) * 1000003 + batchNo++ });
    success.set(r.success, off);
    const adv = r.xAdv.dataSync() as Float32Array;
    const clean = x.dataSync() as Float32Array;
    const delta = new Float32Array(size);
    for (let j = 0; j < idx.length; j++) {
      let outside = false;
      for (let k = 0; k < size; k++) {
        const a = adv[j * size + k]!;
        if (!(a >= lo && a <= hi)) outside = true;
        delta[k] = a - clean[j * size + k]!;
      }
      const ratio = threat.eps > 0 ? jsNorm(delta, threat.norm) / threat.eps : jsNorm(delta, threat.norm) > 0 ? Infinity : 0;
      maxRatio = Math.max(maxRatio, outside ? Infinity : ratio);
    }
    tf.dispose([x, y, r.xAdv]);
    off += idx.length;
    onBatch(off);
  }
  return { success, maxRatio, points: indices.length };
}

export function evaluateRobustness(
  model: Classifier,
  set: ImageSet,
  options: EvaluateOptions,
  datasetName = 'dataset',
): { report: EvaluationReport; detail: EvaluationDetail } {
  const o: ResolvedOptions = { ...options, n: options.n ?? set.n, norm: options.norm ?? 'linf' };
  validate(o, set);
  const t0 = performance.now();
  const K = model.numClasses;
  const all = range(o.n);
  const labels = set.labels.subarray(0, o.n);
  const progress = o.onProgress ?? (() => {});

  const pred = predictLabels(model, set, all, o.batchSize);
  const correct = new Uint8Array(o.n);
  for (let i = 0; i < o.n; i++) correct[i] = pred[i] === labels[i] ? 1 : 0;
  const cleanPerClass = perClass(correct, labels, K);

  const robust = new Map<string, Uint8Array>();
  const worst = new Map<number, Uint8Array>();
  const attackReports: AttackReport[] = [];
  const worstReports: WorstCaseReport[] = [];
  let maxRatio = 0;
  let points = 0;

  // Attack only the clean-correct examples; the misclassified ones are already non-robust.
  const runOn = (name: string, threat: ThreatModel, survivors: Uint8Array): Uint8Array => {
    const idx = all.filter((i) => survivors[i]);
    const out = new Uint8Array(o.n);
    if (idx.length === 0) return out;
    const r = attackIndices(name, model, set, idx, threat, o, (done) =>
      progress({ stage: `${name} ε=${threat.eps}`, done, total: idx.length }),
    );
    idx.forEach((i, j) => {
      out[i] = r.success[j] ? 0 : 1;
    });
    maxRatio = Math.max(maxRatio, r.maxRatio);
    points += r.points;
    return out;
  };

  // Attacks perturb the model's own pixel space: ε is given in it and the box is its input range.
  const bounds = classifierBounds(model);
  for (const eps of o.eps) {
    const threat = threatModel(o.norm, eps, { bounds });
    const worstFlags = Uint8Array.from(correct);
    for (const name of o.attacks) {
      const def = getAttack(name);
      const t = performance.now();
      const flags = runOn(def.name, threat, correct);
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
    if (o.worstCase ?? true) {
      for (const name of WORST_CASE_SEQUENCE) {
        if (used.includes(name)) continue;
        if (name === 'apgd-t' && K < 4) continue; // targeted DLR needs ≥ 4 classes
        const flags = runOn(name, threat, worstFlags);
        for (let i = 0; i < o.n; i++) if (worstFlags[i]) worstFlags[i] = flags[i]!;
        used.push(name);
      }
    }
    worst.set(eps, worstFlags);
    const pc = perClass(worstFlags, labels, K);
    worstReports.push({ eps, robust_accuracy: mean(worstFlags), per_class: pc, summary: classSummary(pc), attacks: used });
  }

  const results: checks.CheckResult[] = [];
  if (o.sanityChecks ?? true) {
    results.push(
      checks.checkMonotoneEps([
        ...attackReports.map((a) => ({ name: a.name, eps: a.eps, acc: a.robust_accuracy })),
        ...worstReports.map((w) => ({ name: 'worst-case', eps: w.eps, acc: w.robust_accuracy })),
      ]),
    );
    const e0 = o.eps[0]!;
    results.push(checks.checkPgdLeFgsm(robust.get(`fgsm@${e0}`), robust.get(`pgd@${e0}`), e0));
    const probeIdx = all.filter((i) => correct[i]).slice(0, 100);
    if (probeIdx.length > 0) {
      const { x, y } = batchTensors(set, probeIdx);
      results.push(checks.checkZeroGradients(model, x, y), checks.checkLogits(model, x), checks.checkDeterministic(model, x));
      // The whole box is inside the ball at these radii: any image is reachable.
      const d = set.height * set.width * set.channels;
      const span = bounds[1] - bounds[0];
      const bigEps = span * (o.norm === 'linf' ? 1 : o.norm === 'l2' ? Math.sqrt(d) : d);
      const big = threatModel(o.norm, bigEps, { bounds });
      const r = runAttack('pgd', model, x, y, big, { config: { steps: 20, alpha: bigEps / 4 }, seed: o.seed ?? 0 });
      results.push(checks.checkLargeEps(mean(r.success.map((s) => 1 - s)), bigEps, probeIdx.length));
      tf.dispose([x, y, r.xAdv]);
    } else {
      for (const c of ['zero-gradients', 'logits-not-probabilities', 'deterministic', 'large-eps'] as const) {
        results.push(checks.skipped(c, 'no correctly classified example'));
      }
    }
    results.push(
      points > 0 ? checks.checkInBallAndBox(maxRatio, points, bounds) : checks.skipped('in-ball-and-box', 'no adversarial point'),
    );
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
  return { report, detail: { correct, robust, worst } };
}
