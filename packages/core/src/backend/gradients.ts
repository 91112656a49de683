/**
 * Gradient functions tf.js 4.22 lacks for second-order gradients (the gradient of an input gradient with
 * respect to the weights, as GradAlign needs). They are backend-independent composites of existing ops,
 * registered in tf.js's global gradient registry only where it has no entry of its own.
 *
 * - Greater, Less, LessEqual, Equal, NotEqual, LogicalAnd, LogicalOr, LogicalNot: piecewise constant, zero
 *   gradient (LeakyRelu's and Relu6's gradients are built from them);
 * - EluGrad(dy, y) = dy · (y ≥ 0 ? 1 : y + 1): differentiated in dy and y;
 * - AvgPoolGrad: linear in dy (tf.js's kernels spread dy / (filterHeight·filterWidth) over each window),
 *   so its adjoint is a depthwise convolution with a constant 1 / (fh·fw) filter;
 * - DepthwiseConv2dNativeBackpropInput: linear in dy and filter, like Conv2DBackpropInput's gradient;
 * - ResizeBilinearGrad, ResizeNearestNeighborGrad: the transposes of the resizes, so their adjoints are the
 *   forward resizes.
 *
 * Not provided (second order through them still fails, on every backend): MaxPoolGrad (needs an argmax
 * consistent with the backend's own MaxPoolGrad tie-breaking), Conv2DBackpropFilter and
 * DepthwiseConv2dNativeBackpropFilter (only needed to differentiate a weight gradient).
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

function resizeGradGrad(kernelName: string, resize: typeof tf.image.resizeBilinear): GradConfig {
  return {
    kernelName,
    inputsToSave: ['images', 'dy'],
    gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [images, dy] = saved as [Tensor4D, Tensor4D];
      const { alignCorners, halfPixelCenters } = attrs as unknown as {
        alignCorners: boolean;
        halfPixelCenters: boolean;
      };
      return {
        dy: () => resize(ddx as Tensor4D, [dy.shape[1], dy.shape[2]], alignCorners, halfPixelCenters),
        images: () => tf.zeros(images.shape, 'float32'),
      };
    },
  };
}

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
        tf.engine().runKernel(
          tf.DepthwiseConv2dNativeBackpropFilter,
          { x: g, dy },
          { strides, pad, dilations, dimRoundingMode, filterShape: filter.shape } as unknown as NamedAttrMap,
        ) as Tensor,
    };
  },
};

/** Every gradient config this file provides (registered only where tf.js has none). */
export const EXTRA_GRADIENTS: readonly GradConfig[] = [
  ...[tf.Greater, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual, tf.LogicalAnd, tf.LogicalOr].map((k) =>
    zeroGrads(k, ['a', 'b']),
  ),
  zeroGrads(tf.LogicalNot, ['x']),
  eluGradGrad,
  avgPoolGradGrad,
  depthwiseBackpropInputGrad,
  resizeGradGrad(tf.ResizeBilinearGrad, tf.image.resizeBilinear),
  resizeGradGrad(tf.ResizeNearestNeighborGrad, tf.image.resizeNearestNeighbor),
];

let registered: string[] | null = null;

/**
 * Register the extra gradients where tf.js has none (call after tf.js's own gradients are registered).
 * Idempotent. Returns the kernel names registered by advlab.
 */
export function registerExtraGradients(): string[] {
  if (registered) return registered;
  registered = [];
  for (const config of EXTRA_GRADIENTS) {
    if (tf.getGradient(config.kernelName) != null) continue;
    tf.registerGradient(config);
    registered.push(config.kernelName);
  }
  return registered;
}
