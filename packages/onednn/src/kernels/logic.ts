/**
 * Comparisons (Less, LessEqual, Greater, GreaterEqual, Equal, NotEqual) and LogicalAnd / LogicalOr with numpy
 * broadcasting, LogicalNot, and Select (native/src/elementwise.cc). Attacks mask with these every step
 * ([n, d] against per-example [n, 1] thresholds): tf.js's cpu kernels compute every broadcast index through
 * indexToLoc / locToIndex, ~8 ms for [420, 784]. Comparisons take float32, int32 or bool operands (both
 * alike, as tf.js's ops make them); outputs are bool, a fresh Uint8Array of 0 / 1 as MathBackendCPU stores it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon, Stored } from '../native.ts';
import { broadcastPlan, type BroadcastPlan } from './elementwise.ts';
import { storedOutput, storedValues, type NativeKernel, type StoredDtype } from './util.ts';

/** Comparison codes of the addon (native/src/elementwise.cc, enum Compare). */
export const COMPARE_OPS: readonly [string, number][] = [
  [tf.Less, 0],
  [tf.LessEqual, 1],
  [tf.Greater, 2],
  [tf.GreaterEqual, 3],
  [tf.Equal, 4],
  [tf.NotEqual, 5],
];

const LOGICAL_OPS: readonly [string, number][] = [
  [tf.LogicalAnd, 0],
  [tf.LogicalOr, 1],
];

/**
 * A binary kernel with numpy broadcasting and a bool result, given the native call for the collapsed plan; `accepts`
 * says which operand dtypes it handles (anything else runs the cpu kernel).
 */
function broadcastToBool(
  name: string,
  accepts: (a: TensorInfo, b: TensorInfo, av: Stored, bv: Stored) => boolean,
  call: (native: NativeAddon, av: Stored, bv: Stored, out: Uint8Array, plan: BroadcastPlan) => void,
): NativeKernel {
  return {
    name,
    impl: ({ inputs, backend }, native) => {
      const { a, b } = inputs;
      const av = storedValues(backend, a),
        bv = storedValues(backend, b);
      if (!a || !b || !av || !bv || av.byteLength === 0 || bv.byteLength === 0 || !accepts(a, b, av, bv)) return null;
      const plan = broadcastPlan(a.shape, b.shape);
      if (!plan) return null;
      return storedOutput<Uint8Array>(backend, plan.outShape, 'bool', (out) => call(native, av, bv, out, plan));
    },
  };
}

export const logicKernels: readonly NativeKernel[] = [
  ...COMPARE_OPS.map(([name, op]) =>
    broadcastToBool(
      name,
      (a, b) => a.dtype === b.dtype,
      (native, av, bv, out, plan) => native.compare(op, av, bv, out, plan.dims, plan.stridesA, plan.stridesB),
    ),
  ),
  ...LOGICAL_OPS.map(([name, op]) =>
    broadcastToBool(
      name,
      (a, b, av, bv) => a.dtype === 'bool' && b.dtype === 'bool' && av instanceof Uint8Array && bv instanceof Uint8Array,
      (native, av, bv, out, plan) => native.logical(op, av as Uint8Array, bv as Uint8Array, out, plan.dims, plan.stridesA, plan.stridesB),
    ),
  ),
  {
    name: tf.LogicalNot,
    impl: ({ inputs, backend }, native) => {
      const { x } = inputs;
      const xv = storedValues(backend, x);
      if (x?.dtype !== 'bool' || !(xv instanceof Uint8Array) || xv.length === 0) return null;
      return storedOutput<Uint8Array>(backend, x.shape, 'bool', (out) => native.logicalNot(xv, out, xv.length));
    },
  },
  {
    // Only for a condition of t's shape, as tf.where passes it (it broadcasts all three first): tf.js's cpu
    // kernel with a rank-1 condition over a higher-rank t repeats t[i] along each row, which we do not copy.
    name: tf.Select,
    impl: ({ inputs, backend }, native) => {
      const { condition, t, e } = inputs;
      const cv = storedValues(backend, condition),
        tv = storedValues(backend, t),
        ev = storedValues(backend, e);
      if (!condition || !t || !e || condition.dtype !== 'bool' || !(cv instanceof Uint8Array) || !tv || !ev) return null;
      if (t.dtype !== e.dtype || !util.arraysEqual(condition.shape, t.shape) || !util.arraysEqual(t.shape, e.shape)) return null;
      if (tv.length === 0) return null;
      return storedOutput(backend, t.shape, t.dtype as StoredDtype, (out) => native.select(cv, tv, ev, out, tv.length));
    },
  },
];
