/**
 * Where a training run keeps what must survive it: metrics lines, checkpoints (model + optimiser +
 * loop state) and the best / final models. The loop only talks to this interface, so it runs the same
 * in a browser (MemoryTrainingStore) as in Node, where @advlab/node's RunDirectory keeps it on disk.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AdvlabError, RunCorruptError } from '../errors.ts';
import type { LoopState } from './policy.ts';
import { parseLoopState } from './records.ts';
import type { ModelMeta } from '../models/meta.ts';

/** A complete checkpoint a run can resume from. `location` says where it is, for messages. */
export interface CheckpointRef {
  epoch: number;
  location: string;
}

/** Storage for one training run: metrics lines, checkpoints and the saved models (MemoryTrainingStore, or @advlab/node's RunDirectory). */
export interface TrainingStore {
  /** Appends one metrics line (held-out or event) after those stored; it must survive a JSON round trip. */
  appendMetrics(line: object): void;
  /** Every stored line, oldest first, parsed afresh; `T` is asserted, not checked. */
  readMetrics<T = Record<string, unknown>>(): T[];
  /** Keeps only the metric lines for which `keep` holds (used when resuming from a checkpoint). */
  truncateMetrics(keep: (line: Record<string, unknown>) => boolean): void;
  /** Stores model, optimiser and loop state after `epoch`; only a completely stored one becomes the latest. */
  writeCheckpoint(epoch: number, model: tfl.LayersModel, optimizer: tf.Optimizer, state: object, meta: ModelMeta): Promise<void>;
  /** The newest completely stored checkpoint, or undefined when there is none yet. */
  latestCheckpoint(): CheckpointRef | undefined;
  /**
   * Restores weights into `model` and state into `optimizer`; returns the loop state saved with them. A
   * store checks what it reads first (a RunCorruptError, E_RUN_CORRUPT, leaves model and optimiser as they were).
   */
  restoreCheckpoint(ckpt: CheckpointRef, model: tfl.LayersModel, optimizer: tf.Optimizer): Promise<LoopState>;
  /** Stores the model's current weights with `meta` as 'best' (best held-out PGD accuracy) or 'model' (final), replacing the slot. */
  saveModelAs(slot: 'best' | 'model', model: tfl.LayersModel, meta: ModelMeta): Promise<void>;
}

interface Snapshot {
  weights: tf.Tensor[];
  meta: ModelMeta;
}

/**
 * A TrainingStore in memory: weights are copied (tf.clone + keep), so later training steps do not
 * change a stored checkpoint. Call dispose() to free the copies.
 */
export class MemoryTrainingStore implements TrainingStore {
  private metrics: string[] = [];
  private checkpoint: { epoch: number; model: Snapshot; optimizer: { name: string; tensor: tf.Tensor }[]; state: string } | undefined;
  private readonly models = new Map<'best' | 'model', Snapshot>();

  appendMetrics(line: object): void {
    this.metrics.push(JSON.stringify(line));
  }

  readMetrics<T = Record<string, unknown>>(): T[] {
    return this.metrics.map((l) => JSON.parse(l) as T);
  }

  truncateMetrics(keep: (line: Record<string, unknown>) => boolean): void {
    this.metrics = this.metrics.filter((l) => keep(JSON.parse(l) as Record<string, unknown>));
  }

  async writeCheckpoint(epoch: number, model: tfl.LayersModel, optimizer: tf.Optimizer, state: object, meta: ModelMeta): Promise<void> {
    const named = await optimizer.getWeights();
    const optimizerCopy = named.map((w) => ({ name: w.name, tensor: tf.keep(tf.clone(w.tensor)) }));
    // getWeights() makes a fresh 'iter' scalar each call; the rest are the optimiser's own variables.
    for (const w of named) if (w.name === 'iter') w.tensor.dispose();
    const next = { epoch, model: snapshot(model, meta), optimizer: optimizerCopy, state: JSON.stringify({ epoch, ...state }) };
    this.disposeCheckpoint();
    this.checkpoint = next;
  }

  latestCheckpoint(): CheckpointRef | undefined {
    return this.checkpoint && { epoch: this.checkpoint.epoch, location: `memory:e-${String(this.checkpoint.epoch).padStart(4, '0')}` };
  }

  async restoreCheckpoint(_ckpt: CheckpointRef, model: tfl.LayersModel, optimizer: tf.Optimizer): Promise<LoopState> {
    const c = this.checkpoint;
    if (!c) throw new AdvlabError('E_CONFIG', 'MemoryTrainingStore.restoreCheckpoint: expected a stored checkpoint, found none');
    const parsed = parseLoopState(JSON.parse(c.state));
    if ('problem' in parsed) throw new RunCorruptError(`memory:${c.epoch} state`, parsed.problem.expected, parsed.problem.found);
    model.setWeights(c.model.weights);
    await optimizer.setWeights(c.optimizer); // copies into the optimiser's own variables
    return parsed.state;
  }

  async saveModelAs(slot: 'best' | 'model', model: tfl.LayersModel, meta: ModelMeta): Promise<void> {
    const old = this.models.get(slot);
    this.models.set(slot, snapshot(model, meta));
    if (old) tf.dispose(old.weights);
  }

  /** The weights and metadata saved under `slot`, or undefined. The tensors stay owned by the store. */
  savedModel(slot: 'best' | 'model'): Readonly<Snapshot> | undefined {
    return this.models.get(slot);
  }

  /** Frees the stored weight copies (checkpoint and saved models); metrics lines are kept. */
  dispose(): void {
    this.disposeCheckpoint();
    for (const s of this.models.values()) tf.dispose(s.weights);
    this.models.clear();
  }

  private disposeCheckpoint(): void {
    if (!this.checkpoint) return;
    tf.dispose(this.checkpoint.model.weights);
    tf.dispose(this.checkpoint.optimizer.map((w) => w.tensor));
    this.checkpoint = undefined;
  }
}

function snapshot(model: tfl.LayersModel, meta: ModelMeta): Snapshot {
  return { weights: model.getWeights().map((w) => tf.keep(tf.clone(w))), meta: structuredClone(meta) };
}
