import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.ts';
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
