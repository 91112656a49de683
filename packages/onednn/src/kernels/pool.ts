/**
 * MaxPool, AvgPool and their gradients MaxPoolGrad, AvgPoolGrad (NHWC float32). Semantics as tf.js's cpu
 * kernels: average pooling excludes padding, AvgPoolGrad divides by the full window (native/src/pool.cc).
 */
import { AvgPool, AvgPoolGrad, backend_util, MaxPool, MaxPoolGrad, util } from '@tensorflow/tfjs-core';
import { lastPad } from './conv.ts';
import { float32Values, nativeOutput, type NativeKernel } from './util.ts';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Shape4 = [number, number, number, number];

/** The addon's pool parameter block (N,H,W,C,OH,OW,KH,KW,sh,sw,pt,pl,pb,pr), or null. */
export function poolParams(xShape: number[], attrs: PoolAttrs): { p: Int32Array; info: backend_util.Conv2DInfo } | null {
  if (xShape.length !== 4) return null;
  const c = backend_util.computePool2DInfo(xShape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const dims = [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth];
  if (dims.some((d) => !(d > 0))) return null;
  const pt = c.padInfo.top,
    pl = c.padInfo.left;
  // a window must overlap the input (oneDNN rejects padding as large as the window)
  if (pt < 0 || pl < 0 || pt >= c.filterHeight || pl >= c.filterWidth) return null;
  const pb = lastPad(c.inHeight, c.outHeight, c.strideHeight, c.filterHeight, pt);
  const pr = lastPad(c.inWidth, c.outWidth, c.strideWidth, c.filterWidth, pl);
  if (pb === null || pr === null || pb >= c.filterHeight || pr >= c.filterWidth) return null;
  const p = Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    pt,
    pl,
    pb,
    pr,
  ]);
  return { p, info: c };
}

function pool(alg: 0 | 1): NativeKernel['impl'] {
  return ({ inputs, backend, attrs }, native) => {
    const { x } = inputs;
    const xv = float32Values(backend, x);
    const plan = x && xv && poolParams(x.shape, attrs as unknown as PoolAttrs);
    if (!xv || !plan) return null;
    return nativeOutput(backend, plan.info.outShape, (out) => native.pool2d(xv, out, plan.p, alg));
  };
}

export const poolKernels: readonly NativeKernel[] = [
  { name: MaxPool, impl: pool(0) },
  { name: AvgPool, impl: pool(1) },
  {
    name: MaxPoolGrad,
    impl: ({ inputs, backend, attrs }, native) => {
      const { dy, input } = inputs;
      const dyv = float32Values(backend, dy),
        xv = float32Values(backend, input);
      const plan = input && xv && dyv && poolParams(input.shape, attrs as unknown as PoolAttrs);
      if (!dy || !xv || !dyv || !plan || !util.arraysEqual(dy.shape, plan.info.outShape)) return null;
      return nativeOutput(backend, input!.shape, (out) => native.maxPoolBackward(xv, dyv, out, plan.p));
    },
  },
  {
    name: AvgPoolGrad,
    impl: ({ inputs, backend, attrs }, native) => {
      const { dy, input } = inputs;
      const dyv = float32Values(backend, dy);
      const plan = input && dyv && poolParams(input.shape, attrs as unknown as PoolAttrs);
      if (!dy || !dyv || !plan || !util.arraysEqual(dy.shape, plan.info.outShape)) return null;
      return nativeOutput(backend, input!.shape, (out) => native.avgPoolBackward(dyv, out, plan.p));
    },
  },
];
