/**
 * Reads the inputs of a report: training run directories (config.json, metrics.jsonl, summary.json) of classifiers
 * and of generative models (their metrics lines marked `"kind": "generative"`), folders holding an eval.json (written
 * by `advlab eval --json`), a curvature.json (written by `advlab curvature --json`) or an eval-generative.json
 * (written by `advlab eval --generative --json`), those JSON files given directly (a curvature report is told apart
 * by its top-level "hessian" key, a generative evaluation by its "auddc"), and the adversarial images (fooled.png,
 * grid.png, a VAE attack's generative.png) found beside them. Everything is validated here; a malformed or unknown
 * input is a typed error naming the file, what was expected and what was found.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  ConfigError,
  DataFormatError,
  DataMissingError,
  isAutoencoderKind,
  type CheckResult,
  type CurvatureReport,
  type CurvePoint,
  type GenerativeMetricsLine,
  type MetricsLine,
  type SpectralDensity,
} from '@advlab/core';

/** A held-out measurement line of metrics.jsonl (the numeric fields a report uses may be missing). */
export type MetricsRow = Pick<MetricsLine, 'epoch' | 'step' | 'clean_acc'> &
  Partial<Omit<MetricsLine, 'epoch' | 'step' | 'clean_acc' | 'event'>> & { event?: undefined };

/** A line with an `event` key (e.g. a CO rollback). */
export interface EventRow {
  epoch: number;
  step: number;
  event: string;
}

export const isEvent = (l: MetricsRow | EventRow): l is EventRow => typeof l.event === 'string';

/**
 * A held-out line of a generative run's metrics.jsonl (`GenerativeMetricsLine` of @advlab/core, `"kind": "generative"`).
 * A measurement may be missing: JSON writes NaN as null, and the reader drops it.
 */
export type GenerativeRow = Pick<GenerativeMetricsLine, 'kind' | 'epoch' | 'step'> &
  Partial<Omit<GenerativeMetricsLine, 'kind' | 'epoch' | 'step'>>;

/** Whether a metrics line (or a summary's `final` line) is a generative run's. */
export const isGenerativeRow = (l: MetricsRow | EventRow | GenerativeRow): l is GenerativeRow => (l as GenerativeRow).kind === 'generative';

/** The autoencoder a generative run trained (summary.json's `generative`). */
export interface GenerativeSpecFile {
  kind: string;
  latentDim: number;
  likelihood?: string;
  sigma?: number;
}

/** Reconstruction quality on the test set: negative ELBO and KL in nats per image, MSE per pixel. */
export interface ReconstructionFile {
  neg_elbo: number;
  kl: number;
  mse: number;
  /** How many test images (an evaluation report has it; a training summary has test_examples). */
  images?: number;
}

/** summary.json, as written by `advlab train` (every key optional: older or partial runs). */
export interface TrainSummaryFile {
  test_accuracy?: number;
  test_examples?: number;
  stopped_by_co?: boolean;
  co_epochs?: number[];
  seconds_per_epoch?: number[];
  dataset?: string;
  /** The last held-out line: a generative run's is a GenerativeRow. */
  final?: MetricsRow | GenerativeRow | null;
  /** A generative run: the autoencoder it trained. */
  generative?: GenerativeSpecFile;
  /** A generative run: reconstruction quality of the final model on the test set. */
  reconstruction?: ReconstructionFile;
  [key: string]: unknown;
}

export interface TrainingRun {
  dir: string;
  config?: Record<string, unknown>;
  summary?: TrainSummaryFile;
  /** metrics.jsonl in file order: held-out measurement lines and event lines interleaved. */
  lines: (MetricsRow | EventRow)[];
  metrics: MetricsRow[];
  events: EventRow[];
  /** A generative run's held-out lines, in file order (kept apart: they measure no accuracy). */
  generative: GenerativeRow[];
  /** Things the reader tolerated (e.g. a last line cut by an interrupted write). */
  notes: string[];
}

export interface AttackEntry {
  name: string;
  norm?: string;
  eps: number;
  robust_accuracy: number;
  per_class?: (number | null)[];
  cost?: number;
  seconds?: number;
}

export interface WorstCaseEntry {
  eps: number;
  robust_accuracy: number;
  per_class?: (number | null)[];
  attacks?: string[];
}

/** An EvaluationReport as it is on disk (NaN per-class values are null in JSON) plus `class_names`. */
export interface EvalFile {
  dataset?: string;
  model?: string;
  n?: number;
  norm?: string;
  eps?: number[];
  clean_accuracy: number;
  clean_per_class?: (number | null)[];
  attacks: AttackEntry[];
  worst_case?: WorstCaseEntry;
  worst_case_by_eps?: WorstCaseEntry[];
  checks?: CheckResult[];
  seed?: number;
  seconds?: number;
  class_names?: string[];
}

export interface Evaluation {
  file: string;
  report: EvalFile;
}

/**
 * A CurvatureReport (`@advlab/core`) as `advlab curvature --json` writes it, plus the model, dataset and backend
 * it adds. `seconds` and `seed` may be missing (a file written by hand), and so may the density's steps and runs.
 */
export type CurvatureFile = Omit<CurvatureReport, 'seconds' | 'seed' | 'hessian'> & {
  model?: string;
  dataset?: string;
  backend?: string;
  hessian: Omit<CurvatureReport['hessian'], 'density'> & {
    density?: SpectralDensity & { steps?: number; runs?: number };
  };
  seconds?: Record<string, number>;
  seed?: number;
};

export interface Curvature {
  file: string;
  report: CurvatureFile;
}

/** The attacks of a generative evaluation with a distortion–distance curve: two attacks and the baseline they must beat. */
export const GENERATIVE_CURVES = ['latent', 'output', 'interpolation'] as const;

/** One of GENERATIVE_CURVES. */
export type GenerativeCurveName = (typeof GENERATIVE_CURVES)[number];

/** One attack's curves in a generative evaluation: per pair, the distortion–distance points measured. */
export interface GenerativeCurveFile {
  auddc?: number;
  perPair?: number[];
  /** One list per pair (points whose coordinates JSON held as null, i.e. NaN, are left out). */
  points: CurvePoint[][];
}

/**
 * `GenerativeEvalReport` as `advlab eval --generative --json` writes it (packages/cli/src/commands/generative.ts).
 * The pairs and the AUDDC are required; the rest may be missing (a file written by hand).
 */
export interface GenerativeEvalFile {
  model?: string;
  dataset?: string;
  date?: string;
  pairs: { source: number; target: number }[];
  /** Mean area under the distortion–distance curve over the pairs, in [0, 1]: lower = more vulnerable. */
  auddc: Record<GenerativeCurveName, number>;
  auddc_per_pair?: Record<GenerativeCurveName, number[]>;
  /** Per budgeted attack, the fraction of pairs whose adversarial reconstruction the classifier puts in the target's class; null without a classifier. */
  success_rate?: Record<string, number> | null;
  /** The budget of the success-rate attacks, e.g. "linf ε=0.1". */
  budget?: string;
  reconstruction?: ReconstructionFile;
  sweep?: Record<string, unknown>;
  curves?: Partial<Record<GenerativeCurveName, GenerativeCurveFile>>;
}

/** A generative evaluation report and the file it was read from. */
export interface GenerativeEval {
  file: string;
  report: GenerativeEvalFile;
}

export interface GalleryImage {
  file: string;
  caption: string;
  width: number;
  height: number;
  dataUri: string;
}

/** One input of the report. */
export interface Source {
  /** Display name (folder name; the path as given when two inputs share a name). */
  name: string;
  /** The path as given. */
  input: string;
  run?: TrainingRun;
  evaluation?: Evaluation;
  curvature?: Curvature;
  /** An autoencoder's evaluation (`advlab eval --generative --json`). */
  generativeEvaluation?: GenerativeEval;
  images: GalleryImage[];
  /** Galleries of attacks on an autoencoder (GENERATIVE_IMAGE_FILES), shown with the generative models. */
  generativeImages: GalleryImage[];
}

const RUN_FILES = ['config.json', 'metrics.jsonl', 'summary.json'] as const;
/** The pictures of adversarial examples a run folder may hold (`advlab demo`'s fooled.png, `advlab attack`'s grid.png). */
export const IMAGE_FILES = ['fooled.png', 'grid.png'] as const;
/** The gallery `advlab attack` writes for an autoencoder: source | target | adversarial input | its reconstruction | target's reconstruction. */
export const GENERATIVE_IMAGE_FILES = ['generative.png'] as const;
/** The file name a folder input's generative evaluation (`advlab eval --generative --json`) is looked for under. */
export const GENERATIVE_EVAL_FILE = 'eval-generative.json';
/** The per-example input measures of a curvature report, in the order the report shows them. */
export const INPUT_MEASURES = ['top_eigenvalue', 'linearity_error', 'elle', 'cure'] as const;
const EXPECTED_INPUT =
  'a training run directory (config.json, metrics.jsonl, summary.json), a folder with eval.json, curvature.json, eval-generative.json, fooled.png, grid.png or generative.png, or an eval, curvature or generative eval JSON file';
/** Files whose name says what report they hold (a JSON file given directly is otherwise told by its keys). */
const NAMED_REPORTS = ['eval.json', 'curvature.json', GENERATIVE_EVAL_FILE];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(clip(v, 40))}`;
  if (typeof v === 'number') return String(v); // 1e999 in JSON reads as Infinity
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/**
 * What a number the report uses must be. A value outside it (an accuracy of -5 or 1e9, an ε of -1, a string)
 * would otherwise reach the charts as a broken axis or an empty plot; it is refused here, naming the file and
 * the key.
 */
interface NumberRule {
  text: string;
  ok: (v: number) => boolean;
}
const ACCURACY: NumberRule = { text: 'a number in [0, 1]', ok: (v) => v >= 0 && v <= 1 };
// Cosines are averaged in float32: allow its rounding just past ±1.
const COSINE: NumberRule = { text: 'a number in [-1, 1]', ok: (v) => Math.abs(v) <= 1 + 1e-3 };
const NON_NEGATIVE: NumberRule = { text: 'a finite number ≥ 0', ok: (v) => v >= 0 };
const COUNT: NumberRule = { text: 'a whole number ≥ 0', ok: (v) => Number.isInteger(v) && v >= 0 };
const POSITIVE_COUNT: NumberRule = { text: 'a whole number ≥ 1', ok: (v) => Number.isInteger(v) && v >= 1 };
const FINITE: NumberRule = { text: 'a finite number', ok: () => true };
// An AUDDC is a mean of trapezoid sums of values in [0, 1] over [0, 1]: allow their float rounding just past 1.
const AREA: NumberRule = { text: 'a number in [0, 1]', ok: (v) => v >= 0 && v <= 1 + 1e-9 };

/** Throws DataFormatError(file, `${what} ${rule}`, the value) unless `v` is a finite number the rule accepts. */
function checkNumber(v: unknown, rule: NumberRule, file: string, what: string): void {
  if (!(isNum(v) && rule.ok(v))) throw new DataFormatError(file, `${what} ${rule.text}`, v === undefined ? 'nothing' : describe(v));
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** A file's text, or DataFormatError naming it when it is not a readable file (a folder in its place, no permission). */
function readText(file: string, what: string): string {
  return readBytes(file, what).toString('utf8');
}

function readBytes(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataFormatError(
      file,
      what,
      code === 'EISDIR' ? 'a folder' : code === 'ENOENT' ? 'no such file' : `a file that cannot be read (${code})`,
    );
  }
}

function readJson(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(file, `${what} (valid JSON)`, `invalid JSON: ${(e as Error).message}`);
  }
}

function readJsonObject(file: string, what: string): Record<string, unknown> {
  const v = readJson(file, what);
  if (!isObject(v)) throw new DataFormatError(file, `${what} (a JSON object)`, describe(v));
  return v;
}

/** A numeric field that may be absent (or null: NaN in JSON) but must otherwise be a number the rule accepts. */
function optionalNumber(o: Record<string, unknown>, key: string, rule: NumberRule, where: string, what: string): void {
  if (o[key] === undefined || o[key] === null) {
    delete o[key];
    return;
  }
  checkNumber(o[key], rule, where, what);
}

/** A text field that may be absent (or null) but must otherwise be a string. */
function optionalString(o: Record<string, unknown>, key: string, where: string, what: string): void {
  if (o[key] === undefined || o[key] === null) {
    delete o[key];
    return;
  }
  if (typeof o[key] !== 'string') throw new DataFormatError(where, `${what} a string`, describe(o[key]));
}

/** The optional numbers of a held-out line and what each must be (clean_acc, epoch and step are required). */
const METRIC_NUMBERS: Record<string, NumberRule> = {
  fgsm_acc: ACCURACY,
  pgd_acc: ACCURACY,
  grad_align: COSINE,
  fgsm_pgd_cos: COSINE,
  input_top_eigenvalue: FINITE,
  linearity_error: NON_NEGATIVE,
  elle: NON_NEGATIVE,
  cure: NON_NEGATIVE,
  unclipped_fraction: ACCURACY,
  loss: FINITE,
  eps: NON_NEGATIVE,
  lr: NON_NEGATIVE,
  seconds: NON_NEGATIVE,
  examples_per_s: NON_NEGATIVE,
  alpha: NON_NEGATIVE,
};

const METRICS_EXPECTED = 'a metrics line (a JSON object with epoch, step, clean_acc, … or an event)';
const GENERATIVE_EXPECTED = 'a generative metrics line (a JSON object with "kind": "generative", epoch, step, neg_elbo, …)';

/** A line's JSON object, or DataFormatError(where, expected, what the line holds). */
function jsonLine(raw: string, where: string, expected: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new DataFormatError(where, expected, `${JSON.stringify(clip(raw, 60))} (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new DataFormatError(where, expected, describe(v));
  return v;
}

/** Every line of metrics.jsonl has a whole epoch and step. */
function checkEpochAndStep(v: Record<string, unknown>, where: string, expected: string): void {
  for (const k of ['epoch', 'step']) {
    if (v[k] === undefined) throw new DataFormatError(where, `${expected}: "${k}" ${COUNT.text}`, `no "${k}"`);
    checkNumber(v[k], COUNT, where, `${expected}: "${k}"`);
  }
}

const isGenerativeLine = (v: Record<string, unknown>): boolean => v.kind === 'generative';

/**
 * One line of a classifier's metrics.jsonl, validated (`where` names it in errors, e.g. "run/metrics.jsonl:12"). A
 * generative run's line is refused, saying so: `readMetricsFile` reads those (`parseGenerativeLine`).
 */
export function parseMetricsLine(raw: string, where: string): MetricsRow | EventRow {
  const v = jsonLine(raw, where, METRICS_EXPECTED);
  if (isGenerativeLine(v)) throw new DataFormatError(where, METRICS_EXPECTED, 'a generative run\'s line ("kind": "generative")');
  return validateMetricsLine(v, where);
}

function validateMetricsLine(v: Record<string, unknown>, where: string): MetricsRow | EventRow {
  const expected = METRICS_EXPECTED;
  checkEpochAndStep(v, where, expected);
  if (v.event !== undefined) {
    if (typeof v.event !== 'string') throw new DataFormatError(where, 'an event line: "event" a string', describe(v.event));
    return v as unknown as EventRow;
  }
  if (v.clean_acc === undefined) throw new DataFormatError(where, `${expected}: "clean_acc" ${ACCURACY.text}`, 'no "clean_acc"');
  checkNumber(v.clean_acc, ACCURACY, where, `${expected}: "clean_acc"`);
  for (const [k, rule] of Object.entries(METRIC_NUMBERS)) optionalNumber(v, k, rule, where, `${expected}: "${k}"`);
  optionalString(v, 'method', where, `${expected}: "method"`);
  if (v.co !== undefined && typeof v.co !== 'boolean') throw new DataFormatError(where, `${expected}: "co" true`, describe(v.co));
  if (v.co_rules !== undefined && !(Array.isArray(v.co_rules) && v.co_rules.every((r) => typeof r === 'string'))) {
    throw new DataFormatError(where, `${expected}: "co_rules" a list of strings`, describe(v.co_rules));
  }
  return v as unknown as MetricsRow;
}

/**
 * The numbers of a generative line and what each must be (kind, epoch and step are required). A KL and a latent shift
 * are ≥ 0 in exact arithmetic, but float rounding can take one a hair below: finite is what a chart needs.
 */
const GENERATIVE_NUMBERS: Record<string, NumberRule> = {
  loss: FINITE,
  neg_elbo: FINITE,
  kl: FINITE,
  mse: NON_NEGATIVE,
  latent_shift: FINITE,
  eps: NON_NEGATIVE,
  seconds: NON_NEGATIVE,
};
const GENERATIVE_METHODS = ['standard', 'adversarial'];

/** One line of a generative run's metrics.jsonl (`"kind": "generative"`), validated; `where` as for parseMetricsLine. */
export function parseGenerativeLine(raw: string, where: string): GenerativeRow {
  return validateGenerativeLine(jsonLine(raw, where, GENERATIVE_EXPECTED), where);
}

function validateGenerativeLine(v: Record<string, unknown>, where: string): GenerativeRow {
  const expected = GENERATIVE_EXPECTED;
  if (!isGenerativeLine(v))
    throw new DataFormatError(where, `${expected}: "kind" "generative"`, v.kind === undefined ? 'no "kind"' : describe(v.kind));
  checkEpochAndStep(v, where, expected);
  for (const [k, rule] of Object.entries(GENERATIVE_NUMBERS)) optionalNumber(v, k, rule, where, `${expected}: "${k}"`);
  if (v.method !== undefined && !GENERATIVE_METHODS.includes(v.method as string))
    throw new DataFormatError(where, `${expected}: "method" "standard" or "adversarial"`, describe(v.method));
  return v as unknown as GenerativeRow;
}

/** One line of any run's metrics.jsonl: a classifier's held-out line, an event, or a generative run's line. */
export function parseRunLine(raw: string, where: string): MetricsRow | EventRow | GenerativeRow {
  const v = jsonLine(raw, where, METRICS_EXPECTED);
  return isGenerativeLine(v) ? validateGenerativeLine(v, where) : validateMetricsLine(v, where);
}

/** What `readMetricsFile` read: classifier lines and events in file order, a generative run's lines apart. */
export interface MetricsFile {
  lines: (MetricsRow | EventRow)[];
  generative: GenerativeRow[];
  notes: string[];
}

/** metrics.jsonl: every line must parse, except a last line without its newline (a write cut short). */
export function readMetricsFile(file: string): MetricsFile {
  const text = readText(file, 'training metrics (JSON lines)');
  const raw = text.split('\n');
  const read: MetricsFile = { lines: [], generative: [], notes: [] };
  raw.forEach((l, i) => {
    if (l.trim() === '') return;
    const partial = i === raw.length - 1; // no newline after it
    try {
      const line = parseRunLine(l, `${file}:${i + 1}`);
      if (isGenerativeRow(line)) read.generative.push(line);
      else read.lines.push(line);
    } catch (e) {
      if (!partial) throw e;
      read.notes.push(`${file}:${i + 1}: ignored an incomplete last line (a write interrupted mid-way)`);
    }
  });
  return read;
}

/** A generative run's summary.json keys, when there: the autoencoder trained and its test reconstruction quality. */
function validateGenerativeSummary(s: Record<string, unknown>, file: string): void {
  const what = 'a training summary:';
  if (s.generative !== undefined) {
    const g = s.generative;
    if (!isObject(g)) throw new DataFormatError(file, `${what} "generative" an object (the autoencoder)`, describe(g));
    if (typeof g.kind !== 'string')
      throw new DataFormatError(file, `${what} "generative.kind" a string`, g.kind === undefined ? 'nothing' : describe(g.kind));
    checkNumber(g.latentDim, POSITIVE_COUNT, file, `${what} "generative.latentDim"`);
    optionalString(g, 'likelihood', file, `${what} "generative.likelihood"`);
    optionalNumber(g, 'sigma', NON_NEGATIVE, file, `${what} "generative.sigma"`);
  }
  if (s.reconstruction !== undefined) validateReconstruction(s.reconstruction, file, (path) => `${what} "${path}"`);
}

/** A reconstruction quality object; `label` names a key path in errors (e.g. `a training summary: "reconstruction.kl"`). */
function validateReconstruction(v: unknown, file: string, label: (path: string) => string): void {
  if (!isObject(v)) throw new DataFormatError(file, `${label('reconstruction')} an object with neg_elbo, kl and mse`, describe(v));
  checkNumber(v.neg_elbo, FINITE, file, label('reconstruction.neg_elbo'));
  checkNumber(v.kl, FINITE, file, label('reconstruction.kl'));
  checkNumber(v.mse, NON_NEGATIVE, file, label('reconstruction.mse'));
  optionalNumber(v, 'images', COUNT, file, label('reconstruction.images'));
}

/** Whether a run trained an autoencoder: generative lines, a generative summary, or a vae / ae model in its config. */
export function isGenerativeRun(run: TrainingRun): boolean {
  const final = run.summary?.final;
  const model = run.config?.model;
  return (
    run.generative.length > 0 ||
    run.summary?.generative !== undefined ||
    (final !== undefined && final !== null && isGenerativeRow(final)) ||
    (typeof model === 'string' && isAutoencoderKind(model))
  );
}

function readTrainingRun(dir: string): TrainingRun {
  const configFile = join(dir, 'config.json');
  const summaryFile = join(dir, 'summary.json');
  const metricsFile = join(dir, 'metrics.jsonl');
  const run: TrainingRun = { dir, lines: [], metrics: [], events: [], generative: [], notes: [] };
  if (existsSync(configFile)) run.config = readJsonObject(configFile, 'a run configuration');
  if (existsSync(summaryFile)) {
    const s = readJsonObject(summaryFile, 'a training summary');
    optionalNumber(s, 'test_accuracy', ACCURACY, summaryFile, 'a training summary: "test_accuracy"');
    optionalNumber(s, 'test_examples', COUNT, summaryFile, 'a training summary: "test_examples"');
    // Epoch durations are differences of cumulative times: finite, not necessarily ≥ 0 after a rollback.
    const lists: [string, NumberRule][] = [
      ['co_epochs', COUNT],
      ['seconds_per_epoch', FINITE],
    ];
    for (const [k, rule] of lists) {
      if (s[k] === undefined) continue;
      if (!Array.isArray(s[k])) throw new DataFormatError(summaryFile, `a training summary: "${k}" a list of numbers`, describe(s[k]));
      (s[k] as unknown[]).forEach((x, i) => {
        checkNumber(x, rule, summaryFile, `a training summary: "${k}"[${i}]`);
      });
    }
    if (s.final !== undefined && s.final !== null) s.final = parseRunLine(JSON.stringify(s.final), `${summaryFile} ("final")`);
    validateGenerativeSummary(s, summaryFile);
    run.summary = s as TrainSummaryFile;
  }
  if (existsSync(metricsFile)) {
    const { lines, generative, notes } = readMetricsFile(metricsFile);
    run.lines = lines;
    run.generative = generative;
    run.notes.push(...notes);
    for (const l of lines) {
      if (isEvent(l)) run.events.push(l);
      else run.metrics.push(l);
    }
  }
  return run;
}

const EVAL = 'an evaluation report:';

function validateAccuracy(v: unknown, file: string, what: string): void {
  checkNumber(v, ACCURACY, file, `${EVAL} ${what}`);
}

function validateEps(v: unknown, file: string, what: string): void {
  checkNumber(v, NON_NEGATIVE, file, `${EVAL} ${what}`);
}

function validatePerClass(v: unknown, file: string, what: string): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw new DataFormatError(file, `${EVAL} ${what} a list of numbers (null for an empty class)`, describe(v));
  v.forEach((x, k) => {
    if (x !== null) checkNumber(x, ACCURACY, file, `${EVAL} ${what}[${k}]`);
  });
}

function validateWorst(v: unknown, file: string, what: string): void {
  if (!isObject(v)) throw new DataFormatError(file, `${EVAL} ${what} an object`, describe(v));
  validateEps(v.eps, file, `${what}.eps`);
  validateAccuracy(v.robust_accuracy, file, `${what}.robust_accuracy`);
  validatePerClass(v.per_class, file, `${what}.per_class`);
  if (v.attacks !== undefined && !(Array.isArray(v.attacks) && v.attacks.every((a) => typeof a === 'string')))
    throw new DataFormatError(file, `${EVAL} ${what}.attacks a list of attack names`, describe(v.attacks));
}

const EVAL_WHAT = 'an evaluation report (advlab eval --json)';
const CURVATURE_WHAT = 'a curvature report (advlab curvature --json)';

/** What an object's keys say it is, for an error: "an object with keys a, b" or "an empty object". */
function describeKeys(r: Record<string, unknown>): string {
  const keys = Object.keys(r);
  return keys.length ? `an object with keys ${clip(keys.join(', '), 120)}` : 'an empty object';
}

/** Validates an eval JSON (EvaluationReport + class_names) and returns it typed. */
export function readEvalFile(file: string): Evaluation {
  return validateEval(readJsonObject(file, EVAL_WHAT), file, `${EVAL_WHAT} with clean_accuracy and attacks`);
}

/** `what`: what the error says was expected when the object is not an evaluation report at all. */
function validateEval(r: Record<string, unknown>, file: string, what: string): Evaluation {
  if (r.clean_accuracy === undefined || r.attacks === undefined) throw new DataFormatError(file, what, describeKeys(r));
  validateAccuracy(r.clean_accuracy, file, 'clean_accuracy');
  validatePerClass(r.clean_per_class, file, 'clean_per_class');
  if (!Array.isArray(r.attacks))
    throw new DataFormatError(file, `${EVAL_WHAT} with clean_accuracy and attacks: "attacks" a list`, describe(r.attacks));
  r.attacks.forEach((a: unknown, i: number) => {
    if (!isObject(a) || typeof a.name !== 'string')
      throw new DataFormatError(file, `${EVAL} attacks[${i}] an object with a "name"`, describe(a));
    validateEps(a.eps, file, `attacks[${i}].eps`);
    validateAccuracy(a.robust_accuracy, file, `attacks[${i}].robust_accuracy`);
    validatePerClass(a.per_class, file, `attacks[${i}].per_class`);
    optionalNumber(a, 'cost', NON_NEGATIVE, file, `${EVAL} attacks[${i}].cost`);
    optionalNumber(a, 'seconds', NON_NEGATIVE, file, `${EVAL} attacks[${i}].seconds`);
    optionalString(a, 'norm', file, `${EVAL} attacks[${i}].norm`);
  });
  if (r.worst_case !== undefined) validateWorst(r.worst_case, file, 'worst_case');
  if (r.worst_case_by_eps !== undefined) {
    if (!Array.isArray(r.worst_case_by_eps))
      throw new DataFormatError(file, 'an evaluation report: worst_case_by_eps a list', describe(r.worst_case_by_eps));
    r.worst_case_by_eps.forEach((w: unknown, i: number) => {
      validateWorst(w, file, `worst_case_by_eps[${i}]`);
    });
  }
  if (r.eps !== undefined) {
    if (!Array.isArray(r.eps)) throw new DataFormatError(file, `${EVAL} eps a list of numbers`, describe(r.eps));
    r.eps.forEach((e: unknown, i: number) => {
      validateEps(e, file, `eps[${i}]`);
    });
  }
  optionalNumber(r, 'n', COUNT, file, `${EVAL} n`);
  optionalNumber(r, 'seconds', NON_NEGATIVE, file, `${EVAL} seconds`);
  for (const k of ['norm', 'model', 'dataset']) optionalString(r, k, file, `${EVAL} ${k}`);
  if (r.checks !== undefined) {
    if (!Array.isArray(r.checks)) throw new DataFormatError(file, 'an evaluation report: checks a list', describe(r.checks));
    r.checks.forEach((c: unknown, i: number) => {
      if (!isObject(c) || typeof c.code !== 'string' || typeof c.passed !== 'boolean') {
        throw new DataFormatError(
          file,
          `an evaluation report: checks[${i}] an object with code (string) and passed (boolean)`,
          describe(c),
        );
      }
    });
  }
  if (r.class_names !== undefined && !(Array.isArray(r.class_names) && r.class_names.every((c) => typeof c === 'string'))) {
    throw new DataFormatError(file, 'an evaluation report: class_names a list of strings', describe(r.class_names));
  }
  return { file, report: r as unknown as EvalFile };
}

const CURV = 'a curvature report:';

/** `o[key]` as an object, or DataFormatError naming `path`. */
function objectAt(o: Record<string, unknown>, key: string, file: string, path: string): Record<string, unknown> {
  const v = o[key];
  if (!isObject(v)) throw new DataFormatError(file, `${CURV} ${path} an object`, v === undefined ? 'nothing' : describe(v));
  return v;
}

/** `v` as a list of numbers the rule accepts (non-empty, or of exactly `length` items, when asked). */
function numberList(
  v: unknown,
  rule: NumberRule,
  file: string,
  path: string,
  opts: { nonEmpty?: boolean; length?: number } = {},
): number[] {
  const list =
    opts.length !== undefined
      ? `a list of ${opts.length} numbers, each ${rule.text}`
      : `a ${opts.nonEmpty ? 'non-empty ' : ''}list of numbers`;
  if (!Array.isArray(v)) throw new DataFormatError(file, `${CURV} ${path} ${list}`, v === undefined ? 'nothing' : describe(v));
  if ((opts.nonEmpty && v.length === 0) || (opts.length !== undefined && v.length !== opts.length))
    throw new DataFormatError(file, `${CURV} ${path} ${list}`, `a list of ${v.length}`);
  v.forEach((x, i) => {
    checkNumber(x, rule, file, `${CURV} ${path}[${i}]`);
  });
  return v;
}

/** The optional spectral density: per Lanczos run, nodes (finite) and weights (≥ 0), as many runs and items of each. */
function validateDensity(d: Record<string, unknown>, file: string): void {
  const where = 'hessian.density';
  if (!Array.isArray(d.nodes) || d.nodes.length === 0)
    throw new DataFormatError(
      file,
      `${CURV} ${where}.nodes a non-empty list of runs (lists of numbers)`,
      d.nodes === undefined ? 'nothing' : describe(d.nodes),
    );
  const runs = d.nodes.length;
  if (!Array.isArray(d.weights) || d.weights.length !== runs)
    throw new DataFormatError(
      file,
      `${CURV} ${where}.weights a list of ${runs} run${runs === 1 ? '' : 's'} (as many as ${where}.nodes)`,
      Array.isArray(d.weights) ? `a list of ${d.weights.length}` : d.weights === undefined ? 'nothing' : describe(d.weights),
    );
  d.nodes.forEach((nodes: unknown, r: number) => {
    const n = numberList(nodes, FINITE, file, `${where}.nodes[${r}]`, { nonEmpty: true }).length;
    numberList((d.weights as unknown[])[r], NON_NEGATIVE, file, `${where}.weights[${r}]`, { length: n });
  });
  optionalNumber(d, 'steps', COUNT, file, `${CURV} ${where}.steps`);
  optionalNumber(d, 'runs', POSITIVE_COUNT, file, `${CURV} ${where}.runs`);
}

/**
 * Validates a curvature report (`advlab curvature --json`) already parsed from `file` and returns it typed: every
 * number the report shows must be finite (and in range where it has one), the lists as long as each other.
 */
function validateCurvature(r: Record<string, unknown>, file: string): Curvature {
  if (r.hessian === undefined || r.input === undefined)
    throw new DataFormatError(file, `${CURVATURE_WHAT} with n, loss, hessian and input`, describeKeys(r));
  checkNumber(r.n, POSITIVE_COUNT, file, `${CURV} n`);
  checkNumber(r.loss, FINITE, file, `${CURV} loss`);
  const h = objectAt(r, 'hessian', file, 'hessian');
  const top = numberList(h.top_eigenvalues, FINITE, file, 'hessian.top_eigenvalues', { nonEmpty: true });
  numberList(h.iterations, COUNT, file, 'hessian.iterations', { length: top.length });
  if (!Array.isArray(h.converged) || h.converged.length !== top.length || !h.converged.every((c) => typeof c === 'boolean'))
    throw new DataFormatError(
      file,
      `${CURV} hessian.converged a list of ${top.length} booleans (one per top eigenvalue)`,
      Array.isArray(h.converged)
        ? `[${clip(h.converged.map((c) => describe(c)).join(', '), 80)}]`
        : h.converged === undefined
          ? 'nothing'
          : describe(h.converged),
    );
  checkNumber(h.trace, FINITE, file, `${CURV} hessian.trace`);
  checkNumber(h.trace_standard_error, NON_NEGATIVE, file, `${CURV} hessian.trace_standard_error`);
  checkNumber(h.trace_samples, POSITIVE_COUNT, file, `${CURV} hessian.trace_samples`);
  checkNumber(h.parameters, POSITIVE_COUNT, file, `${CURV} hessian.parameters`);
  if (h.density === null) delete h.density;
  if (h.density !== undefined) validateDensity(objectAt(h, 'density', file, 'hessian.density'), file);
  const inp = objectAt(r, 'input', file, 'input');
  checkNumber(inp.eps, NON_NEGATIVE, file, `${CURV} input.eps`);
  if (typeof inp.norm !== 'string')
    throw new DataFormatError(file, `${CURV} input.norm a string`, inp.norm === undefined ? 'nothing' : describe(inp.norm));
  for (const k of INPUT_MEASURES) checkNumber(inp[k], FINITE, file, `${CURV} input.${k}`);
  checkNumber(inp.cure_h, NON_NEGATIVE, file, `${CURV} input.cure_h`);
  const summaries = objectAt(inp, 'summaries', file, 'input.summaries');
  for (const k of INPUT_MEASURES) {
    const sm = objectAt(summaries, k, file, `input.summaries.${k}`);
    for (const stat of ['mean', 'median', 'max']) checkNumber(sm[stat], FINITE, file, `${CURV} input.summaries.${k}.${stat}`);
  }
  if (r.seconds === null) delete r.seconds;
  if (r.seconds !== undefined) {
    const sec = objectAt(r, 'seconds', file, 'seconds');
    for (const [k, v] of Object.entries(sec)) checkNumber(v, NON_NEGATIVE, file, `${CURV} seconds.${k}`);
  }
  optionalNumber(r, 'seed', FINITE, file, `${CURV} seed`);
  for (const k of ['model', 'dataset', 'backend']) optionalString(r, k, file, `${CURV} ${k}`);
  return { file, report: r as unknown as CurvatureFile };
}

/** Validates a curvature JSON (`advlab curvature --json`) and returns it typed. */
export function readCurvatureFile(file: string): Curvature {
  return validateCurvature(readJsonObject(file, CURVATURE_WHAT), file);
}

const GEN = 'a generative evaluation report:';
const GENERATIVE_WHAT = 'a generative evaluation report (advlab eval --generative --json)';

/** `v` as a list of `length` numbers the rule accepts, or DataFormatError naming `path`. */
function listOf(v: unknown, length: number, rule: NumberRule, file: string, path: string): void {
  const list = `${GEN} ${path} a list of ${length} numbers (one per pair), each ${rule.text}`;
  if (!Array.isArray(v)) throw new DataFormatError(file, list, v === undefined ? 'nothing' : describe(v));
  if (v.length !== length) throw new DataFormatError(file, list, `a list of ${v.length}`);
  v.forEach((x, i) => {
    checkNumber(x, rule, file, `${GEN} ${path}[${i}]`);
  });
}

function validatePairs(v: unknown, file: string): number {
  if (!Array.isArray(v) || v.length === 0)
    throw new DataFormatError(
      file,
      `${GEN} pairs a non-empty list of {source, target}`,
      v === undefined ? 'nothing' : Array.isArray(v) ? 'an empty list' : describe(v),
    );
  v.forEach((p: unknown, i: number) => {
    if (!isObject(p)) throw new DataFormatError(file, `${GEN} pairs[${i}] an object with source and target`, describe(p));
    checkNumber(p.source, COUNT, file, `${GEN} pairs[${i}].source`);
    checkNumber(p.target, COUNT, file, `${GEN} pairs[${i}].target`);
  });
  return v.length;
}

/** `o[key]` as an object, or DataFormatError naming `path` in a generative evaluation report. */
function generativeObject(o: Record<string, unknown>, key: string, file: string, path: string): Record<string, unknown> {
  const v = o[key];
  if (!isObject(v)) throw new DataFormatError(file, `${GEN} ${path} an object`, v === undefined ? 'nothing' : describe(v));
  return v;
}

/**
 * One attack's distortion–distance points: a list per pair of {x, y} (x = ‖δ‖₂/‖x − x_t‖₂ and y the normalised output
 * distance, both ≥ 0). JSON writes NaN as null: such a point is dropped, as `distortionDistanceCurve` drops it.
 */
function validateCurvePoints(c: Record<string, unknown>, pairs: number, file: string, path: string): void {
  const what = `${GEN} ${path}.points a list of ${pairs} lists of {x, y} (one per pair)`;
  const points = c.points;
  if (!Array.isArray(points)) throw new DataFormatError(file, what, points === undefined ? 'nothing' : describe(points));
  if (points.length !== pairs) throw new DataFormatError(file, what, `a list of ${points.length}`);
  c.points = points.map((pair: unknown, i: number) => {
    if (!Array.isArray(pair)) throw new DataFormatError(file, `${GEN} ${path}.points[${i}] a list of {x, y}`, describe(pair));
    return pair.filter((p: unknown, j: number) => {
      const at = `${path}.points[${i}][${j}]`;
      if (!isObject(p)) throw new DataFormatError(file, `${GEN} ${at} an object {x, y}`, describe(p));
      if (p.x === null || p.y === null) return false;
      checkNumber(p.x, NON_NEGATIVE, file, `${GEN} ${at}.x`);
      checkNumber(p.y, NON_NEGATIVE, file, `${GEN} ${at}.y`);
      return true;
    });
  });
  optionalNumber(c, 'auddc', AREA, file, `${GEN} ${path}.auddc`);
  if (c.perPair !== undefined) listOf(c.perPair, pairs, AREA, file, `${path}.perPair`);
}

function validateSuccessRate(r: Record<string, unknown>, file: string): void {
  if (r.success_rate === undefined || r.success_rate === null) return;
  const rates = generativeObject(r, 'success_rate', file, 'success_rate (or null)');
  for (const [attack, v] of Object.entries(rates)) checkNumber(v, ACCURACY, file, `${GEN} success_rate.${attack}`);
}

/**
 * Validates a generative evaluation report (`advlab eval --generative --json`) already parsed from `file` and returns
 * it typed: the pairs, the AUDDC of each attack and the baseline in [0, 1], per-pair lists and curves one per pair.
 */
function validateGenerativeEval(r: Record<string, unknown>, file: string): GenerativeEval {
  if (r.auddc === undefined) throw new DataFormatError(file, `${GENERATIVE_WHAT} with pairs and auddc`, describeKeys(r));
  const pairs = validatePairs(r.pairs, file);
  const auddc = generativeObject(r, 'auddc', file, 'auddc');
  for (const k of GENERATIVE_CURVES) checkNumber(auddc[k], AREA, file, `${GEN} auddc.${k}`);
  if (r.auddc_per_pair !== undefined) {
    const per = generativeObject(r, 'auddc_per_pair', file, 'auddc_per_pair');
    for (const k of GENERATIVE_CURVES) listOf(per[k], pairs, AREA, file, `auddc_per_pair.${k}`);
  }
  validateSuccessRate(r, file);
  if (r.reconstruction !== undefined) validateReconstruction(r.reconstruction, file, (path) => `${GEN} ${path}`);
  if (r.sweep !== undefined) generativeObject(r, 'sweep', file, 'sweep');
  if (r.curves !== undefined) {
    const curves = generativeObject(r, 'curves', file, 'curves');
    for (const k of GENERATIVE_CURVES) {
      if (curves[k] === undefined || curves[k] === null) delete curves[k];
      else validateCurvePoints(generativeObject(curves, k, file, `curves.${k}`), pairs, file, `curves.${k}`);
    }
  }
  for (const k of ['model', 'dataset', 'date', 'budget']) optionalString(r, k, file, `${GEN} ${k}`);
  return { file, report: r as unknown as GenerativeEvalFile };
}

/** Validates a generative evaluation JSON (`advlab eval --generative --json`) and returns it typed. */
export function readGenerativeEvalFile(file: string): GenerativeEval {
  return validateGenerativeEval(readJsonObject(file, GENERATIVE_WHAT), file);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads a PNG into a data URI after checking its signature and header (so the browser can draw it). */
export function readPng(file: string, caption: string): GalleryImage {
  const bytes = readBytes(file, 'a PNG image');
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    throw new DataFormatError(
      file,
      'a PNG image (signature 89 50 4E 47 0D 0A 1A 0A, then IHDR)',
      `${bytes.length} bytes starting ${bytes.subarray(0, 8).toString('hex')}`,
    );
  }
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0) throw new DataFormatError(file, 'a PNG image of at least 1×1 pixels', `${width}×${height}`);
  return { file, caption, width, height, dataUri: `data:image/png;base64,${bytes.toString('base64')}` };
}

/** Caption for grid.png from the attack's result.json beside it, when there is one. */
function attackCaption(dir: string): string | undefined {
  const file = join(dir, 'result.json');
  if (!existsSync(file)) return undefined;
  const r = readJsonObject(file, 'an attack result (advlab attack)');
  if (typeof r.attack !== 'string') return undefined;
  const examples = Array.isArray(r.examples) ? (r.examples as Record<string, unknown>[]) : [];
  const correct = examples.filter((e) => isObject(e) && e.clean_pred === e.label);
  const fooled = correct.filter((e) => e.success === true).length;
  return `${r.attack}${typeof r.norm === 'string' ? ` ${r.norm}` : ''}${isNum(r.eps) ? ` ε=${r.eps}` : ''}${examples.length ? `: fooled ${fooled} of ${correct.length} correctly classified` : ''}`;
}

function readImages(dir: string): GalleryImage[] {
  const out: GalleryImage[] = [];
  for (const name of IMAGE_FILES) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const caption =
      name === 'grid.png' ? (attackCaption(dir) ?? 'adversarial grid') : 'fooled examples (clean | perturbation | adversarial)';
    out.push(readPng(file, caption));
  }
  return out;
}

const GENERATIVE_COLUMNS = "source | target | adversarial input | its reconstruction | target's reconstruction";

/** Caption for generative.png from the generative attack's result.json beside it, when there is one. */
function generativeAttackCaption(dir: string): string | undefined {
  const file = join(dir, 'result.json');
  if (!existsSync(file)) return undefined;
  const r = readJsonObject(file, 'an attack result (advlab attack)');
  if (typeof r.attack !== 'string') return undefined;
  const examples = Array.isArray(r.examples) ? r.examples.length : 0;
  const hits =
    isNum(r.target_hits) && examples ? `: the classifier puts ${r.target_hits} of ${examples} reconstructions in the target's class` : '';
  const target = isNum(r.target_index) ? ` toward test image ${r.target_index}` : '';
  return `${r.attack} attack${typeof r.norm === 'string' ? ` ${r.norm}` : ''}${isNum(r.eps) ? ` ε=${r.eps}` : ''}${target}${hits} (${GENERATIVE_COLUMNS})`;
}

/** The generative.png galleries in `dir`. */
function readGenerativeImages(dir: string): GalleryImage[] {
  return GENERATIVE_IMAGE_FILES.filter((name) => existsSync(join(dir, name))).map((name) =>
    readPng(join(dir, name), generativeAttackCaption(dir) ?? `attack on an autoencoder (${GENERATIVE_COLUMNS})`),
  );
}

/** A JSON file given directly: an eval, curvature or generative evaluation report, told by its name or else its keys. */
function loadJsonSource(input: string, path: string): Omit<Source, 'name'> & { name: string } {
  const base = basename(path);
  const named = NAMED_REPORTS.includes(base);
  const name = named ? basename(dirname(path)) : base.replace(/\.json$/, '');
  const r = readJsonObject(path, `${EVAL_WHAT}, ${CURVATURE_WHAT} or ${GENERATIVE_WHAT}`);
  const none = { images: [], generativeImages: [] };
  // A curvature report has a top-level "hessian", a generative evaluation an "auddc"; named files are what their names say.
  if (base === 'curvature.json' || (!named && r.hessian !== undefined))
    return { name, input, curvature: validateCurvature(r, path), ...none };
  if (base === GENERATIVE_EVAL_FILE || (!named && r.auddc !== undefined))
    return {
      name,
      input,
      generativeEvaluation: validateGenerativeEval(r, path),
      images: [],
      generativeImages: readGenerativeImages(dirname(path)),
    };
  const what =
    base === 'eval.json'
      ? `${EVAL_WHAT} with clean_accuracy and attacks`
      : `${EVAL_WHAT} with clean_accuracy and attacks, or ${CURVATURE_WHAT} with hessian, or ${GENERATIVE_WHAT} with pairs and auddc`;
  return { name, input, evaluation: validateEval(r, path, what), ...none };
}

/** Loads one input path (see the module comment for what is accepted). */
export function loadSource(input: string): Omit<Source, 'name'> & { name: string } {
  const path = resolve(input);
  if (!existsSync(path)) throw new DataMissingError(input, `expected ${EXPECTED_INPUT}`);
  const st = statSync(path);
  if (st.isFile()) {
    const base = basename(path);
    // A file of a run directory stands for its directory.
    if ((RUN_FILES as readonly string[]).includes(base)) return loadSource(dirname(input));
    if (!base.endsWith('.json'))
      throw new DataFormatError(input, EXPECTED_INPUT, `a file that is neither a run directory nor a .json file`);
    return loadJsonSource(input, path);
  }
  if (!st.isDirectory()) throw new DataFormatError(input, EXPECTED_INPUT, 'neither a file nor a folder');
  const entries = readdirSync(path);
  const has = (f: string) => entries.includes(f);
  const isRun = RUN_FILES.some(has);
  const hasEval = has('eval.json');
  const hasCurvature = has('curvature.json');
  const hasGenerativeEval = has(GENERATIVE_EVAL_FILE);
  const images = readImages(path);
  const generativeImages = readGenerativeImages(path);
  if (!isRun && !hasEval && !hasCurvature && !hasGenerativeEval && images.length === 0 && generativeImages.length === 0) {
    const subRuns = entries.filter((e) => {
      const p = join(path, e);
      return statSync(p).isDirectory() && [...RUN_FILES, ...NAMED_REPORTS].some((f) => existsSync(join(p, f)));
    });
    const found =
      entries.length === 0
        ? 'an empty folder'
        : `a folder with ${clip(entries.slice(0, 8).join(', '), 160)}${entries.length > 8 ? `, … (${entries.length} entries)` : ''}`;
    throw new DataFormatError(
      input,
      EXPECTED_INPUT,
      `${found}${subRuns.length ? ` (its subfolders ${subRuns.slice(0, 3).join(', ')} are runs: pass them, e.g. ${join(input, '*')})` : ''}`,
    );
  }
  return {
    name: basename(path),
    input,
    run: isRun ? readTrainingRun(path) : undefined,
    evaluation: hasEval ? readEvalFile(join(path, 'eval.json')) : undefined,
    curvature: hasCurvature ? readCurvatureFile(join(path, 'curvature.json')) : undefined,
    generativeEvaluation: hasGenerativeEval ? readGenerativeEvalFile(join(path, GENERATIVE_EVAL_FILE)) : undefined,
    images,
    generativeImages,
  };
}

/** Loads every input; names are made unique (the path as given when two folders share a name). */
export function loadSources(inputs: string[]): Source[] {
  if (inputs.length === 0) throw new ConfigError('RUN_DIR', 'at least one run directory or eval JSON file', 'none');
  const sources = inputs.map(loadSource);
  const count = new Map<string, number>();
  for (const s of sources) count.set(s.name, (count.get(s.name) ?? 0) + 1);
  for (const s of sources) if (count.get(s.name)! > 1) s.name = s.input;
  return sources;
}
