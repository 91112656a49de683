/**
 * Elementwise float32 kernels (native/src/elementwise.cc): unary maps, binary ops with numpy broadcasting,
 * AddN, FusedBatchNorm (normalisation with given statistics), and ZerosLike. Broadcasting is planned here:
 * dimensions are right-aligned, size-1 output dimensions dropped,
 * and neighbouring dimensions with the same broadcast pattern merged; anything that still needs more than
 * four dimensions falls back to the cpu kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { float32Values, nativeOutput, type NativeKernel } from './util.ts';

/** Unary op codes of the addon; `params` maps the kernel's attrs to the op's two scalars. */
const UNARY: readonly [string, number, ((attrs: Record<string, unknown>) => [number, number])?][] = [
  [tf.Relu, 0],
  [tf.Step, 1, (a) => [Number(a.alpha ?? 0), 0]],
  [tf.Sign, 2],
  [tf.ClipByValue, 3, (a) => [Number(a.clipValueMin), Number(a.clipValueMax)]],
  [tf.Neg, 4],
  [tf.Exp, 5],
  [tf.Log, 6],
  [tf.Square, 7],
  [tf.Abs, 8],
  [tf.Sqrt, 9],
  [tf.Sigmoid, 10],
  [tf.Tanh, 11],
  [tf.Relu6, 12],
  [tf.LeakyRelu, 13, (a) => [Number(a.alpha ?? 0.2), 0]],
  [tf.Elu, 14],
  [tf.Rsqrt, 15],
];

const BINARY: readonly [string, number][] = [
  [tf.Add, 0],
  [tf.Sub, 1],
  [tf.Multiply, 2],
  [tf.RealDiv, 3],
  [tf.Maximum, 4],
  [tf.Minimum, 5],
  [tf.SquaredDifference, 6],
];

export interface BroadcastPlan {
  outShape: number[];
  dims: Int32Array;
  stridesA: Int32Array;
  stridesB: Int32Array;
}

/** How to walk a and b for out = f(a, b) with numpy broadcasting, in at most 4 collapsed dims; or null. */
export function broadcastPlan(aShape: number[], bShape: number[]): BroadcastPlan | null {
  let outShape: number[];
  try {
    outShape = backend_util.assertAndGetBroadcastShape(aShape, bShape);
  } catch {
    return null; // incompatible shapes: let the cpu kernel throw its usual error
  }
  const r = outShape.length;
  const groups: { size: number; aFull: boolean; bFull: boolean }[] = [];
  for (let i = 0; i < r; i++) {
    const d = outShape[i]!;
    if (d === 1) continue;
    const ad = aShape[i - (r - aShape.length)] ?? 1;
    const bd = bShape[i - (r - bShape.length)] ?? 1;
    const aFull = ad === d,
      bFull = bd === d;
    const last = groups[groups.length - 1];
    if (last && last.aFull === aFull && last.bFull === bFull) last.size *= d;
    else groups.push({ size: d, aFull, bFull });
  }
  if (groups.length > 4) return null;
  while (groups.length < 4) groups.unshift({ size: 1, aFull: true, bFull: true });
  const dims = new Int32Array(4),
    stridesA = new Int32Array(4),
    stridesB = new Int32Array(4);
  let accA = 1,
    accB = 1;
  for (let i = 3; i >= 0; i--) {
    const g = groups[i]!;
    dims[i] = g.size;
    stridesA[i] = g.aFull ? accA : 0;
    stridesB[i] = g.bFull ? accB : 0;
    if (g.aFull) accA *= g.size;
    if (g.bFull) accB *= g.size;
  }
  return { outShape, dims, stridesA, stridesB };
}

export const elementwiseKernels: readonly NativeKernel[] = [
  ...UNARY.map(
    ([name, op, params]): NativeKernel => ({
      name,
      impl: ({ inputs, backend, attrs }, native) => {
        const { x } = inputs;
        const xv = float32Values(backend, x);
        if (!x || !xv || xv.length === 0) return null;
        const [p0, p1] = params ? params(attrs as Record<string, unknown>) : [0, 0];
        return nativeOutput(backend, x.shape, (out) => native.unary(op, xv, out, xv.length, p0, p1));
      },
    }),
  ),
  ...BINARY.map(
    ([name, op]): NativeKernel => ({
      name,
      impl: ({ inputs, backend }, native) => {
        const { a, b } = inputs;
        const av = float32Values(backend, a),
          bv = float32Values(backend, b);
        if (!a || !b || !av || !bv || av.length === 0 || bv.length === 0) return null;
        const plan = broadcastPlan(a.shape, b.shape);
        if (!plan) return null;
        return nativeOutput(backend, plan.outShape, (out) => native.binary(op, av, bv, out, plan.dims, plan.stridesA, plan.stridesB));
      },
    }),
  ),
  {
    // with per-channel (or scalar) statistics, as batch-norm layers have; tf.js's cpu kernel cycles each
    // parameter over the flattened x, which is the same thing for these shapes
    name: tf.FusedBatchNorm,
    impl: ({ inputs, backend, attrs }, native) => {
      const { x, mean, variance, offset, scale } = inputs;
      const xv = float32Values(backend, x);
      if (!x || !xv || xv.length === 0 || x.shape.length === 0) return null;
      const c = x.shape[x.shape.length - 1]!;
      const perChannel = (t: TensorInfo | undefined, fill: number): Float32Array | null => {
        if (!t) return new Float32Array(c).fill(fill);
        const v = float32Values(backend, t);
        if (!v) return null;
        if (v.length === c) return v;
        return v.length === 1 ? new Float32Array(c).fill(v[0]!) : null;
      };
      const m = perChannel(mean, 0),
        va = perChannel(variance, 1),
        o = perChannel(offset, 0),
        s = perChannel(scale, 1);
      if (!mean || !variance || !m || !va || !o || !s) return null;
      const eps = (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
      return nativeOutput(backend, x.shape, (out) => native.batchNorm(xv, m, va, o, s, out, xv.length / c, c, eps));
    },
  },
  {
    // Not for speed: tf.js's gradients create activation-sized zeros (Step's gradient, for every ReLU in a
    // double backprop: ~40 MB per GradAlign step on `cnn`), and the cpu kernel's fresh arrays left malloc's
    // heap resident long after they were freed; a pooled buffer is reused instead.
    name: tf.ZerosLike,
    impl: ({ inputs, backend }) => {
      const { x } = inputs;
      if (x?.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return null;
      return nativeOutput(backend, x.shape, (out) => out.fill(0));
    },
  },
  {
    // tf.js's cpu Cast to float32 from bool or int32 shares the input's storage (no encoding loss), so the "float32"
    // tensor keeps a Uint8Array / Int32Array and every native kernel declines it: a mask cast to float and
    // broadcast over a batch (x · m) ran tf.js's generic broadcasting loop, ~90× slower. Converted here instead.
    name: tf.Cast,
    impl: ({ inputs, backend, attrs }) => {
      const { x } = inputs;
      if (!x || (attrs as { dtype?: string }).dtype !== 'float32' || (x.dtype !== 'bool' && x.dtype !== 'int32')) return null;
      const values = backend.data.get(x.dataId)?.values;
      if (!(values instanceof Uint8Array || values instanceof Int32Array) || values.length !== util.sizeFromShape(x.shape)) return null;
      return nativeOutput(backend, x.shape, (out) => out.set(values));
    },
  },
  {
    name: tf.AddN,
    impl: ({ inputs, backend }, native) => {
      const ts = Object.values(inputs) as TensorInfo[];
      if (ts.length === 0) return null;
      const shape = ts[0]!.shape;
      const vals: Float32Array[] = [];
      for (const t of ts) {
        const v = float32Values(backend, t);
        if (!v || !util.arraysEqual(t.shape, shape)) return null;
        vals.push(v);
      }
      const n = util.sizeFromShape(shape);
      if (n === 0) return null;
      return nativeOutput(backend, shape, (out) => native.addN(vals, out, n));
    },
  },
];
