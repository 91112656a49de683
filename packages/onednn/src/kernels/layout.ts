/**
 * PadV2 and Slice for float32 tensors, Tile and GatherV2 for float32, int32 and bool ones
 * (native/src/layout.cc). tf.js's cpu versions walk element by element with index arithmetic (a
 * [128, 30, 30, 16] slice took ~350 ms — it is the gradient of every zero-padding layer; Tile, in every
 * batch-norm gradient, took ~100 ms a call on a small ResNet, and tf.where tiles its bool condition with it);
 * natively each row is a memcpy. Dimensions copied whole are merged into the one before them first, so rows
 * are long.
 */
import { backend_util, GatherV2, PadV2, Slice, slice_util, Tile, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { float32Values, nativeOutput, storedOutput, storedValues, type NativeKernel, type StoredDtype } from './util.ts';

export interface PadPlan {
  inShape: number[];
  before: number[];
  outShape: number[];
}

/** Merge every unpadded dimension into the one before it. */
export function padPlan(shape: number[], paddings: [number, number][]): PadPlan | null {
  if (shape.length === 0 || paddings.length !== shape.length) return null;
  const inShape: number[] = [],
    before: number[] = [],
    outShape: number[] = [];
  shape.forEach((d, k) => {
    const [b, a] = paddings[k]!;
    if (k > 0 && b === 0 && a === 0) {
      const last = inShape.length - 1;
      inShape[last]! *= d;
      before[last]! *= d;
      outShape[last]! *= d;
    } else {
      inShape.push(d);
      before.push(b);
      outShape.push(b + d + a);
    }
  });
  return inShape.some((d) => d < 1) || before.some((b) => b < 0) ? null : { inShape, before, outShape };
}

export interface SlicePlan {
  inShape: number[];
  begin: number[];
  size: number[];
}

/** Merge every dimension taken whole into the one before it. */
export function slicePlan(shape: number[], begin: number[], size: number[]): SlicePlan | null {
  if (shape.length === 0) return null;
  const inShape: number[] = [],
    b: number[] = [],
    s: number[] = [];
  shape.forEach((d, k) => {
    if (k > 0 && begin[k] === 0 && size[k] === d) {
      const last = inShape.length - 1;
      inShape[last]! *= d;
      b[last]! *= d;
      s[last]! *= d;
    } else {
      inShape.push(d);
      b.push(begin[k]!);
      s.push(size[k]!);
    }
  });
  return s.some((v) => v < 1) ? null : { inShape, begin: b, size: s };
}

export interface TilePlan {
  inShape: number[];
  reps: number[];
}

/** Merge every dimension that is not repeated into the one before it. */
export function tilePlan(shape: number[], reps: number[]): TilePlan | null {
  if (shape.length === 0 || reps.length !== shape.length || reps.some((r) => !(r >= 1))) return null;
  const inShape: number[] = [],
    r: number[] = [];
  shape.forEach((d, k) => {
    if (k > 0 && reps[k] === 1) inShape[inShape.length - 1]! *= d;
    else {
      inShape.push(d);
      r.push(reps[k]!);
    }
  });
  return inShape.some((d) => d < 1) ? null : { inShape, reps: r };
}

export const layoutKernels: readonly NativeKernel[] = [
  {
    name: Tile,
    impl: ({ inputs, backend, attrs }, native) => {
      const { x } = inputs;
      const xv = storedValues(backend, x);
      const { reps } = attrs as unknown as { reps: number[] };
      const plan = x && xv && tilePlan(x.shape, reps);
      if (!x || !xv || !plan) return null;
      const outShape = x.shape.map((d, k) => d * reps[k]!);
      return storedOutput(backend, outShape, x.dtype as StoredDtype, (out) =>
        native.tile(xv, out, Int32Array.from(plan.inShape), Int32Array.from(plan.reps)),
      );
    },
  },
  {
    // tf.js's own reshaping: x as [batch, outer, dim, slice], indices as [batch, n]
    name: GatherV2,
    impl: ({ inputs, backend, attrs }, native) => {
      const { x, indices } = inputs;
      const xv = storedValues(backend, x);
      const iv = storedValues(backend, indices);
      if (!x || !indices || !xv || indices.dtype !== 'int32' || !(iv instanceof Int32Array) || iv.length === 0) return null;
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims?: number };
      let info: ReturnType<typeof backend_util.segment_util.collectGatherOpShapeInfo>;
      try {
        const parsedAxis = util.parseAxisParam(axis, x.shape)[0]!;
        info = backend_util.segment_util.collectGatherOpShapeInfo(x as never, indices as never, parsedAxis, batchDims ?? 0);
      } catch {
        return null; // invalid axis / batchDims: the cpu kernel throws its error
      }
      const { batchSize, outerSize, dimSize, sliceSize, outputShape } = info;
      if (xv.length === 0 || util.sizeFromShape(outputShape) === 0) return null;
      // out-of-range indices: native.gather declines, so the cpu kernel throws its usual error
      return storedOutput(backend, outputShape, x.dtype as StoredDtype, (out) =>
        native.gather(xv, iv, out, batchSize, outerSize, dimSize, sliceSize, iv.length / batchSize),
      );
    },
  },
  {
    name: PadV2,
    impl: ({ inputs, backend, attrs }, native) => {
      const { x } = inputs;
      const xv = float32Values(backend, x);
      const { paddings, constantValue } = attrs as unknown as { paddings: [number, number][]; constantValue: number };
      const plan = x && xv && padPlan(x.shape, paddings);
      if (!x || !xv || !plan) return null;
      const outShape = x.shape.map((d, k) => paddings[k]![0] + d + paddings[k]![1]);
      return nativeOutput(backend, outShape, (out) =>
        native.pad(
          xv,
          out,
          Int32Array.from(plan.inShape),
          Int32Array.from(plan.before),
          Int32Array.from(plan.outShape),
          constantValue ?? 0,
        ),
      );
    },
  },
  {
    name: Slice,
    impl: ({ inputs, backend, attrs }, native): TensorInfo | null => {
      const { x } = inputs;
      const xv = float32Values(backend, x);
      if (!x || !xv) return null;
      const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
      const [$begin, $size] = slice_util.parseSliceParams(x as never, begin, size) as [number[], number[]];
      slice_util.assertParamsValid(x as never, $begin, $size);
      const plan = slicePlan(x.shape, $begin, $size);
      if (!plan) return null;
      return nativeOutput(backend, $size, (out) =>
        native.slice(xv, out, Int32Array.from(plan.inShape), Int32Array.from(plan.begin), Int32Array.from(plan.size)),
      );
    },
  },
];
