// tfjs-core's Node bundle registers kernels' forward passes only; the gradient registry is filled by
// tfjs-layers' bundle on import. Every module that differentiates imports this file first.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';

/**
 * TopK's gradient, which tf.js does not have: each of the k values is one input element, so d(values) scatters back
 * to the positions in `indices` (the indices output is piecewise constant: no gradient). With it, losses that read
 * ranked logits (DLR) differentiate through tf.topk directly, with no detached host copy per step.
 */
const topKGradient: tf.GradConfig = {
  kernelName: tf.TopK,
  inputsToSave: ['x'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved) => {
    const [x, indices] = saved as [tf.Tensor, tf.Tensor];
    const dValues = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor;
    return {
      x: () =>
        tf.tidy(() => {
          const depth = x.shape[x.shape.length - 1]!;
          // [..., k, K] one-hot rows weighted by d(values) [..., k, 1], summed over the k ranks.
          const spread = tf.mul(tf.oneHot(tf.cast(indices, 'int32'), depth, 1, 0, 'float32'), tf.expandDims(dValues, -1));
          return tf.sum(spread, -2);
        }),
    };
  },
};

if (!tf.getGradient(tf.TopK)) tf.registerGradient(topKGradient);
