/**
 * Sum and Mean over axes that collapse to x[outer, R, inner] (one contiguous block of reduced axes once
 * size-1 dimensions are ignored: last axes, leading axes, or a middle block), and Softmax over the last
 * axis. Other axis patterns, and non-float32 inputs, fall back to the cpu kernels.
 */
import { backend_util, Mean, Softmax, Sum, util } from '@tensorflow/tfjs-core';
import { float32Values, nativeOutput, type NativeKernel } from './util.ts';

export interface ReducePlan {
  outer: number;
  r: number;
  inner: number;
  outShape: number[];
}

/** The [outer, R, inner] view of reducing `axes` of `shape`, or null if the reduced axes are not one block. */
export function reducePlan(shape: number[], axis: number | number[] | undefined, keepDims: boolean): ReducePlan | null {
  // tf.sum(x) passes axis null: every axis
  const axes = util.parseAxisParam(axis ?? (null as unknown as number[]), shape);
  const reduced = new Set(axes);
  // label each non-trivial dimension Reduced / Kept and check the labels read K* R* K*
  let outer = 1,
    r = 1,
    inner = 1;
  let phase = 0; // 0: leading kept, 1: reduced block, 2: trailing kept
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    if (reduced.has(i)) {
      if (phase === 2) return null;
      phase = 1;
      r *= d;
    } else if (phase === 0) {
      outer *= d;
    } else {
      phase = 2;
      inner *= d;
    }
  }
  const [outShape] = backend_util.computeOutAndReduceShapes(shape, axes);
  return { outer, r, inner, outShape: keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape };
}

function reduction(mean: boolean): NativeKernel['impl'] {
  return ({ inputs, backend, attrs }, native) => {
    const { x } = inputs;
    const xv = float32Values(backend, x);
    if (!x || !xv || xv.length === 0) return null;
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const plan = reducePlan(x.shape, axis, keepDims);
    if (!plan) return null;
    return nativeOutput(backend, plan.outShape, (out) => native.reduceSum(xv, out, plan.outer, plan.r, plan.inner, mean ? 1 / plan.r : 1));
  };
}

export const reduceKernels: readonly NativeKernel[] = [
  { name: Sum, impl: reduction(false) },
  { name: Mean, impl: reduction(true) },
  {
    name: Softmax,
    impl: ({ inputs, backend, attrs }, native) => {
      const { logits } = inputs;
      const v = float32Values(backend, logits);
      const { dim } = attrs as unknown as { dim: number };
      if (!logits || !v || v.length === 0 || logits.shape.length === 0) return null;
      const rank = logits.shape.length;
      if (dim !== -1 && dim !== rank - 1) return null;
      const cols = logits.shape[rank - 1]!;
      return nativeOutput(backend, logits.shape, (out) => native.softmax(v, out, v.length / cols, cols));
    },
  },
];
