/**
 * TopK and Cumsum along the last axis (native/src/rowwise.cc). tf.js's cpu TopK makes an object per element
 * and sorts with a comparator: 52 ms for [420, 784] with k = 784, which FAB's projection runs every step.
 */
import { Cumsum, TopK, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { float32Values, storedOutput, storedValues, type NativeKernel, type StoredDtype } from './util.ts';

export const rowwiseKernels: readonly NativeKernel[] = [
  {
    // Sorted only: unsorted, tf.js returns the order its selection algorithm leaves. Rows with NaN (and with
    // k < d, a repeated ±∞) are declined by the addon: tf.js's comparator does not order them totally there.
    name: TopK,
    impl: ({ inputs, backend, attrs }, native): TensorInfo[] | null => {
      const { x } = inputs;
      const xv = float32Values(backend, x);
      const { k, sorted } = attrs as unknown as { k: number; sorted: boolean };
      if (!x || !xv || !sorted || x.shape.length === 0 || xv.length === 0) return null;
      const d = x.shape[x.shape.length - 1]!;
      if (!Number.isInteger(k) || k < 1 || k > d) return null;
      const rows = xv.length / d;
      const outShape = [...x.shape.slice(0, -1), k];
      const indices = backend.allocView('int32', rows * k) as Int32Array;
      let values: TensorInfo | null = null;
      try {
        values = storedOutput<Float32Array>(backend, outShape, 'float32', (out) => native.topK(xv, out, indices, rows, d, k));
      } finally {
        if (!values) backend.pool.unused(indices);
      }
      return values && [values, backend.makeTensorInfo(outShape, 'int32', indices)];
    },
  },
  {
    // Only axis = rank − 1: for any other axis the cpu kernel transposes it to the end and back, and there
    // the transposes, not the sum, are the cost.
    name: Cumsum,
    impl: ({ inputs, backend, attrs }, native) => {
      const { x } = inputs;
      const xv = storedValues(backend, x);
      const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
      if (!x || !xv || x.dtype === 'bool' || x.shape.length === 0 || axis !== x.shape.length - 1) return null;
      const n = util.sizeFromShape(x.shape);
      if (n === 0) return null;
      const d = x.shape[x.shape.length - 1]!;
      return storedOutput<Float32Array | Int32Array>(backend, x.shape, x.dtype as StoredDtype, (out) =>
        native.cumsum(xv as Float32Array | Int32Array, out, n / d, d, !!exclusive, !!reverse),
      );
    },
  },
];
