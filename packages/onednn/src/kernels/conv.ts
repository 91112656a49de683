/**
 * Convolution kernels: Conv2D, FusedConv2D (bias + activation fused as oneDNN post-ops), and the two
 * gradients Conv2DBackpropInput / Conv2DBackpropFilter. NHWC float32 only; NCHW falls back to the cpu kernel.
 */
import { backend_util, Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, FusedConv2D, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native.ts';
import { activationCode, applyPrelu } from './activation.ts';
import { float32Values, nativeOutput, type KernelArgs, type NativeKernel } from './util.ts';

type Pair = number | [number, number];
type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

/**
 * The addon's conv parameter block from tf.js's conv info, or null when oneDNN cannot express it.
 * oneDNN derives the output size as floor((H + padTop + padBottom − extent) / stride) + 1; tf.js's own
 * padInfo.bottom / right may differ from that by rows no output reads (e.g. 'ceil' rounding, or 'valid'
 * with leftover rows), so the bottom / right padding is recomputed from the output size tf.js chose —
 * zero padding that no window reaches changes nothing.
 */
export function convParams(c: backend_util.Conv2DInfo): Int32Array | null {
  if (c.dataFormat !== 'channelsLast') return null;
  const dims = [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outChannels, c.outHeight, c.outWidth];
  if (dims.some((d) => !(d > 0))) return null;
  const pt = c.padInfo.top,
    pl = c.padInfo.left;
  if (pt < 0 || pl < 0) return null;
  const pb = lastPad(c.inHeight, c.outHeight, c.strideHeight, c.effectiveFilterHeight, pt);
  const pr = lastPad(c.inWidth, c.outWidth, c.strideWidth, c.effectiveFilterWidth, pl);
  if (pb === null || pr === null) return null;
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.outHeight,
    c.outWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    pt,
    pl,
    pb,
    pr,
  ]);
}

/** Trailing padding that makes oneDNN's output-size formula give `out`, or null if none does. */
export function lastPad(size: number, out: number, stride: number, extent: number, lead: number): number | null {
  const pad = Math.max(0, (out - 1) * stride + extent - size - lead);
  return Math.floor((size + lead + pad - extent) / stride) + 1 === out ? pad : null;
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  rounding: Rounding,
  dataFormat: 'NHWC' | 'NCHW' | undefined,
): backend_util.Conv2DInfo | null {
  if (xShape.length !== 4 || filterShape.length !== 4) return null;
  if (dataFormat === 'NCHW') return null;
  if (filterShape[2] !== xShape[3]) return null; // (tf.js's ops reject this; the cpu kernel reports it)
  return backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, strides, dilations, pad, rounding, false, 'channelsLast');
}

interface ConvAttrs {
  strides: Pair;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: Pair;
  dimRoundingMode?: Rounding;
  activation?: string;
  leakyreluAlpha?: number;
  inputShape?: number[];
  filterShape?: number[];
}

function forward({ inputs, backend, attrs }: KernelArgs, native: NativeAddon, fused: boolean): TensorInfo | null {
  const a = attrs as unknown as ConvAttrs;
  const { x, filter, bias, preluActivationWeights } = inputs;
  const xv = float32Values(backend, x),
    wv = float32Values(backend, filter);
  if (!x || !filter || !xv || !wv) return null;
  const info = convInfo(x.shape, filter.shape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, a.dataFormat);
  const p = info && convParams(info);
  if (!info || !p) return null;
  let bv: Float32Array | null = null;
  if (fused && bias) {
    // a per-output-channel bias ([OC] or [1, ..., OC]) fuses; other broadcasts go to the cpu kernel
    bv = float32Values(backend, bias);
    if (!bv || bv.length !== info.outChannels || bias.shape[bias.shape.length - 1] !== info.outChannels) return null;
  }
  const activation = fused ? a.activation : undefined;
  const isPrelu = activation === 'prelu';
  const code = isPrelu ? 0 : activationCode(activation);
  if (code === null || (isPrelu && !preluActivationWeights)) return null;
  const y = nativeOutput(backend, info.outShape, (out) => native.conv2d(xv, wv, bv, out, p, code, a.leakyreluAlpha ?? 0.2));
  return isPrelu ? applyPrelu(backend, y, preluActivationWeights!) : y;
}

export const convKernels: readonly NativeKernel[] = [
  { name: Conv2D, impl: (args, native) => forward(args, native, false) },
  { name: FusedConv2D, impl: (args, native) => forward(args, native, true) },
  {
    name: Conv2DBackpropInput,
    impl: ({ inputs, backend, attrs }, native) => {
      const a = attrs as unknown as ConvAttrs;
      const { dy, filter } = inputs;
      const dyv = float32Values(backend, dy),
        wv = float32Values(backend, filter);
      if (!dy || !filter || !dyv || !wv || !a.inputShape) return null;
      const info = convInfo(a.inputShape, filter.shape, a.strides, 1, a.pad, a.dimRoundingMode, a.dataFormat);
      const p = info && convParams(info);
      if (!info || !p || !util.arraysEqual(dy.shape, info.outShape)) return null;
      return nativeOutput(backend, info.inShape, (out) => native.conv2dBackwardData(dyv, wv, out, p));
    },
  },
  {
    name: Conv2DBackpropFilter,
    impl: ({ inputs, backend, attrs }, native) => {
      const a = attrs as unknown as ConvAttrs;
      const { x, dy } = inputs;
      const xv = float32Values(backend, x),
        dyv = float32Values(backend, dy);
      if (!x || !dy || !xv || !dyv || !a.filterShape) return null;
      const info = convInfo(x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, a.dataFormat);
      const p = info && convParams(info);
      if (!info || !p || !util.arraysEqual(dy.shape, info.outShape)) return null;
      return nativeOutput(backend, info.filterShape, (out) => native.conv2dBackwardFilter(xv, dyv, out, p));
    },
  },
];
