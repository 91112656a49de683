/**
 * Merging the shards of one evaluation. `evaluateRobustness` with `EvaluateOptions.shard` evaluates a
 * contiguous run of whole batches of the first n examples (`shardRange`) and puts what a merge needs in the
 * report's `shard` (ShardInfo): the settings every shard shares and its per-example outcomes. `mergeShards`
 * checks the shards belong together and rebuilds the report of the whole evaluation from them, figure for
 * figure what the unsharded evaluation gives with the same seed (`AttackBatch` says why the random draws agree):
 *
 * - accuracies and per-class figures are computed again, with the evaluation's own functions, from the
 *   concatenated per-example flags and labels; the suite's `run_on` and `broke` counts add up;
 * - the sanity checks that run the model on the probe (`SanityCheck.usesProbe`) are taken from the shard
 *   holding example 0, the only one that ran them; every other check runs again over all the examples (its
 *   per-example flags and reports rebuilt, the largest ‖δ‖/ε the maximum of the shards', the adversarial points
 *   their sum);
 * - wall times (`seconds`) are the sums of the shards' (compute time, not elapsed time).
 */
import { ConfigError, DataFormatError } from '../errors.ts';
import { runHostSteps } from '../attacks/run.ts';
import type { AsyncClassifier } from '../models/classifier.ts';
import { shardRange } from './batches.ts';
import { SANITY_CHECKS, sanityCheckSteps, type CheckResult } from './checks.ts';
import type { AttackReport, Evaluation, EvaluationDetail, EvaluationReport, ShardInfo, WorstCaseReport } from './evaluate.ts';
import { classSummary, mean, perClass } from './metrics.ts';

/**
 * Shards that do not belong together (E_CONFIG): another evaluation's settings, the same shard twice, or a
 * shard missing. `file` names the shard at fault (for a missing shard, the first one given); the message says
 * what differs.
 */
export class ShardMergeError extends ConfigError {
  constructor(
    readonly file: string,
    expected: string,
    found: string,
  ) {
    super(file, expected, found);
  }
}

/** One shard to merge: its report (as `evaluateRobustness` returned it, or parsed from JSON) and a name for messages, e.g. its file. */
export interface ShardFile {
  file: string;
  report: EvaluationReport;
}

/** Top-level report keys whose values are figures of the shard's own examples; every other key must agree across shards. */
const PER_SHARD_KEYS = new Set([
  'n',
  'clean_accuracy',
  'clean_per_class',
  'clean_summary',
  'attacks',
  'worst_case',
  'worst_case_by_eps',
  'checks',
  'seconds',
  'shard',
]);

const show = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v));

/** The settings of `shard` every shard of one evaluation shares: what → value. */
function settings({ report: r }: ShardFile, s: ShardInfo): Map<string, unknown> {
  const shared = Object.keys(r)
    .filter((k) => !PER_SHARD_KEYS.has(k))
    .map((k): [string, unknown] => [k, (r as unknown as Record<string, unknown>)[k]]);
  return new Map([
    ...shared,
    ['n of the whole evaluation', s.total],
    ['number of shards', s.count],
    ['batch size', s.batch_size],
    ['input bounds', s.bounds],
    ['worst-case setting', s.worst_case],
    ['sanity-check setting', s.sanity_checks],
    ['number of classes', r.clean_per_class.length],
    ['attacks (name, norm, ε, config, cost)', r.attacks.map((a) => [a.name, a.norm, a.eps, a.config, a.cost])],
    [
      'worst-case suite (ε, attacks, suite, steps)',
      r.worst_case_by_eps.map((w) => [w.eps, w.attacks, w.suite, w.sequence.map((q) => [q.attack, q.config, q.skipped ?? null])]),
    ],
    ['sanity checks run', r.checks.map((c) => c.code)],
  ]);
}

/** A string of '0' and '1' of `length` characters, as flags; DataFormatError naming `file` and `what` otherwise. */
function decodeFlags(file: string, what: string, text: unknown, length: number): Uint8Array {
  if (typeof text !== 'string' || text.length !== length || !/^[01]*$/.test(text))
    throw new DataFormatError(
      file,
      `${what}: a string of ${length} characters 0 or 1`,
      typeof text === 'string' ? `${text.length} characters` : show(text),
    );
  return Uint8Array.from(text, (c) => (c === '1' ? 1 : 0));
}

/** The shard's bookkeeping, checked for shape (DataFormatError naming the file). */
function shardInfo({ file, report }: ShardFile): ShardInfo {
  const bad = (expected: string, found: unknown): never => {
    throw new DataFormatError(file, expected, show(found));
  };
  if (report === null || typeof report !== 'object') bad('an evaluation report', report);
  const s = report.shard;
  if (!s || typeof s !== 'object') return bad('the report of one shard (advlab eval --shard I/N): a "shard" entry', s);
  for (const k of ['index', 'count', 'start', 'end', 'total', 'batch_size', 'adversarial_points'] as const)
    if (!Number.isInteger(s[k]) || s[k] < 0) bad(`shard.${k}: an integer ≥ 0`, s[k]);
  for (const k of ['attacks', 'worst_case_by_eps', 'checks', 'clean_per_class'] as const)
    if (!Array.isArray(report[k])) bad(`${k}: a list`, report[k]);
  if (!Array.isArray(s.labels) || s.labels.length !== s.end - s.start)
    bad(`shard.labels: a list of ${s.end - s.start} labels`, Array.isArray(s.labels) ? `${s.labels.length} labels` : s.labels);
  const K = report.clean_per_class.length;
  for (const l of s.labels) if (!Number.isInteger(l) || l < 0 || l >= K) bad(`shard.labels: integers in [0, ${K})`, l);
  if (!Array.isArray(s.robust) || s.robust.length !== report.attacks.length) bad(`shard.robust: one entry per attack report`, s.robust);
  if (!Array.isArray(s.worst) || s.worst.length !== report.worst_case_by_eps.length) bad('shard.worst: one entry per ε', s.worst);
  report.worst_case_by_eps.forEach((w, e) => {
    if (!Array.isArray(w?.sequence)) bad(`worst_case_by_eps[${e}].sequence: a list`, w?.sequence);
  });
  return s;
}

/** The largest ‖δ‖/ε as a number (a shard writes a non-finite one as a string). */
function ballRatio(file: string, v: number | string): number {
  const r = typeof v === 'number' ? v : Number(v);
  if (typeof v !== 'number' && (typeof v !== 'string' || Number.isFinite(r) || v.trim() === ''))
    throw new DataFormatError(file, 'shard.max_ball_ratio: a number', show(v));
  return r;
}

/** A model stands in for the one evaluated: the checks `mergeShards` runs again never query it. */
function absentModel(report: EvaluationReport): AsyncClassifier {
  return {
    name: report.model,
    numClasses: report.clean_per_class.length,
    inputShape: [1, 1, 1],
    logitsAsync: () => Promise.reject(new Error('mergeShards: a merged evaluation has no model to query')),
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Combines the reports of every shard of one evaluation (`EvaluateOptions.shard`, in any order) into the
 * report and per-example detail of the whole evaluation: what `evaluateRobustness` without `shard` returns
 * with the same options, but for the wall times, which are the sums of the shards'. Other top-level keys of
 * the reports (e.g. the CLI's `class_names`) must agree and are kept.
 *
 * Refuses, naming the file: a report that is not a shard's or is malformed (DataFormatError); shards of
 * different evaluations (any setting differs: model, dataset, norm, ε, seed, n, batch size, attacks and their
 * configs, suite, checks), the same shard twice, or a missing shard (ShardMergeError).
 */
export function mergeShards(shards: readonly ShardFile[]): Evaluation {
  if (shards.length === 0) throw new ConfigError('shards', 'at least one shard report', 'none');
  const infos = shards.map(shardInfo);
  const first = shards[0]!;
  const reference = settings(first, infos[0]!);
  shards.forEach((shard, i) => {
    const own = settings(shard, infos[i]!);
    for (const what of new Set([...reference.keys(), ...own.keys()])) {
      const [value, refValue] = [own.get(what), reference.get(what)];
      if (show(value) !== show(refValue))
        throw new ShardMergeError(shard.file, `the ${what} of ${first.file}, ${show(refValue)}`, show(value));
    }
  });

  const { total, count, batch_size: batchSize } = infos[0]!;
  const byIndex = new Map<number, number>();
  infos.forEach((s, i) => {
    const label = `${s.index}/${s.count}`;
    if (s.index >= count) throw new DataFormatError(shards[i]!.file, `a shard index below ${count}`, label);
    const other = byIndex.get(s.index);
    if (other !== undefined)
      throw new ShardMergeError(
        shards[i]!.file,
        `a shard other than those already given (shard ${label} is ${shards[other]!.file})`,
        `shard ${label} again, overlapping it`,
      );
    byIndex.set(s.index, i);
    const range = shardRange(total, batchSize, s);
    if (s.start !== range.start || s.end !== range.end || shards[i]!.report.n !== s.end - s.start)
      throw new DataFormatError(
        shards[i]!.file,
        `shard ${label} of ${total} examples in batches of ${batchSize}: examples ${range.start}…${range.end - 1}`,
        `examples ${s.start}…${s.end - 1} (n ${shards[i]!.report.n})`,
      );
  });
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !byIndex.has(k));
  if (missing.length > 0) {
    const ranges = missing.map((k) => {
      const r = shardRange(total, batchSize, { index: k, count });
      return `${k}/${count} (examples ${r.start}…${r.end - 1})`;
    });
    throw new ShardMergeError(
      first.file,
      `all ${count} shards of its evaluation of ${total} examples`,
      `${shards.length} shard${shards.length === 1 ? '' : 's'}, missing ${ranges.join(', ')}`,
    );
  }

  // In order of the examples: shard 0, 1, …
  const ordered = Array.from({ length: count }, (_, k) => byIndex.get(k)!);
  const concat = (flags: (i: number) => Uint8Array): Uint8Array => {
    const out = new Uint8Array(total);
    for (const i of ordered) out.set(flags(i), infos[i]!.start);
    return out;
  };
  const length = (i: number) => infos[i]!.end - infos[i]!.start;
  const labels = Int32Array.from(ordered.flatMap((i) => infos[i]!.labels));
  const correct = concat((i) => decodeFlags(shards[i]!.file, 'shard.correct', infos[i]!.correct, length(i)));
  const ref = first.report;
  const K = ref.clean_per_class.length;
  const figures = (flags: Uint8Array) => {
    const pc = perClass(flags, labels, K);
    return { robust_accuracy: mean(flags), per_class: pc, summary: classSummary(pc) };
  };
  const summed = (pick: (r: EvaluationReport) => number) => sum(ordered.map((i) => pick(shards[i]!.report)));

  const detail: EvaluationDetail = { correct, robust: new Map(), worst: new Map() };
  const attacks: AttackReport[] = ref.attacks.map((a, j) => {
    const flags = concat((i) => decodeFlags(shards[i]!.file, `shard.robust[${j}]`, infos[i]!.robust[j], length(i)));
    detail.robust.set(`${a.name}@${a.eps}`, flags);
    return { ...a, ...figures(flags), seconds: summed((r) => r.attacks[j]!.seconds) };
  });
  const worstCases: WorstCaseReport[] = ref.worst_case_by_eps.map((w, e) => {
    const flags = concat((i) => decodeFlags(shards[i]!.file, `shard.worst[${e}]`, infos[i]!.worst[e], length(i)));
    detail.worst.set(w.eps, flags);
    const sequence = w.sequence.map((q, k) => {
      const step = (r: EvaluationReport) => r.worst_case_by_eps[e]!.sequence[k]!;
      return { ...q, run_on: summed((r) => step(r).run_on), broke: summed((r) => step(r).broke), seconds: summed((r) => step(r).seconds) };
    });
    return { ...w, ...figures(flags), sequence };
  });

  let checks: CheckResult[] = [];
  if (infos[0]!.sanity_checks) {
    const rerun = runHostSteps(
      sanityCheckSteps(
        {
          model: absentModel(ref),
          norm: ref.norm,
          eps: ref.eps,
          bounds: infos[0]!.bounds,
          seed: ref.seed,
          attacks,
          worstCases,
          detail,
          probe: undefined,
          maxBallRatio: Math.max(0, ...ordered.map((i) => ballRatio(shards[i]!.file, infos[i]!.max_ball_ratio))),
          adversarialPoints: sum(ordered.map((i) => infos[i]!.adversarial_points)),
        },
        SANITY_CHECKS.filter((c) => !c.usesProbe),
      ),
    );
    // The probe checks ran only in shard 0.
    const zero = shards[ordered[0]!]!;
    checks = SANITY_CHECKS.map((c) => {
      const found = c.usesProbe ? zero.report.checks.find((r) => r.code === c.code) : rerun.find((r) => r.code === c.code);
      if (!found) throw new DataFormatError(zero.file, `the result of the sanity check ${c.code}`, 'none');
      return found;
    });
  }

  const clean = perClass(correct, labels, K);
  const report: EvaluationReport = {
    ...ref,
    n: total,
    clean_accuracy: mean(correct),
    clean_per_class: clean,
    clean_summary: classSummary(clean),
    attacks,
    worst_case: worstCases[0]!,
    worst_case_by_eps: worstCases,
    checks,
    seconds: summed((r) => r.seconds),
  };
  delete report.shard;
  return { report, detail };
}
