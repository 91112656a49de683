import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  AdvlabError,
  ConfigError,
  RunCorruptError,
  describeValue,
  parseLoopState,
  parseStoredMetricsLine,
  type CheckpointRef,
  type LoopState,
  type ModelMeta,
  type TrainingStore,
} from '@advlab/core';
import { loadModel, saveModel } from '../models/io.ts';
import { fsyncFile, writeFileAtomic } from '../fs.ts';
import { acquireRunLock, type RunLock } from './lock.ts';

/** A checkpoint folder's name: e-0003 for epoch 3. */
const checkpointName = (epoch: number) => `e-${String(epoch).padStart(4, '0')}`;
/** What a checkpoint folder holds; checkpoint.json records each one's sha256, and config.json's. */
const CHECKPOINT_FILES = ['model.json', 'weights.bin', 'optimizer.json', 'state.json'] as const;

/**
 * Fault injection: with ADVLAB_CRASH_AT=NAME (or NAME@K for its K-th time), the process kills itself with
 * SIGKILL at that point of a checkpoint or metrics write, as a power cut would. The fault-injection suite
 * (test/faults) uses it to interrupt the moments too short to hit by a timed kill.
 */
const crashCounts = new Map<string, number>();
function crashPoint(name: string): void {
  const at = process.env.ADVLAB_CRASH_AT;
  if (!at) return;
  const [want, times] = at.split('@');
  if (want !== name) return;
  const k = (crashCounts.get(name) ?? 0) + 1;
  crashCounts.set(name, k);
  if (k === Number(times ?? 1)) process.kill(process.pid, 'SIGKILL');
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** JSON from `path`, or RunCorruptError naming it. */
function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RunCorruptError(path, what, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : String(code));
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RunCorruptError(path, what, `text that is not JSON (${(e as Error).message}; ${text.length} bytes)`);
  }
}

interface Pointer {
  latest: string;
  epoch: number;
  /** sha256 of each checkpoint file and of config.json, by path relative to the run directory (absent in runs made before it). */
  sha256?: Record<string, string>;
}

function parsePointer(file: string, v: unknown): Pointer {
  const p = v as Partial<Pointer> | null;
  const shape = '{"latest": "e-NNNN", "epoch": N, "sha256": {…}}';
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new RunCorruptError(file, shape, describeValue(v));
  if (typeof p.epoch !== 'number' || !Number.isInteger(p.epoch) || p.epoch < 1) {
    throw new RunCorruptError(file, '"epoch" a positive integer', describeValue(p.epoch));
  }
  // The pointer names a folder by the only name a checkpoint can have: never a path elsewhere.
  if (p.latest !== checkpointName(p.epoch)) {
    throw new RunCorruptError(file, `"latest" "${checkpointName(p.epoch)}" (the checkpoint of epoch ${p.epoch})`, describeValue(p.latest));
  }
  if (p.sha256 !== undefined) {
    const ok =
      p.sha256 !== null &&
      typeof p.sha256 === 'object' &&
      Object.entries(p.sha256).every(([k, h]) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h) && !k.split(/[\\/]/).includes('..'));
    if (!ok) throw new RunCorruptError(file, '"sha256" an object of file → 64 hex digits', describeValue(p.sha256));
  }
  return p as Pointer;
}

/** The entries a run directory may hold and what each must be; a resume writes into some of them. */
const LAYOUT: Record<string, 'file' | 'directory'> = {
  'config.json': 'file',
  'metrics.jsonl': 'file',
  'metrics.superseded.jsonl': 'file',
  'checkpoint.json': 'file',
  'summary.json': 'file',
  'eval.json': 'file',
  'eval-args.json': 'file',
  'eval-generative.json': 'file',
  'eval-generative-args.json': 'file',
  'grid.png': 'file',
  'generative.png': 'file',
  checkpoints: 'directory',
  best: 'directory',
  model: 'directory',
  gallery: 'directory',
  'best/model.json': 'file',
  'best/weights.bin': 'file',
  'model/model.json': 'file',
  'model/weights.bin': 'file',
};

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

const within = (path: string, folder: string) => path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);

/**
 * A training run on disk:
 *   config.json        the fully resolved configuration (written once; a resume must match it)
 *   metrics.jsonl      one JSON object per line, appended and flushed as training goes
 *   checkpoints/e-NNNN the model, optimiser state and loop state after epoch NNNN
 *   checkpoint.json    names the newest COMPLETE checkpoint and the sha256 of its files and of config.json;
 *                      replaced atomically after the folder is fully written, so a write interrupted mid-way
 *                      leaves the previous one in force, and a file changed afterwards is detected
 *   metrics.superseded.jsonl  lines a resume took out of metrics.jsonl (written after the checkpoint it
 *                      resumed from, so measured on weights that no longer exist); kept, never deleted
 *   lock.json          who is writing the run now (see lock.ts)
 *   best/              the model with the best held-out PGD accuracy;  model/  the final model
 * Every file read back is validated; a damaged one is a RunCorruptError (E_RUN_CORRUPT) naming it, raised
 * before anything in the run is changed.
 */
export class RunDirectory implements TrainingStore {
  private tailChecked = false;
  constructor(readonly dir: string) {}

  /** The path of the run's config.json. */
  get configPath(): string {
    return join(this.dir, 'config.json');
  }
  /** The path of the run's metrics.jsonl. */
  get metricsPath(): string {
    return join(this.dir, 'metrics.jsonl');
  }
  /** The path of the checkpoint pointer. */
  get pointerPath(): string {
    return join(this.dir, 'checkpoint.json');
  }

  /** True if the folder holds a run, i.e. has a config.json. */
  exists(): boolean {
    return existsSync(this.configPath);
  }

  /** Throws AdvlabError E_CONFIG unless the folder holds a run (what --resume needs). */
  assertRun(): void {
    if (!this.exists()) throw new AdvlabError('E_CONFIG', `${this.configPath}: not found (--resume expects a run directory)`);
  }

  /** Throws ConfigError naming `run` if the folder already holds a run (a new run must not replace it). */
  assertNew(): void {
    if (this.exists()) throw new ConfigError('run', `a new run name (or --resume ${this.dir})`, `${this.dir} already holds a run`);
  }

  /**
   * Takes the run's lock for `command` (creating the folder if needed); throws RunLockedError while another
   * live process holds it. Call release() when done (it is also released when the process exits).
   */
  lock(command: string): RunLock {
    mkdirSync(this.dir, { recursive: true });
    return acquireRunLock(this.dir, command);
  }

  /**
   * Checks that every entry the run writes or reads (config.json, metrics.jsonl, checkpoints/, model/ …)
   * is of its kind and, if a symlink, stays inside the run directory: a resume must not write through a
   * link into another folder or fail half-way on a directory where a file belongs. RunCorruptError naming
   * the entry otherwise.
   */
  checkLayout(): void {
    const root = realpathSync(this.dir);
    for (const [name, kind] of Object.entries(LAYOUT)) {
      const path = join(this.dir, name);
      let real: string;
      try {
        real = realpathSync(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !isDanglingLink(path)) continue; // not written yet
        throw new RunCorruptError(path, kind === 'file' ? 'a file' : 'a folder', code === 'ENOENT' ? 'a link to nothing' : String(code));
      }
      if (!within(real, root))
        throw new RunCorruptError(path, `a ${kind === 'file' ? 'file' : 'folder'} inside the run directory`, `a link to ${real}`);
      const st = statSync(real);
      if (kind === 'file' ? !st.isFile() : !st.isDirectory()) {
        throw new RunCorruptError(path, kind === 'file' ? 'a file' : 'a folder', st.isDirectory() ? 'a folder' : 'a file');
      }
    }
  }

  /**
   * The parsed config.json: an object, checked by `parse` when given (whose errors are reported as the
   * file's). Throws E_CONFIG when the run does not exist, E_RUN_CORRUPT when the file is damaged.
   */
  readConfig<T>(parse?: (raw: Record<string, unknown>) => T): T {
    this.assertRun();
    const raw = readJson(this.configPath, 'the JSON configuration of a run');
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new RunCorruptError(this.configPath, 'a JSON object (the configuration of a run)', describeValue(raw));
    }
    if (!parse) return raw as T;
    try {
      return parse(raw as Record<string, unknown>);
    } catch (e) {
      if (e instanceof ConfigError) throw new RunCorruptError(this.configPath, `"${e.option}" ${e.expected}`, e.found);
      throw e;
    }
  }

  /** Writes config.json for a new run; refuses to overwrite an existing run. */
  create(config: object): void {
    this.assertNew();
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.configPath, `${JSON.stringify(config, null, 2)}\n`);
    writeFileAtomic(this.metricsPath, '');
  }

  /**
   * Appends one metrics line and flushes it to disk. The first append of a RunDirectory object sets aside a
   * line cut short by a kill (into metrics.superseded.jsonl), so the new line starts a line of its own.
   */
  appendMetrics(line: object): void {
    if (!this.tailChecked) {
      this.tailChecked = true;
      if (this.metricLines().torn !== undefined) this.truncateMetrics(() => true);
    }
    const text = `${JSON.stringify(line)}\n`;
    if (process.env.ADVLAB_CRASH_AT?.startsWith('metrics:half-line')) {
      appendFileSync(this.metricsPath, text.slice(0, text.length >> 1));
      crashPoint('metrics:half-line');
      appendFileSync(this.metricsPath, text.slice(text.length >> 1));
    } else appendFileSync(this.metricsPath, text);
    fsyncFile(this.metricsPath);
  }

  /**
   * The metrics lines as stored (text and parsed), plus a last line cut by a kill mid-write (`torn`). Any
   * other line that is not a valid metrics line is a RunCorruptError naming its number.
   */
  private metricLines(): { lines: { text: string; value: Record<string, unknown> }[]; torn?: string } {
    if (!existsSync(this.metricsPath)) return { lines: [] };
    let text: string;
    try {
      text = readFileSync(this.metricsPath, 'utf8');
    } catch (e) {
      throw new RunCorruptError(this.metricsPath, 'a file of JSON lines', String((e as NodeJS.ErrnoException).code));
    }
    const raw = text.split('\n');
    // A complete file ends with '\n'; what follows the last one is a line whose write was cut short.
    const last = raw.pop()!;
    const lines: { text: string; value: Record<string, unknown> }[] = [];
    for (const [i, l] of raw.entries()) {
      if (l.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch {
        throw new RunCorruptError(this.metricsPath, `line ${i + 1} a JSON object`, JSON.stringify(l.slice(0, 60)));
      }
      const parsed = parseStoredMetricsLine(v);
      if ('problem' in parsed) {
        throw new RunCorruptError(this.metricsPath, `line ${i + 1} ${parsed.problem.expected}`, parsed.problem.found);
      }
      lines.push({ text: l, value: v as Record<string, unknown> });
    }
    return last.trim() === '' ? { lines } : { lines, torn: last };
  }

  readMetrics<T = Record<string, unknown>>(): T[] {
    return this.metricLines().lines.map((l) => l.value as T);
  }

  /**
   * Keeps only the metric lines for which `keep` holds (used when resuming from a checkpoint). The others,
   * and a torn last line, are appended to metrics.superseded.jsonl first: nothing written is deleted.
   */
  truncateMetrics(keep: (line: Record<string, unknown>) => boolean): void {
    const { lines, torn } = this.metricLines();
    const kept = lines.filter((l) => keep(l.value));
    const dropped = [...lines.filter((l) => !keep(l.value)).map((l) => l.text), ...(torn !== undefined ? [torn] : [])];
    if (dropped.length === 0) return;
    const superseded = join(this.dir, 'metrics.superseded.jsonl');
    appendFileSync(superseded, dropped.map((l) => `${l}\n`).join(''));
    fsyncFile(superseded);
    crashPoint('resume:superseded');
    writeFileAtomic(this.metricsPath, kept.map((l) => `${l.text}\n`).join(''));
  }

  async writeCheckpoint(epoch: number, model: tfl.LayersModel, optimizer: tf.Optimizer, state: object, meta: ModelMeta): Promise<void> {
    const name = checkpointName(epoch);
    const dir = join(this.dir, 'checkpoints', name);
    rmSync(dir, { recursive: true, force: true });
    await saveModel(model, dir, meta);
    crashPoint('checkpoint:model');
    const opt = await optimizer.getWeights();
    const specs = opt.map((w) => ({ name: w.name, shape: w.tensor.shape, dtype: w.tensor.dtype }));
    const data = opt.map((w) => Array.from(w.tensor.dataSync()));
    writeFileAtomic(join(dir, 'optimizer.json'), JSON.stringify({ specs, data }));
    // getWeights() makes a fresh 'iter' scalar each call; the rest are the optimiser's own variables.
    for (const w of opt) if (w.name === 'iter') w.tensor.dispose();
    crashPoint('checkpoint:optimizer');
    writeFileAtomic(join(dir, 'state.json'), `${JSON.stringify({ epoch, ...state }, null, 2)}\n`);
    crashPoint('checkpoint:state');
    const files = [...CHECKPOINT_FILES.map((f) => `checkpoints/${name}/${f}`), 'config.json'];
    const hashes = Object.fromEntries(files.map((f) => [f, sha256(join(this.dir, f))]));
    // Only now does the checkpoint count: the pointer names a folder whose every file is complete.
    writeFileAtomic(this.pointerPath, `${JSON.stringify({ latest: name, epoch, sha256: hashes })}\n`);
    crashPoint('checkpoint:pointer');
    for (const old of readdirSync(join(this.dir, 'checkpoints'))) {
      if (old !== name) rmSync(join(this.dir, 'checkpoints', old), { recursive: true, force: true });
    }
  }

  private readPointer(): Pointer | undefined {
    if (!existsSync(this.pointerPath)) return undefined;
    return parsePointer(this.pointerPath, readJson(this.pointerPath, 'the checkpoint pointer {"latest", "epoch", "sha256"}'));
  }

  /**
   * The newest complete checkpoint, or undefined when the run has none yet. Refuses (E_RUN_CORRUPT) a
   * pointer that is damaged or names a missing folder, and a missing pointer in a run whose metrics show an
   * epoch was completed (a deleted checkpoint must not silently restart the run).
   */
  latestCheckpoint(): (CheckpointRef & { dir: string }) | undefined {
    const p = this.readPointer();
    if (!p) {
      const { lines } = this.metricLines();
      const furthest = Math.max(0, ...lines.map((l) => l.value.epoch as number));
      // Every epoch is checkpointed before the next begins: lines of epoch ≥ 2 mean a checkpoint existed.
      if (furthest >= 2) {
        throw new RunCorruptError(
          this.pointerPath,
          `the checkpoint pointer (metrics.jsonl has lines of epoch ${furthest}, so epoch ${furthest - 1} was checkpointed)`,
          'no such file; restore it, or start a new run',
        );
      }
      return undefined;
    }
    const dir = join(this.dir, 'checkpoints', p.latest);
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      throw new RunCorruptError(this.pointerPath, `a checkpoint folder checkpoints/${p.latest}`, 'no such folder');
    }
    // A symlinked checkpoints/ must not resume another run's weights.
    if (!within(real, realpathSync(this.dir)) || !statSync(real).isDirectory()) {
      throw new RunCorruptError(dir, `a folder inside the run directory ${this.dir}`, real);
    }
    return { dir, epoch: p.epoch, location: dir };
  }

  /**
   * Restores weights into `model` and state into `optimizer`; returns the loop state saved with them. Every
   * file is checked first (recorded sha256, JSON, schema, shapes against `model`), so a damaged checkpoint
   * changes neither the model nor the optimiser.
   */
  async restoreCheckpoint(ckpt: CheckpointRef, model: tfl.LayersModel, optimizer: tf.Optimizer): Promise<LoopState> {
    const p = this.readPointer();
    if (!p || p.epoch !== ckpt.epoch) {
      throw new RunCorruptError(this.pointerPath, `the checkpoint of epoch ${ckpt.epoch}`, p ? `epoch ${p.epoch}` : 'no such file');
    }
    const dir = join(this.dir, 'checkpoints', p.latest);
    for (const [file, recorded] of Object.entries(p.sha256 ?? {})) {
      const path = join(this.dir, file);
      let actual: string;
      try {
        actual = sha256(path);
      } catch (e) {
        throw new RunCorruptError(
          path,
          'a file of the checkpoint',
          String((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : e),
        );
      }
      if (actual !== recorded) {
        throw new RunCorruptError(
          path,
          `the contents recorded in checkpoint.json (sha256 ${recorded.slice(0, 12)}…)`,
          `other contents (sha256 ${actual.slice(0, 12)}…): the file changed after the checkpoint was written`,
        );
      }
    }
    let loaded: Awaited<ReturnType<typeof loadModel>>;
    try {
      loaded = await loadModel(dir);
    } catch (e) {
      if (e instanceof AdvlabError) throw new RunCorruptError(dir, 'a saved model', e.message);
      throw e;
    }
    let state: LoopState;
    let optimizerState: ReturnType<RunDirectory['readOptimizerState']>;
    try {
      const got = loaded.model.getWeights();
      const want = model.getWeights();
      const mismatch = want.findIndex((w, i) => !got[i] || got[i]!.shape.join() !== w.shape.join());
      if (got.length !== want.length || mismatch >= 0) {
        throw new RunCorruptError(
          join(dir, 'model.json'),
          `the weights of this run's model (${want.length} tensors)`,
          got.length !== want.length ? `${got.length} tensors` : `tensor ${mismatch} of shape [${got[mismatch]!.shape}]`,
        );
      }
      optimizerState = this.readOptimizerState(join(dir, 'optimizer.json'), model);
      state = this.readState(join(dir, 'state.json'), ckpt.epoch);
      model.setWeights(got);
    } finally {
      loaded.model.dispose();
    }
    const named = optimizerState.map((s) => ({ name: s.name, tensor: tf.tensor(s.values, s.shape, s.dtype) }));
    try {
      await optimizer.setWeights(named); // copies into the optimiser's own variables
    } finally {
      tf.dispose(named.map((w) => w.tensor));
    }
    return state;
  }

  /** optimizer.json, checked: an 'iter' scalar, then slot variables shaped like the model's trainable weights (0, 1 or 2 per weight). */
  private readOptimizerState(file: string, model: tfl.LayersModel) {
    const v = readJson(file, 'the optimiser state {"specs", "data"}') as { specs?: unknown; data?: unknown } | null;
    const shape = 'optimiser state {"specs": [{name, shape, dtype}], "data": [[numbers]]} of equal length';
    if (!v || typeof v !== 'object' || !Array.isArray(v.specs) || !Array.isArray(v.data) || v.specs.length !== v.data.length) {
      throw new RunCorruptError(file, shape, describeValue(v).slice(0, 80));
    }
    const trainable = model.trainableWeights.map((w) => w.shape.join());
    const slots = v.specs.length - 1;
    if (slots < 0 || (trainable.length === 0 ? slots !== 0 : slots % trainable.length !== 0)) {
      throw new RunCorruptError(
        file,
        `1 + k × ${trainable.length} optimiser variables (an iteration count and k per trainable weight)`,
        `${v.specs.length}`,
      );
    }
    return v.specs.map((spec: unknown, i: number) => {
      const s = spec as { name?: unknown; shape?: unknown; dtype?: unknown } | null;
      const values = (v.data as unknown[])[i];
      const okShape = Array.isArray(s?.shape) && s.shape.every((d) => Number.isInteger(d) && d >= 0);
      if (!s || typeof s.name !== 'string' || !okShape || (s.dtype !== 'float32' && s.dtype !== 'int32')) {
        throw new RunCorruptError(file, `specs[${i}] {name, shape, dtype float32|int32}`, describeValue(spec));
      }
      const dims = s.shape as number[];
      const expectedShape = i === 0 ? '' : trainable[(i - 1) % trainable.length]!;
      if (dims.join() !== expectedShape) {
        throw new RunCorruptError(file, `specs[${i}].shape [${expectedShape}]`, `[${dims}]`);
      }
      const size = dims.reduce((a, b) => a * b, 1);
      if (!Array.isArray(values) || values.length !== size || !values.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new RunCorruptError(
          file,
          `data[${i}] ${size} finite numbers`,
          Array.isArray(values)
            ? `${values.length} values${values.every((x) => typeof x === 'number') ? '' : ', not all numbers'}`
            : describeValue(values),
        );
      }
      return { name: s.name, shape: dims, dtype: s.dtype as 'float32' | 'int32', values: values as number[] };
    });
  }

  private readState(file: string, epoch: number): LoopState {
    const parsed = parseLoopState(readJson(file, 'the loop state of a checkpoint'));
    if ('problem' in parsed) throw new RunCorruptError(file, parsed.problem.expected, parsed.problem.found);
    if (parsed.state.epoch !== epoch) throw new RunCorruptError(file, `"epoch" ${epoch} (the checkpoint's)`, String(parsed.state.epoch));
    return parsed.state;
  }

  async saveModelAs(sub: 'best' | 'model', model: tfl.LayersModel, meta: ModelMeta): Promise<void> {
    await saveModel(model, join(this.dir, sub), meta);
  }
}
