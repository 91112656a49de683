/**
 * Gradient-registry fixes for second-order gradients (the gradient of an input gradient with respect to
 * the weights, as GradAlign needs) in tf.js 4.22. Backend-independent composites of existing ops.
 *
 * 1. Wrong second-order gradients (tensorflow/tfjs#3252). tf.js's gradients for Exp, Sigmoid, Tanh,
 *    Softmax, LogSoftmax and Elu use the op's saved *output*. The engine saves it as a clone whose tape node
 *    is recorded *before* the op's own node, so when a gradient is differentiated again the clone is not
 *    connected to the input: the part of the second derivative that flows through the saved output is
 *    silently dropped (d/dx Σ(∂/∂z Σ sigmoid(z)²)² comes out with wrong signs; with a single path tf.js
 *    throws "Cannot compute gradient of y=f(x)"). This also breaks logSumExp and anything built on exp.
 *    We re-register those gradients saving the *input* and recomputing the output inside the gradient (one
 *    extra elementwise op per backward pass; first-order results are unchanged). Applied only while
 *    tf.js's registered config still has `outputsToSave`.
 *    Not fixable here: ops implemented with tf.customGrad, whose saved intermediates are not on the tape —
 *    `tf.logSoftmax` and `tf.losses.softmaxCrossEntropy` (second order throws or silently drops the softmax
 *    Hessian term). For second order write log-softmax as `z − tf.logSumExp(z, -1, true)`.
 * 2. Missing gradient functions (registered only where tf.js has none):
 * - Greater, Less, LessEqual, Equal, NotEqual, LogicalAnd, LogicalOr, LogicalNot: piecewise constant, zero
 *   gradient (LeakyRelu's and Relu6's gradients are built from them);
 * - EluGrad(dy, y) = dy · (y ≥ 0 ? 1 : y + 1): differentiated in dy and y;
 * - AvgPoolGrad: linear in dy (tf.js's kernels spread dy / (filterHeight·filterWidth) over each window),
 *   so its adjoint is a depthwise convolution with a constant 1 / (fh·fw) filter;
 * - DepthwiseConv2dNativeBackpropInput: linear in dy and filter, like Conv2DBackpropInput's gradient;
 * - Conv2DBackpropFilter: bilinear in x and dy (the weight Hessian of a conv net differentiates it).
 *
 * Not provided (second order through them still fails, on every backend): MaxPoolGrad (needs an argmax
 * consistent with the backend's own MaxPoolGrad tie-breaking), ResizeBilinearGrad / ResizeNearestNeighborGrad
 * (tf.js's first-order kernels are themselves inconsistent: wasm ignores halfPixelCenters, cpu returns a
 * transposed shape for non-square bilinear inputs), DepthwiseConv2dNativeBackpropFilter (only needed to
 * differentiate a depthwise conv's weight gradient).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs-core';

type Pair = [number, number];
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

function zeroGrads(kernelName: string, inputs: string[]): GradConfig {
  return {
    kernelName,
    inputsToSave: inputs,
    gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) =>
      // tf.js requires float32 gradients even for bool / int32 inputs (cf. its Select gradient)
      Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i]!.shape, 'float32')])),
  };
}

const eluGradGrad: GradConfig = {
  kernelName: tf.EluGrad,
  inputsToSave: ['dy', 'y'],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[]) => {
    const g = ddx as Tensor;
    const [dy, y] = saved as [Tensor, Tensor];
    const pos = () => tf.greaterEqual(y, 0);
    return {
      dy: () => tf.where(pos(), g, tf.mul(g, tf.add(y, 1))),
      y: () => tf.where(pos(), tf.zerosLike(g), tf.mul(g, dy)),
    };
  },
};

const avgPoolGradGrad: GradConfig = {
  kernelName: tf.AvgPoolGrad,
  inputsToSave: ['input'],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = ddx as Tensor4D;
    const [input] = saved as [Tensor];
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
      filterSize: number | Pair;
      strides: number | Pair;
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const [fh, fw] = typeof filterSize === 'number' ? [filterSize, filterSize] : filterSize;
    const channels = g.shape[3];
    return {
      dy: () =>
        tf.tidy(() =>
          tf.depthwiseConv2d(
            g,
            tf.fill([fh, fw, channels, 1], 1 / (fh * fw)) as Tensor4D,
            strides,
            pad as 'valid' | 'same' | number,
            'NHWC',
            1,
            dimRoundingMode,
          ),
        ),
      input: () => tf.zeros(input.shape, 'float32'),
    };
  },
};

const depthwiseBackpropInputGrad: GradConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  inputsToSave: ['dy', 'filter'],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = ddx as Tensor4D;
    const [dy, filter] = saved as [Tensor4D, Tensor4D];
    const { strides, dilations, pad, dimRoundingMode } = attrs as unknown as {
      strides: number | Pair;
      dilations: number | Pair;
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    return {
      dy: () => tf.depthwiseConv2d(g, filter, strides, pad as 'valid' | 'same' | number, 'NHWC', dilations, dimRoundingMode),
      filter: () =>
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: g, dy }, {
          strides,
          pad,
          dilations,
          dimRoundingMode,
          filterShape: filter.shape,
        } as unknown as NamedAttrMap) as Tensor,
    };
  },
};

/**
 * Conv2DBackpropFilter(x, dy) = the filter gradient of a convolution: bilinear in x and dy. Its adjoint in x is the
 * input gradient of a convolution with the upstream filter-shaped tensor as filter, and in dy that convolution's
 * forward pass. Needed to differentiate a weight gradient (weight-Hessian products of a conv net).
 */
const conv2dBackpropFilterGrad: GradConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = ddw as Tensor4D;
    const [x, dy] = saved as [Tensor4D, Tensor4D];
    const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
      strides: number | Pair;
      pad: Pad;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    return {
      x: () =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: g }, {
          strides,
          pad,
          dataFormat,
          dimRoundingMode,
          inputShape: x.shape,
        } as unknown as NamedAttrMap) as Tensor,
      dy: () => tf.conv2d(x, g, strides, pad as 'valid' | 'same' | number, dataFormat === 'NCHW' ? 'NCHW' : 'NHWC', 1, dimRoundingMode),
    };
  },
};

// ---- 1. output-saving gradients, re-registered to recompute the output from the saved input ----

function unary(kernelName: string, grad: (dy: Tensor, x: Tensor, attrs: NamedAttrMap) => Tensor, input = 'x'): GradConfig {
  return {
    kernelName,
    inputsToSave: [input],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => ({
      [input]: () => grad(dy as Tensor, saved[0]!, attrs),
    }),
  };
}

/** Replacements for tf.js gradients that save the op's output (see 1. above). */
export const RECOMPUTE_GRADIENTS: readonly GradConfig[] = [
  unary(tf.Exp, (dy, x) => tf.mul(dy, tf.exp(x))),
  unary(tf.Sigmoid, (dy, x) => {
    const y = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
  }),
  unary(tf.Tanh, (dy, x) => tf.mul(tf.sub(1, tf.square(tf.tanh(x))), dy)),
  unary(
    tf.Softmax,
    (dy, x, attrs) => {
      const { dim } = attrs as unknown as { dim: number };
      const y = tf.softmax(x, dim);
      const dyTimesY = tf.mul(dy, y);
      return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y));
    },
    'logits',
  ),
  unary(
    tf.LogSoftmax,
    (dy, x, attrs) => {
      const { axis } = attrs as unknown as { axis: number };
      return tf.sub(dy, tf.mul(tf.sum(dy, axis, true), tf.softmax(x, axis)));
    },
    'logits',
  ),
  unary(tf.Elu, (dy, x) => tf.engine().runKernel(tf.EluGrad, { dy, y: tf.elu(x) }) as Tensor),
];

/** Every gradient config this file provides (registered only where tf.js has none). */
export const EXTRA_GRADIENTS: readonly GradConfig[] = [
  ...[tf.Greater, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual, tf.LogicalAnd, tf.LogicalOr].map((k) => zeroGrads(k, ['a', 'b'])),
  zeroGrads(tf.LogicalNot, ['x']),
  eluGradGrad,
  avgPoolGradGrad,
  depthwiseBackpropInputGrad,
  conv2dBackpropFilterGrad,
];

let registered: string[] | null = null;

/**
 * Register the fixes (call after tf.js's own gradients are registered): replace tf.js's output-saving
 * gradients while they still save outputs, add the missing ones where tf.js has none. Idempotent.
 * Returns the kernel names whose gradient advlab registered.
 */
export function registerExtraGradients(): string[] {
  if (registered) return registered;
  registered = [];
  for (const config of RECOMPUTE_GRADIENTS) {
    const existing = tf.getGradient(config.kernelName);
    if (existing != null && !(existing.outputsToSave ?? []).some(Boolean)) continue; // fixed upstream
    if (existing != null) tf.unregisterGradient(config.kernelName); // (registerGradient would warn)
    tf.registerGradient(config);
    registered.push(config.kernelName);
  }
  for (const config of EXTRA_GRADIENTS) {
    if (tf.getGradient(config.kernelName) != null) continue;
    tf.registerGradient(config);
    registered.push(config.kernelName);
  }
  return registered;
}
