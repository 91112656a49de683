import { ShapeError } from '../errors.ts';

/** Images NHWC, float32 in [0,1], row-major; labels int in [0, numClasses). */
export interface ImageSet {
  images: Float32Array;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
}

/** A named classification task split into train and test sets; `classNames[k]` is the name of label k. */
export interface Dataset {
  name: string;
  train: ImageSet;
  test: ImageSet;
  numClasses: number;
  classNames: string[];
}

/** Number of floats in one image: height × width × channels. */
export function imageSize(set: Pick<ImageSet, 'height' | 'width' | 'channels'>): number {
  return set.height * set.width * set.channels;
}

/** Images [start, start+count) of `set`, as views on the same buffers (no copy). */
export function subset(set: ImageSet, start: number, count: number): ImageSet {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > set.n) {
    throw new ShapeError(`subset: expected 0 <= start and start + count <= n = ${set.n}, found start ${start}, count ${count}`);
  }
  const size = imageSize(set);
  return {
    images: set.images.subarray(start * size, (start + count) * size),
    labels: set.labels.subarray(start, start + count),
    n: count,
    height: set.height,
    width: set.width,
    channels: set.channels,
  };
}

/** The images at `indices` (in that order, repeats allowed), copied into new buffers. */
export function take(set: ImageSet, indices: Int32Array | readonly number[]): ImageSet {
  const size = imageSize(set);
  const m = indices.length;
  const images = new Float32Array(m * size);
  const labels = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    const i = indices[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= set.n) {
      throw new ShapeError(`take: expected indices in [0, ${set.n}), found ${i} at position ${j}`);
    }
    images.set(set.images.subarray(i * size, (i + 1) * size), j * size);
    labels[j] = set.labels[i]!;
  }
  return { images, labels, n: m, height: set.height, width: set.width, channels: set.channels };
}

/**
 * Checks that the buffers of `set` agree with its shape and, when `numClasses` is given, that every
 * label is in [0, numClasses). Throws ShapeError. Cheap enough to call on every loaded set.
 */
export function checkImageSet(set: ImageSet, numClasses?: number): void {
  const size = imageSize(set);
  if (set.images.length !== set.n * size) {
    throw new ShapeError(
      `ImageSet: expected images.length = ${set.n}×${set.height}×${set.width}×${set.channels} = ${set.n * size}, found ${set.images.length}`,
    );
  }
  if (set.labels.length !== set.n) {
    throw new ShapeError(`ImageSet: expected labels.length = n = ${set.n}, found ${set.labels.length}`);
  }
  if (numClasses !== undefined) {
    for (let i = 0; i < set.n; i++) {
      const l = set.labels[i]!;
      if (l < 0 || l >= numClasses) throw new ShapeError(`ImageSet: expected labels in [0, ${numClasses}), found ${l} at index ${i}`);
    }
  }
}

/** An empty set with the given image shape. */
export function emptyImageSet(height: number, width: number, channels: number): ImageSet {
  return { images: new Float32Array(0), labels: new Int32Array(0), n: 0, height, width, channels };
}

/**
 * `set` with its [0, 1] pixels mapped linearly into a model's input range [lo, hi] (e.g. [0, 255]), so it
 * can be attacked in the model's own pixel space; the same set when the range is [0, 1]. Labels are shared.
 */
export function toInputRange(set: ImageSet, bounds: readonly [number, number]): ImageSet {
  const [lo, hi] = bounds;
  if (lo === 0 && hi === 1) return set;
  return { ...set, images: set.images.map((v) => lo + v * (hi - lo)) };
}

/** Pixels in a model's input range [lo, hi] mapped back to [0, 1] (for pictures); the inverse of toInputRange. */
export function fromInputRange(values: Float32Array, bounds: readonly [number, number]): Float32Array {
  const [lo, hi] = bounds;
  return lo === 0 && hi === 1 ? values : values.map((v) => (v - lo) / (hi - lo));
}
