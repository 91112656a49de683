/** Small autoencoders with known behaviour, for the generative tests (not exported from the package). */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { autoencoderOf, resolveAutoencoderSpec, type Autoencoder, type AutoencoderKind } from './model.ts';

/** A smooth (tanh) dense VAE or AE on [h, w, 1] images with the combined [x, z] layout, seeded. */
export function tinyAutoencoder(kind: AutoencoderKind, latentDim = 2, shape: [number, number, number] = [2, 3, 1], seed = 3): Autoencoder {
  const d = shape[0] * shape[1] * shape[2];
  const init = (s: number) => tfl.initializers.randomNormal({ mean: 0, stddev: 0.6, seed: seed * 10 + s });
  const encoder = tfl.sequential({
    name: 'encoder',
    layers: [
      tfl.layers.flatten({ inputShape: shape }),
      tfl.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: init(1), biasInitializer: init(2) }),
      tfl.layers.dense({ units: kind === 'vae' ? 2 * latentDim : latentDim, kernelInitializer: init(3), biasInitializer: init(4) }),
    ],
  });
  const decoder = tfl.sequential({
    name: 'decoder',
    layers: [
      tfl.layers.dense({ inputShape: [latentDim], units: 5, activation: 'tanh', kernelInitializer: init(5), biasInitializer: init(6) }),
      tfl.layers.dense({ units: d, kernelInitializer: init(7), biasInitializer: init(8) }),
      tfl.layers.reshape({ targetShape: shape }),
    ],
  });
  const x = tfl.input({ shape });
  const z = tfl.input({ shape: [latentDim] });
  const model = tfl.model({
    name: kind,
    inputs: [x, z],
    outputs: [encoder.apply(x) as tfl.SymbolicTensor, decoder.apply(z) as tfl.SymbolicTensor],
  });
  return autoencoderOf(model, resolveAutoencoderSpec(kind, { latentDim }));
}

/** rec(x) = x and code = x: the autoencoder that copies its input (an interface object; it has no weights). */
export function identityAutoencoder(shape: [number, number, number]): Autoencoder {
  const d = shape[0] * shape[1] * shape[2];
  return {
    spec: resolveAutoencoderSpec('ae', { latentDim: d }),
    inputShape: shape,
    model: undefined as unknown as tfl.LayersModel,
    encode: (x) => ({ mean: tf.reshape(x, [x.shape[0], d]) as tf.Tensor2D }),
    decodeLogits: (z) =>
      tf.tidy(
        () =>
          tf.reshape(tf.log(tf.div(tf.clipByValue(z, 1e-6, 1 - 1e-6), tf.sub(1, tf.clipByValue(z, 1e-6, 1 - 1e-6)))), [
            z.shape[0],
            ...shape,
          ]) as tf.Tensor4D,
      ),
    reconstruct: (x) => tf.clone(x),
  };
}

/** rec(x) = 0.5 everywhere and a code that ignores x: the autoencoder nothing can move. */
export function constantAutoencoder(shape: [number, number, number]): Autoencoder {
  return {
    spec: resolveAutoencoderSpec('ae', { latentDim: 1 }),
    inputShape: shape,
    model: undefined as unknown as tfl.LayersModel,
    // 0·x keeps the input on the gradient tape: an attack's gradient is 0, not an error.
    encode: (x) => ({ mean: tf.tidy(() => tf.mul(tf.sum(tf.reshape(x, [x.shape[0], -1]), 1, true), 0)) as tf.Tensor2D }),
    decodeLogits: (z) => tf.tidy(() => tf.zeros([z.shape[0], ...shape])) as tf.Tensor4D,
    reconstruct: (x) => tf.tidy(() => tf.add(tf.mul(x, 0), 0.5)) as tf.Tensor4D,
  };
}
