/**
 * Reads the inputs of a report: training run directories (config.json, metrics.jsonl, summary.json),
 * folders holding an eval.json (written by `advlab eval --json`), eval JSON files given directly, and
 * the adversarial images (fooled.png, grid.png) found beside them. Everything is validated here; a
 * malformed or unknown input is a typed error naming the file, what was expected and what was found.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, DataFormatError, DataMissingError, type CheckResult, type MetricsLine } from '@advlab/core';

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
  images: GalleryImage[];
}

const RUN_FILES = ['config.json', 'metrics.jsonl', 'summary.json'] as const;
const IMAGE_FILES = ['fooled.png', 'grid.png'] as const;
const EXPECTED_INPUT =
  'a training run directory (config.json, metrics.jsonl, summary.json), a folder with eval.json, fooled.png or grid.png, or an eval JSON file';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(clip(v, 40))}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function readJson(file: string, what: string): unknown {
  const text = readFileSync(file, 'utf8');
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

/** A numeric field that may be absent (or null: NaN in JSON) but must otherwise be a number. */
function optionalNumber(o: Record<string, unknown>, key: string, where: string, expected: string): void {
  const v = o[key];
  if (v === undefined || v === null) {
    delete o[key];
    return;
  }
  if (typeof v !== 'number') throw new DataFormatError(where, `${expected}: "${key}" a number`, describe(v));
}

const METRIC_NUMBERS = ['fgsm_acc', 'pgd_acc', 'grad_align', 'fgsm_pgd_cos', 'loss', 'eps', 'lr', 'seconds', 'examples_per_s', 'alpha'];

function parseMetricsLine(raw: string, where: string): MetricsRow | EventRow {
  const expected = 'a metrics line (a JSON object with epoch, step, clean_acc, … or an event)';
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new DataFormatError(where, expected, `${JSON.stringify(clip(raw, 60))} (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new DataFormatError(where, expected, describe(v));
  for (const k of ['epoch', 'step']) {
    if (!isNum(v[k])) throw new DataFormatError(where, `${expected}: "${k}" a number`, v[k] === undefined ? `no "${k}"` : describe(v[k]));
  }
  if (v.event !== undefined) {
    if (typeof v.event !== 'string') throw new DataFormatError(where, 'an event line: "event" a string', describe(v.event));
    return v as unknown as EventRow;
  }
  if (!isNum(v.clean_acc))
    throw new DataFormatError(
      where,
      `${expected}: "clean_acc" a number`,
      v.clean_acc === undefined ? 'no "clean_acc"' : describe(v.clean_acc),
    );
  for (const k of METRIC_NUMBERS) optionalNumber(v, k, where, expected);
  if (v.co !== undefined && typeof v.co !== 'boolean') throw new DataFormatError(where, `${expected}: "co" true`, describe(v.co));
  if (v.co_rules !== undefined && !(Array.isArray(v.co_rules) && v.co_rules.every((r) => typeof r === 'string'))) {
    throw new DataFormatError(where, `${expected}: "co_rules" a list of strings`, describe(v.co_rules));
  }
  return v as unknown as MetricsRow;
}

/** metrics.jsonl: every line must parse, except a last line without its newline (a write cut short). */
export function readMetricsFile(file: string): { lines: (MetricsRow | EventRow)[]; notes: string[] } {
  const text = readFileSync(file, 'utf8');
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
    for (const k of ['test_accuracy', 'test_examples']) optionalNumber(s, k, summaryFile, 'a training summary');
    for (const k of ['co_epochs', 'seconds_per_epoch']) {
      if (s[k] !== undefined && !(Array.isArray(s[k]) && (s[k] as unknown[]).every(isNum))) {
        throw new DataFormatError(summaryFile, `a training summary: "${k}" a list of numbers`, describe(s[k]));
      }
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

function validateAccuracy(v: unknown, file: string, what: string): void {
  if (!(isNum(v) && v >= 0 && v <= 1))
    throw new DataFormatError(file, `an evaluation report: ${what} a number in [0, 1]`, v === undefined ? 'nothing' : describe(v));
}

function validatePerClass(v: unknown, file: string, what: string): void {
  if (v === undefined) return;
  if (!(Array.isArray(v) && v.every((x) => x === null || isNum(x)))) {
    throw new DataFormatError(file, `an evaluation report: ${what} a list of numbers (null for an empty class)`, describe(v));
  }
}

function validateWorst(v: unknown, file: string, what: string): void {
  if (!isObject(v)) throw new DataFormatError(file, `an evaluation report: ${what} an object`, describe(v));
  if (!isNum(v.eps)) throw new DataFormatError(file, `an evaluation report: ${what}.eps a number`, describe(v.eps));
  validateAccuracy(v.robust_accuracy, file, `${what}.robust_accuracy`);
  validatePerClass(v.per_class, file, `${what}.per_class`);
}

/** Validates an eval JSON (EvaluationReport + class_names) and returns it typed. */
export function readEvalFile(file: string): Evaluation {
  const r = readJsonObject(file, 'an evaluation report (advlab eval --json)');
  const what = 'an evaluation report (advlab eval --json) with clean_accuracy and attacks';
  if (r.clean_accuracy === undefined || r.attacks === undefined) {
    const keys = Object.keys(r);
    throw new DataFormatError(file, what, keys.length ? `an object with keys ${clip(keys.join(', '), 120)}` : 'an empty object');
  }
  validateAccuracy(r.clean_accuracy, file, 'clean_accuracy');
  validatePerClass(r.clean_per_class, file, 'clean_per_class');
  if (!Array.isArray(r.attacks)) throw new DataFormatError(file, `${what}: "attacks" a list`, describe(r.attacks));
  r.attacks.forEach((a: unknown, i: number) => {
    if (!isObject(a) || typeof a.name !== 'string')
      throw new DataFormatError(file, `an evaluation report: attacks[${i}] an object with a "name"`, describe(a));
    if (!isNum(a.eps)) throw new DataFormatError(file, `an evaluation report: attacks[${i}].eps a number`, describe(a.eps));
    validateAccuracy(a.robust_accuracy, file, `attacks[${i}].robust_accuracy`);
    validatePerClass(a.per_class, file, `attacks[${i}].per_class`);
  });
  if (r.worst_case !== undefined) validateWorst(r.worst_case, file, 'worst_case');
  if (r.worst_case_by_eps !== undefined) {
    if (!Array.isArray(r.worst_case_by_eps))
      throw new DataFormatError(file, 'an evaluation report: worst_case_by_eps a list', describe(r.worst_case_by_eps));
    r.worst_case_by_eps.forEach((w: unknown, i: number) => {
      validateWorst(w, file, `worst_case_by_eps[${i}]`);
    });
  }
  if (r.eps !== undefined && !(Array.isArray(r.eps) && r.eps.every(isNum)))
    throw new DataFormatError(file, 'an evaluation report: eps a list of numbers', describe(r.eps));
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

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads a PNG into a data URI after checking its signature and header (so the browser can draw it). */
export function readPng(file: string, caption: string): GalleryImage {
  const bytes = readFileSync(file);
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
    const evaluation = readEvalFile(path);
    const name = base === 'eval.json' ? basename(dirname(path)) : base.replace(/\.json$/, '');
    return { name, input, evaluation, images: [] };
  }
  if (!st.isDirectory()) throw new DataFormatError(input, EXPECTED_INPUT, 'neither a file nor a folder');
  const entries = readdirSync(path);
  const has = (f: string) => entries.includes(f);
  const isRun = RUN_FILES.some(has);
  const hasEval = has('eval.json');
  const images = readImages(path);
  if (!isRun && !hasEval && images.length === 0) {
    const subRuns = entries.filter((e) => {
      const p = join(path, e);
      return statSync(p).isDirectory() && [...RUN_FILES, 'eval.json'].some((f) => existsSync(join(p, f)));
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
