import { appendFileSync, existsSync, mkdirSync, openSync, closeSync, fsyncSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AdvlabError, ConfigError, type CheckpointRef, type ModelMeta, type TrainingStore } from '@advlab/core';
import { loadModel, saveModel } from '../models/io.ts';
import { writeFileAtomic } from '../fs.ts';

/**
 * A training run on disk:
 *   config.json        the fully resolved configuration (written once; a resume must match it)
 *   metrics.jsonl      one JSON object per line, appended and flushed as training goes
 *   checkpoints/e-NNNN the model, optimiser state and loop state after epoch NNNN
 *   checkpoint.json    names the newest COMPLETE checkpoint; replaced atomically after the folder is
 *                      fully written, so a write interrupted mid-way leaves the previous one in force
 *   best/              the model with the best held-out PGD accuracy;  model/  the final model
 */
export class RunDirectory implements TrainingStore {
  constructor(readonly dir: string) {}

  /** The path of the run's config.json. */
  get configPath(): string {
    return join(this.dir, 'config.json');
  }
  /** The path of the run's metrics.jsonl. */
  get metricsPath(): string {
    return join(this.dir, 'metrics.jsonl');
  }

  /** True if the folder holds a run, i.e. has a config.json. */
  exists(): boolean {
    return existsSync(this.configPath);
  }

  /** The parsed config.json (`T` is asserted, not checked); throws AdvlabError E_CONFIG when the run does not exist. */
  readConfig<T>(): T {
    if (!this.exists()) throw new AdvlabError('E_CONFIG', `${this.configPath}: not found (--resume expects a run directory)`);
    return JSON.parse(readFileSync(this.configPath, 'utf8')) as T;
  }

  /** Writes config.json for a new run; refuses to overwrite an existing run. */
  create(config: object): void {
    if (this.exists()) throw new ConfigError('run', `a new run name (or --resume ${this.dir})`, `${this.dir} already holds a run`);
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.configPath, `${JSON.stringify(config, null, 2)}\n`);
    writeFileAtomic(this.metricsPath, '');
  }

  /** Appends one metrics line and flushes it to disk. */
  appendMetrics(line: object): void {
    appendFileSync(this.metricsPath, `${JSON.stringify(line)}\n`);
    const fd = openSync(this.metricsPath, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  readMetrics<T = Record<string, unknown>>(): T[] {
    if (!existsSync(this.metricsPath)) return [];
    return readFileSync(this.metricsPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as T];
        } catch {
          return []; // a line cut by a kill -9 mid-write
        }
      });
  }

  /** Keeps only the metric lines for which `keep` holds (used when resuming from a checkpoint). */
  truncateMetrics(keep: (line: Record<string, unknown>) => boolean): void {
    const lines = this.readMetrics().filter(keep);
    writeFileAtomic(this.metricsPath, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }

  async writeCheckpoint(epoch: number, model: tfl.LayersModel, optimizer: tf.Optimizer, state: object, meta: ModelMeta): Promise<void> {
    const name = `e-${String(epoch).padStart(4, '0')}`;
    const dir = join(this.dir, 'checkpoints', name);
    rmSync(dir, { recursive: true, force: true });
    await saveModel(model, dir, meta);
    const opt = await optimizer.getWeights();
    const specs = opt.map((w) => ({ name: w.name, shape: w.tensor.shape, dtype: w.tensor.dtype }));
    const data = opt.map((w) => Array.from(w.tensor.dataSync()));
    writeFileAtomic(join(dir, 'optimizer.json'), JSON.stringify({ specs, data }));
    // getWeights() makes a fresh 'iter' scalar each call; the rest are the optimiser's own variables.
    for (const w of opt) if (w.name === 'iter') w.tensor.dispose();
    writeFileAtomic(join(dir, 'state.json'), `${JSON.stringify({ epoch, ...state }, null, 2)}\n`);
    // Only now does the checkpoint count: the pointer names a folder whose every file is complete.
    writeFileAtomic(join(this.dir, 'checkpoint.json'), `${JSON.stringify({ latest: name, epoch })}\n`);
    for (const old of readdirSync(join(this.dir, 'checkpoints'))) {
      if (old !== name) rmSync(join(this.dir, 'checkpoints', old), { recursive: true, force: true });
    }
  }

  /** The newest complete checkpoint, or undefined when the run has none yet. */
  latestCheckpoint(): (CheckpointRef & { dir: string }) | undefined {
    const p = join(this.dir, 'checkpoint.json');
    if (!existsSync(p)) return undefined;
    const { latest, epoch } = JSON.parse(readFileSync(p, 'utf8')) as { latest: string; epoch: number };
    const dir = join(this.dir, 'checkpoints', latest);
    return { dir, epoch, location: dir };
  }

  /** Restores weights into `model` and state into `optimizer`; returns the loop state saved with them. */
  async restoreCheckpoint<S>(ckpt: CheckpointRef, model: tfl.LayersModel, optimizer: tf.Optimizer): Promise<S> {
    const dir = join(this.dir, 'checkpoints', `e-${String(ckpt.epoch).padStart(4, '0')}`);
    const loaded = await loadModel(dir);
    model.setWeights(loaded.model.getWeights());
    loaded.model.dispose();
    const { specs, data } = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as {
      specs: { name: string; shape: number[]; dtype: 'float32' | 'int32' }[];
      data: number[][];
    };
    const named = specs.map((s, i) => ({ name: s.name, tensor: tf.tensor(data[i]!, s.shape, s.dtype) }));
    await optimizer.setWeights(named); // copies into the optimiser's own variables
    tf.dispose(named.map((w) => w.tensor));
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as S;
  }

  async saveModelAs(sub: 'best' | 'model', model: tfl.LayersModel, meta: ModelMeta): Promise<void> {
    await saveModel(model, join(this.dir, sub), meta);
  }
}
