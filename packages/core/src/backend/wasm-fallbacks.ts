/**
 * JS fallbacks for kernels that tf.js 4.22's 'wasm' backend does not have but that gradients need.
 *
 * Compared with the 'cpu' backend, 'wasm' lacks (tf.getKernelsForBackend): Conv2DBackpropFilter (see
 * conv2d-backprop-filter.ts), DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput
 * (gradients of depthwise convolutions), UnsortedSegmentSum (gradient of gather), and kernels advlab does
 * not need (Complex, Real, Imag, ComplexAbs, FFT, IFFT, Einsum, Draw, Ragged*, StaticRegexReplace).
 * The three gradient kernels are implemented here over TypedArrays, NHWC, any stride / padding / dilation.
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  getKernel,
  UnsortedSegmentSum,
  util,
} from '@tensorflow/tfjs-core';
import type {
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelFunc,
  TensorInfo,
  UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.ts';
import {
  isJsKernelRegistered,
  type JsKernelBackend,
  makeOutput,
  readFloat32,
  readInt32,
  readValues,
  registerJsKernel,
} from './kernel-io.ts';

/** Range of filter taps k in [0, K) with 0 <= base + k*d < size. */
function tapRange(base: number, d: number, K: number, size: number): [number, number] {
  return [Math.max(0, Math.ceil(-base / d)), Math.min(K, Math.floor((size - 1 - base) / d) + 1)];
}

/** A depthwise convolution's sizes, strides, dilations and padding under short names; M = channel multiplier. */
function depthwiseDims(c: backend_util.Conv2DInfo) {
  return {
    N: c.batchSize,
    H: c.inHeight,
    W: c.inWidth,
    C: c.inChannels,
    OH: c.outHeight,
    OW: c.outWidth,
    CM: c.outChannels,
    M: c.outChannels / c.inChannels,
    KH: c.filterHeight,
    KW: c.filterWidth,
    sh: c.strideHeight,
    sw: c.strideWidth,
    dh: c.dilationHeight,
    dw: c.dilationWidth,
    pt: c.padInfo.top,
    pl: c.padInfo.left,
  };
}

/**
 * Gradient of a depthwise convolution with respect to its filter. x: NHWC [N, H, W, C];
 * dy: [N, OH, OW, C*M]; returns dW [KH, KW, C, M] (convInfo from computeConv2DInfo(..., depthwise=true)).
 */
export function depthwiseConv2dBackpropFilterNHWC(x: Float32Array, dy: Float32Array, convInfo: backend_util.Conv2DInfo): Float32Array {
  const { N, H, W, C, OH, OW, CM, M, KH, KW, sh, sw, dh, dw, pt, pl } = depthwiseDims(convInfo);
  if (x.length !== N * H * W * C || dy.length !== N * OH * OW * CM || !Number.isInteger(M)) {
    throw new ShapeError(
      `DepthwiseConv2dNativeBackpropFilter: expected x [${convInfo.inShape}] and dy [${N},${OH},${OW},${CM}], ` +
        `found ${x.length} and ${dy.length} values`,
    );
  }
  const size = KH * KW * CM;
  const acc = new Float64Array(size);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const [khMin, khMax] = tapRange(ih0, dh, KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const [kwMin, kwMax] = tapRange(iw0, dw, KW, W);
        const dyOff = ((n * OH + oh) * OW + ow) * CM;
        for (let kh = khMin; kh < khMax; kh++) {
          const xRow = (n * H + ih0 + kh * dh) * W * C;
          for (let kw = kwMin; kw < kwMax; kw++) {
            const xOff = xRow + (iw0 + kw * dw) * C;
            const wo = (kh * KW + kw) * CM;
            // dW[kh, kw, c, m] has flat channel index c*M + m, the same as dy's channel
            if (M === 1) {
              for (let ch = 0; ch < C; ch++) acc[wo + ch]! += x[xOff + ch]! * dy[dyOff + ch]!;
            } else {
              for (let ch = 0, d = 0; ch < C; ch++) {
                const xv = x[xOff + ch]!;
                for (let m = 0; m < M; m++, d++) acc[wo + d]! += xv * dy[dyOff + d]!;
              }
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

/**
 * Gradient of a depthwise convolution with respect to its input. dy: [N, OH, OW, C*M]; filter [KH, KW, C, M];
 * returns dx of shape convInfo.inShape = [N, H, W, C].
 */
export function depthwiseConv2dBackpropInputNHWC(dy: Float32Array, filter: Float32Array, convInfo: backend_util.Conv2DInfo): Float32Array {
  const { N, H, W, C, OH, OW, CM, M, KH, KW, sh, sw, dh, dw, pt, pl } = depthwiseDims(convInfo);
  if (dy.length !== N * OH * OW * CM || filter.length !== KH * KW * CM || !Number.isInteger(M)) {
    throw new ShapeError(
      `DepthwiseConv2dNativeBackpropInput: expected dy [${N},${OH},${OW},${CM}] and filter ` +
        `[${KH},${KW},${C},${M}], found ${dy.length} and ${filter.length} values`,
    );
  }
  const dx = new Float32Array(N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const [khMin, khMax] = tapRange(ih0, dh, KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const [kwMin, kwMax] = tapRange(iw0, dw, KW, W);
        const dyOff = ((n * OH + oh) * OW + ow) * CM;
        for (let kh = khMin; kh < khMax; kh++) {
          const xRow = (n * H + ih0 + kh * dh) * W * C;
          for (let kw = kwMin; kw < kwMax; kw++) {
            const xOff = xRow + (iw0 + kw * dw) * C;
            const fo = (kh * KW + kw) * CM;
            if (M === 1) {
              for (let ch = 0; ch < C; ch++) dx[xOff + ch]! += dy[dyOff + ch]! * filter[fo + ch]!;
            } else {
              for (let ch = 0, d = 0; ch < C; ch++) {
                let s = 0;
                for (let m = 0; m < M; m++, d++) s += dy[dyOff + d]! * filter[fo + d]!;
                dx[xOff + ch]! += s;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/**
 * out[s, ...] = Σ_{i : ids[i] = s} x[i, ...] where ids has shape x.shape[0..k) (flattened here) and the
 * trailing `inner` elements of x per id are summed. Ids outside [0, numSegments) are dropped (TF semantics).
 */
export function unsortedSegmentSumValues(
  x: Float32Array | Int32Array,
  ids: Int32Array,
  numSegments: number,
  inner: number,
): Float32Array | Int32Array {
  const out = x instanceof Int32Array ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const xo = i * inner,
      oo = s * inner;
    for (let j = 0; j < inner; j++) out[oo + j]! += x[xo + j]!;
  }
  return out;
}

function depthwiseFilterKernel(backendName: JsKernelBackend): KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
    const convInfo = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      dilations,
      pad,
      dimRoundingMode,
      true,
    );
    const name = DepthwiseConv2dNativeBackpropFilter;
    const dW = depthwiseConv2dBackpropFilterNHWC(
      readFloat32(backendName, args.backend, x, name),
      readFloat32(backendName, args.backend, dy, name),
      convInfo,
    );
    return makeOutput(backendName, args.backend, convInfo.filterShape, 'float32', dW);
  };
}

function depthwiseInputKernel(backendName: JsKernelBackend): KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
    const convInfo = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      dilations,
      pad,
      dimRoundingMode,
      true,
    );
    const name = DepthwiseConv2dNativeBackpropInput;
    const dx = depthwiseConv2dBackpropInputNHWC(
      readFloat32(backendName, args.backend, dy, name),
      readFloat32(backendName, args.backend, filter, name),
      convInfo,
    );
    return makeOutput(backendName, args.backend, convInfo.inShape, 'float32', dx);
  };
}

function unsortedSegmentSumKernel(backendName: JsKernelBackend): KernelFunc {
  return (args) => {
    const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs;
    const k = segmentIds.shape.length;
    if (k > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) {
      throw new ShapeError(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
    }
    const innerShape = x.shape.slice(k);
    const inner = util.sizeFromShape(innerShape);
    const xv = readValues(backendName, args.backend, x, UnsortedSegmentSum);
    const values = x.dtype === 'int32' ? Int32Array.from(xv) : xv instanceof Float32Array ? xv : Float32Array.from(xv);
    const ids = readInt32(backendName, args.backend, segmentIds, UnsortedSegmentSum);
    const out = unsortedSegmentSumValues(values, ids, numSegments, inner);
    const dtype = out instanceof Int32Array ? 'int32' : 'float32';
    return makeOutput(backendName, args.backend, [numSegments, ...innerShape], dtype, out);
  };
}

/** Kernel names `registerWasmFallbacks` provides (besides Conv2DBackpropFilter). */
export const WASM_FALLBACK_KERNELS = [DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput, UnsortedSegmentSum] as const;

/**
 * Register the fallbacks for 'wasm'. A kernel the wasm backend already has (a later tf.js version) is left
 * alone. Idempotent.
 */
export function registerWasmFallbacks(): void {
  const makers: Record<(typeof WASM_FALLBACK_KERNELS)[number], (b: JsKernelBackend) => KernelFunc> = {
    [DepthwiseConv2dNativeBackpropFilter]: depthwiseFilterKernel,
    [DepthwiseConv2dNativeBackpropInput]: depthwiseInputKernel,
    [UnsortedSegmentSum]: unsortedSegmentSumKernel,
  };
  for (const name of WASM_FALLBACK_KERNELS) {
    if (isJsKernelRegistered(name, 'wasm') || getKernel(name, 'wasm')) continue;
    registerJsKernel(name, 'wasm', () => makers[name]('wasm'));
  }
}
