import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.ts';
import { imageSize, type ImageSet } from '../data/types.ts';
import { readHost, type HostSteps } from '../attacks/run.ts';

/** A batch of `set` at `indices` as tensors [m,h,w,c] float32 and [m] int32 (caller disposes). */
export function batchTensors(set: ImageSet, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const size = imageSize(set);
  const m = indices.length;
  const buf = new Float32Array(m * size);
  const lab = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    const i = indices[j]!;
    buf.set(set.images.subarray(i * size, (i + 1) * size), j * size);
    lab[j] = set.labels[i]!;
  }
  return { x: tf.tensor4d(buf, [m, set.height, set.width, set.channels]), y: tf.tensor1d(lab, 'int32') };
}

/** Splits [0..count) or an index list into consecutive chunks of at most `size`. */
export function chunks(indices: ArrayLike<number>, size: number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < indices.length; s += size)
    out.push(Array.from({ length: Math.min(size, indices.length - s) }, (_, j) => indices[s + j]!));
  return out;
}

/** The indices 0, 1, …, n − 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Labelled examples as tensors: images x [n,h,w,c] in the model's pixel space and integer labels y [n]. */
export interface LabelledTensors {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** What an evaluation reads examples from: an ImageSet, or tensors (which stay the caller's). */
export type EvalData = ImageSet | LabelledTensors;

/** Batches of an `EvalData`, whichever form it has. */
export interface BatchSource {
  readonly n: number;
  /** The batch at `indices` as new tensors (caller disposes): x float32 [m,h,w,c], y int32 [m]. */
  batch(indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D };
  /** The labels of the first `count` examples. */
  labels(count: number): HostSteps<Int32Array>;
}

/** True if `data` is an ImageSet (host arrays) rather than tensors `{ x, y }`. */
export function isImageSet(data: EvalData): data is ImageSet {
  return 'images' in data;
}

/** A batch source over `data`; tensors are validated (ShapeError) and never disposed. */
export function batchSource(data: EvalData): BatchSource {
  if (isImageSet(data)) {
    return {
      n: data.n,
      batch: (indices) => batchTensors(data, indices),
      // biome-ignore lint/correctness/useYield: an ImageSet's labels are on the host already
      *labels(count) {
        return data.labels.subarray(0, count);
      },
    };
  }
  const { x, y } = data;
  if (x.rank !== 4 || y.rank !== 1 || x.shape[0] !== y.shape[0]) {
    throw new ShapeError(`data: expected images x [n,h,w,c] and labels y [n], found x [${x.shape}] and y [${y.shape}]`);
  }
  return {
    n: x.shape[0],
    batch: (indices) =>
      tf.tidy(() => {
        const idx = tf.tensor1d(Array.from(indices), 'int32');
        return { x: tf.cast(tf.gather(x, idx), 'float32'), y: tf.cast(tf.gather(y, idx), 'int32') };
      }),
    *labels(count) {
      const head = tf.slice(y, 0, count);
      try {
        return Int32Array.from((yield* readHost(head))[0]!);
      } finally {
        head.dispose();
      }
    },
  };
}

/** How an evaluation batches its attacks: see `AttackBatch`. */
export type Batching = 'survivors' | 'blocks';
/** Every Batching. */
export const BATCHINGS: readonly Batching[] = ['survivors', 'blocks'];

/**
 * How an evaluation batches its attacks, and why a shard gets the numbers of the whole run.
 *
 * 'blocks': the first n examples are cut into blocks of `batchSize` consecutive examples: block b holds the examples
 * b·batchSize … (b + 1)·batchSize − 1. The clean pass reads one block per batch. Every attack (each attack of
 * `EvaluateOptions.attacks` at each ε, and each step of the worst-case suite) runs on the survivors of the
 * block (the examples still correctly classified), one batch per block that has any, seeded with
 * `seed · 1000003 + b`. An example's random draws (random starts, Square's windows) and the batch it shares
 * a forward pass with therefore depend only on the examples of its own block, never on what happened to the
 * examples of other blocks.
 *
 * 'survivors' (`survivorBatches`, the default of an unsharded evaluation, and the only rule before sharding): an
 * attack batches all the survivors of the whole set in turn (batch k, seeded `seed · 1000003 + k`, holds the k-th
 * `batchSize` survivors). A batch then straddles blocks, and which examples share it (and its seed) depends on
 * every earlier example's outcome, so no slice of the set can be evaluated alone with the same draws. It stays the
 * default so that every figure documented before sharding reruns unchanged. With one block (n ≤ batchSize) the
 * two rules make the same batches with the same seeds; with more, the draws differ (the figures move within
 * their noise), and an unsharded evaluation with 'blocks' is the one a merge of shards equals.
 *
 * A shard (`shardRange`) is a contiguous run of whole blocks, so it makes exactly the batches, with exactly
 * the seeds, that the unsharded evaluation makes for those examples.
 */
export interface AttackBatch {
  /** The block b (for 'survivors', the batch's place k): the batch is seeded `seed · 1000003 + b`. */
  block: number;
  /** The examples of the batch (indices into the evaluated set), in order. */
  indices: number[];
}

/**
 * The attack batches of `indices` (ascending indices into the evaluated set, e.g. the survivors of the
 * attacks so far): one per block of `batchSize` consecutive examples that holds any of them.
 */
export function attackBatches(indices: ArrayLike<number>, batchSize: number): AttackBatch[] {
  const out: AttackBatch[] = [];
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    const block = Math.floor(i / batchSize);
    const last = out[out.length - 1];
    if (last && last.block === block) last.indices.push(i);
    else out.push({ block, indices: [i] });
  }
  return out;
}

/** The 'survivors' batches of `indices`: consecutive runs of `batchSize`, the k-th seeded as block k. */
export function survivorBatches(indices: ArrayLike<number>, batchSize: number): AttackBatch[] {
  return chunks(indices, batchSize).map((idx, k) => ({ block: k, indices: idx }));
}

/** Shard `index` of `count` (0 ≤ index < count): which slice of the examples an evaluation covers. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** What a valid `I/N` is, in words (the `expected` of the ConfigError for a bad one). */
export const SHARD_EXPECTED = 'I/N: shard I of N, integers with 0 ≤ I < N';

/** The seed of the attack batch of block `block` (see `AttackBatch`). */
export function batchSeed(seed: number, block: number): number {
  return seed * 1000003 + block;
}

/**
 * The examples [start, end) of shard `shard.index` of `shard.count` of an evaluation of the first `n` examples
 * in batches of `batchSize`: the ⌈n / batchSize⌉ blocks (see `AttackBatch`) are dealt out in contiguous runs,
 * shard k getting blocks ⌊k·B / count⌋ … ⌊(k + 1)·B / count⌋ − 1 of the B blocks, so every shard starts on a
 * block boundary, shards differ by at most one block, and together they cover 0 … n − 1 exactly once.
 * Throws ConfigError (key `shard`) for an index outside [0, count) or more shards than blocks (an empty shard).
 */
export function shardRange(n: number, batchSize: number, shard: ShardSpec): { start: number; end: number } {
  const { index, count } = shard;
  const blocks = Math.ceil(n / batchSize);
  const found = `${index}/${count}`;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count)
    throw new ConfigError('shard', SHARD_EXPECTED, found);
  if (count > blocks)
    throw new ConfigError(
      'shard',
      `at most ${blocks} shards: the ${n} examples make ${blocks} batch${blocks === 1 ? '' : 'es'} of ${batchSize}, and a shard holds whole batches`,
      found,
    );
  const first = Math.floor((index * blocks) / count);
  const last = Math.floor(((index + 1) * blocks) / count);
  return { start: first * batchSize, end: Math.min(n, last * batchSize) };
}

/** Parses `I/N` (shard I of N, 0 ≤ I < N, as `advlab eval --shard` takes it); ConfigError (key `shard`) otherwise. */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const spec = m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
  if (!spec || spec.count < 1 || spec.index >= spec.count) throw new ConfigError('shard', SHARD_EXPECTED, JSON.stringify(text));
  return spec;
}
