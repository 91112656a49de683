/**
 * Reads the inputs of a report: training run directories (config.json, metrics.jsonl, summary.json),
 * folders holding an eval.json (written by `advlab eval --json`) or a curvature.json (written by
 * `advlab curvature --json`), eval and curvature JSON files given directly (a curvature report is told
 * apart by its top-level "hessian" key), and the adversarial images (fooled.png, grid.png) found beside them. Everything is validated here; a
 * malformed or unknown input is a typed error naming the file, what was expected and what was found.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  ConfigError,
  DataFormatError,
  DataMissingError,
  type CheckResult,
  type CurvatureReport,
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

/** summary.json, as written by `advlab train` (every key optional: older or partial runs). */
export interface TrainSummaryFile {
  test_accuracy?: number;
  test_examples?: number;
  stopped_by_co?: boolean;
  co_epochs?: number[];
  seconds_per_epoch?: number[];
  dataset?: string;
  final?: MetricsRow | null;
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
  images: GalleryImage[];
}

const RUN_FILES = ['config.json', 'metrics.jsonl', 'summary.json'] as const;
/** The pictures of adversarial examples a run folder may hold (`advlab demo`'s fooled.png, `advlab attack`'s grid.png). */
export const IMAGE_FILES = ['fooled.png', 'grid.png'] as const;
/** The per-example input measures of a curvature report, in the order the report shows them. */
export const INPUT_MEASURES = ['top_eigenvalue', 'linearity_error', 'elle', 'cure'] as const;
const EXPECTED_INPUT =
  'a training run directory (config.json, metrics.jsonl, summary.json), a folder with eval.json, curvature.json, fooled.png or grid.png, or an eval or curvature JSON file';

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

/** One line of metrics.jsonl, validated (`where` names it in errors, e.g. "run/metrics.jsonl:12"). */
export function parseMetricsLine(raw: string, where: string): MetricsRow | EventRow {
  const expected = 'a metrics line (a JSON object with epoch, step, clean_acc, … or an event)';
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new DataFormatError(where, expected, `${JSON.stringify(clip(raw, 60))} (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new DataFormatError(where, expected, describe(v));
  for (const k of ['epoch', 'step']) {
    if (v[k] === undefined) throw new DataFormatError(where, `${expected}: "${k}" ${COUNT.text}`, `no "${k}"`);
    checkNumber(v[k], COUNT, where, `${expected}: "${k}"`);
  }
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

/** metrics.jsonl: every line must parse, except a last line without its newline (a write cut short). */
export function readMetricsFile(file: string): { lines: (MetricsRow | EventRow)[]; notes: string[] } {
  const text = readText(file, 'training metrics (JSON lines)');
  const raw = text.split('\n');
  const notes: string[] = [];
  const lines: (MetricsRow | EventRow)[] = [];
  raw.forEach((l, i) => {
    if (l.trim() === '') return;
    const partial = i === raw.length - 1; // no newline after it
    try {
      lines.push(parseMetricsLine(l, `${file}:${i + 1}`));
    } catch (e) {
      if (!partial) throw e;
      notes.push(`${file}:${i + 1}: ignored an incomplete last line (a write interrupted mid-way)`);
    }
  });
  return { lines, notes };
}

function readTrainingRun(dir: string): TrainingRun {
  const configFile = join(dir, 'config.json');
  const summaryFile = join(dir, 'summary.json');
  const metricsFile = join(dir, 'metrics.jsonl');
  const run: TrainingRun = { dir, lines: [], metrics: [], events: [], notes: [] };
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
    if (s.final !== undefined && s.final !== null) s.final = parseMetricsLine(JSON.stringify(s.final), `${summaryFile} ("final")`);
    run.summary = s as TrainSummaryFile;
  }
  if (existsSync(metricsFile)) {
    const { lines, notes } = readMetricsFile(metricsFile);
    run.lines = lines;
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
    const name = base === 'eval.json' || base === 'curvature.json' ? basename(dirname(path)) : base.replace(/\.json$/, '');
    const r = readJsonObject(path, `${EVAL_WHAT} or ${CURVATURE_WHAT}`);
    // A curvature report has a top-level "hessian"; eval.json and curvature.json are what their names say.
    if (base === 'curvature.json' || (base !== 'eval.json' && r.hessian !== undefined))
      return { name, input, curvature: validateCurvature(r, path), images: [] };
    const what =
      base === 'eval.json'
        ? `${EVAL_WHAT} with clean_accuracy and attacks`
        : `${EVAL_WHAT} with clean_accuracy and attacks, or ${CURVATURE_WHAT} with hessian`;
    return { name, input, evaluation: validateEval(r, path, what), images: [] };
  }
  if (!st.isDirectory()) throw new DataFormatError(input, EXPECTED_INPUT, 'neither a file nor a folder');
  const entries = readdirSync(path);
  const has = (f: string) => entries.includes(f);
  const isRun = RUN_FILES.some(has);
  const hasEval = has('eval.json');
  const hasCurvature = has('curvature.json');
  const images = readImages(path);
  if (!isRun && !hasEval && !hasCurvature && images.length === 0) {
    const subRuns = entries.filter((e) => {
      const p = join(path, e);
      return statSync(p).isDirectory() && [...RUN_FILES, 'eval.json', 'curvature.json'].some((f) => existsSync(join(p, f)));
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
    images,
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
