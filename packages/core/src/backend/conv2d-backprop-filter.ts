/**
 * A fast pure-JS Conv2DBackpropFilter (the gradient of conv2d with respect to its filter), NHWC float32.
 *
 * tf.js 4.22's 'wasm' backend has no Conv2DBackpropFilter kernel at all (so conv nets cannot be trained
 * on it) and the 'cpu' backend's one is a naive loop nest that reads every element through
 * `TensorBuffer.get`. This file provides the arithmetic as a function over Float32Arrays and registers it
 * as a tf.js kernel for both backends.
 *
 *   dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·sh − padTop + kh·dh, ow·sw − padLeft + kw·dw, ci] · dy[n, oh, ow, co]
 *
 * Loop order: for each output position (n, oh, ow) the dy row dy[n, oh, ow, :] is contiguous; for each
 * in-bounds filter tap (kh, kw) the input row x[n, ih, iw, :] is contiguous, and for each ci we do an axpy
 * of that dy row into the contiguous dW row dW[kh, kw, ci, :] (unrolled by 8). The whole dW stays in cache,
 * zero inputs (post-ReLU activations) are skipped. Partial sums are accumulated in float32 and flushed
 * into a float64 accumulator every few hundred output positions, so the result stays within ~1e-7 relative
 * of a float64 reference even for large batches.
 */
import { backend_util, Conv2DBackpropFilter, getKernel } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropFilterAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { AdvlabError, ShapeError } from '../errors.ts';
import { isJsKernelRegistered, type JsKernelBackend, makeOutput, readFloat32, registerJsKernel } from './kernel-io.ts';

/** Output positions accumulated in float32 before the partial sums are flushed into float64. */
const FLUSH_EVERY = 256;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Conv2DBackpropFilter over plain arrays. `x` is NHWC with shape `xShape`, `dy` is NHWC with shape `dyShape`
 * = [batch, outHeight, outWidth, outChannels]; `convInfo` comes from `backend_util.computeConv2DInfo(...,
 * 'channelsLast')` and supplies strides, dilations and padding. Returns dW of shape convInfo.filterShape =
 * [filterHeight, filterWidth, inChannels, outChannels].
 */
export function conv2dBackpropFilterNHWC(
  x: Float32Array,
  xShape: readonly number[],
  dy: Float32Array,
  dyShape: readonly number[],
  convInfo: backend_util.Conv2DInfo,
): Float32Array {
  const c = convInfo;
  if (c.dataFormat !== 'channelsLast') {
    throw new ShapeError(`conv2dBackpropFilterNHWC: expected a channelsLast (NHWC) convInfo, found ${c.dataFormat}`);
  }
  const expectedDy = [c.batchSize, c.outHeight, c.outWidth, c.outChannels];
  if (!sameShape(xShape, c.inShape) || !sameShape(dyShape, expectedDy)) {
    throw new ShapeError(
      `conv2dBackpropFilterNHWC: expected x [${c.inShape}] and dy [${expectedDy}], ` +
        `found x [${xShape}] and dy [${dyShape}]`,
    );
  }
  const N = c.batchSize, H = c.inHeight, W = c.inWidth, Ci = c.inChannels;
  const OH = c.outHeight, OW = c.outWidth, Co = c.outChannels;
  const KH = c.filterHeight, KW = c.filterWidth;
  const sh = c.strideHeight, sw = c.strideWidth, dh = c.dilationHeight, dw = c.dilationWidth;
  const pt = c.padInfo.top, pl = c.padInfo.left;
  if (x.length !== N * H * W * Ci || dy.length !== N * OH * OW * Co) {
    throw new ShapeError(
      `conv2dBackpropFilterNHWC: x has ${x.length} values for shape [${xShape}], dy has ${dy.length} for [${dyShape}]`,
    );
  }
  const size = KH * KW * Ci * Co;
  const dW = new Float32Array(size);
  if (size === 0 || N * OH * OW === 0) return dW;
  const acc = new Float64Array(size);
  const Co8 = Co & ~7;
  const wStrideKh = KW * Ci * Co;
  const wStrideKw = Ci * Co;
  let pending = 0;

  for (let n = 0; n < N; n++) {
    const xN = n * H * W * Ci;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      // in-bounds filter rows: 0 <= ih0 + kh*dh <= H-1
      const khMin = Math.max(0, Math.ceil(-ih0 / dh));
      const khMax = Math.min(KH, Math.floor((H - 1 - ih0) / dh) + 1);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kwMin = Math.max(0, Math.ceil(-iw0 / dw));
        const kwMax = Math.min(KW, Math.floor((W - 1 - iw0) / dw) + 1);
        const dyOff = ((n * OH + oh) * OW + ow) * Co;
        for (let kh = khMin; kh < khMax; kh++) {
          const xRow = xN + (ih0 + kh * dh) * W * Ci;
          for (let kw = kwMin; kw < kwMax; kw++) {
            const xOff = xRow + (iw0 + kw * dw) * Ci;
            let wo = kh * wStrideKh + kw * wStrideKw;
            for (let ci = 0; ci < Ci; ci++, wo += Co) {
              const xv = x[xOff + ci]!;
              if (xv === 0) continue;
              let co = 0;
              for (; co < Co8; co += 8) {
                const a = wo + co, b = dyOff + co;
                dW[a] += xv * dy[b]!;
                dW[a + 1] += xv * dy[b + 1]!;
                dW[a + 2] += xv * dy[b + 2]!;
                dW[a + 3] += xv * dy[b + 3]!;
                dW[a + 4] += xv * dy[b + 4]!;
                dW[a + 5] += xv * dy[b + 5]!;
                dW[a + 6] += xv * dy[b + 6]!;
                dW[a + 7] += xv * dy[b + 7]!;
              }
              for (; co < Co; co++) dW[wo + co] += xv * dy[dyOff + co]!;
            }
          }
        }
      }
      pending += OW;
      if (pending >= FLUSH_EVERY) {
        for (let i = 0; i < size; i++) {
          acc[i] += dW[i]!;
          dW[i] = 0;
        }
        pending = 0;
      }
    }
  }
  for (let i = 0; i < size; i++) dW[i] = acc[i]!;
  return dW;
}

/** The conv info tf.js itself would compute for this kernel call (dilations are always 1 for this kernel). */
export function conv2dBackpropFilterInfo(
  xShape: number[],
  attrs: Conv2DBackpropFilterAttrs,
): backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape,
    strides,
    1 /* dilations */,
    pad,
    dimRoundingMode,
    false /* depthwise */,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
}

/**
 * A tf.js KernelFunc for Conv2DBackpropFilter on `backendName`. NHWC only; for NCHW it calls `fallback`
 * (tf.js's own kernel, on cpu) or throws E_BACKEND when there is none (wasm).
 */
export function makeConv2DBackpropFilterKernel(backendName: JsKernelBackend, fallback?: KernelFunc): KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
    if (attrs.dataFormat !== 'NHWC') {
      if (fallback) return fallback(args);
      throw new AdvlabError(
        'E_BACKEND',
        `Conv2DBackpropFilter on '${backendName}': advlab's JS kernel supports dataFormat NHWC only, ` +
          `found ${String(attrs.dataFormat)} (transpose to NHWC or use --backend cpu)`,
      );
    }
    if (x.shape.length !== 4 || dy.shape.length !== 4) {
      throw new ShapeError(
        `Conv2DBackpropFilter: expected rank-4 x and dy, found x [${x.shape}] and dy [${dy.shape}]`,
      );
    }
    const convInfo = conv2dBackpropFilterInfo(x.shape, attrs);
    const xv = readFloat32(backendName, args.backend, x, Conv2DBackpropFilter);
    const dyv = readFloat32(backendName, args.backend, dy, Conv2DBackpropFilter);
    const dW = conv2dBackpropFilterNHWC(xv, x.shape, dyv, dy.shape, convInfo);
    return makeOutput(backendName, args.backend, convInfo.filterShape, 'float32', dW);
  };
}

/**
 * Register advlab's Conv2DBackpropFilter for `backendName`. On cpu it replaces tf.js's kernel (which is then
 * used only for NCHW); on wasm it is registered only when the backend has none (true of tf.js 4.22).
 * Idempotent. Returns true when it registered something now.
 */
export function registerConv2DBackpropFilter(backendName: JsKernelBackend): boolean {
  if (backendName === 'wasm' && !isJsKernelRegistered(Conv2DBackpropFilter, 'wasm')) {
    if (getKernel(Conv2DBackpropFilter, 'wasm')) return false;
  }
  return registerJsKernel(Conv2DBackpropFilter, backendName, (previous) =>
    makeConv2DBackpropFilterKernel(backendName, previous),
  );
}
