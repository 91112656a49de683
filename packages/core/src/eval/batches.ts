import * as tf from '@tensorflow/tfjs-core';
import { imageSize, type ImageSet } from '../data/types.ts';

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

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
