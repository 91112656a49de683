/**
 * The training objective of the autoencoders: the negative ELBO of a VAE, −E_q[log p(x|z)] + KL(q(z|x) ‖ N(0, I)),
 * with one reparameterised sample z = μ + exp(½ log σ²)·ε, and the plain reconstruction loss of an autoencoder.
 * Every term is per example, in nats, summed over pixels and latent dimensions.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Autoencoder, AutoencoderSpec } from './model.ts';

/** The terms of `negativeElbo`, each [n]. */
export interface ElboTerms {
  /** −log p(x|z) (an autoencoder: at its code). */
  reconstruction: tf.Tensor1D;
  /** KL(q(z|x) ‖ N(0, I)); zeros for an autoencoder. */
  kl: tf.Tensor1D;
  /** reconstruction + β·kl: what training minimises. */
  loss: tf.Tensor1D;
}

function rowSum(t: tf.Tensor): tf.Tensor1D {
  return tf.sum(tf.reshape(t, [t.shape[0]!, -1]), 1) as tf.Tensor1D;
}

/** −log p(x|z) per example for decoder logits, under the spec's likelihood. */
export function negativeLogLikelihood(
  spec: Pick<AutoencoderSpec, 'likelihood' | 'sigma'>,
  logits: tf.Tensor4D,
  x: tf.Tensor4D,
): tf.Tensor1D {
  return tf.tidy(() => {
    if (spec.likelihood === 'bernoulli') {
      // −[x log σ(l) + (1 − x) log(1 − σ(l))] = softplus(l) − x·l, stable for any l; x may be grey (not 0/1).
      return rowSum(tf.sub(tf.softplus(logits), tf.mul(x, logits)));
    }
    const d = x.size / x.shape[0];
    const sq = rowSum(tf.square(tf.sub(x, tf.sigmoid(logits))));
    return tf.add(tf.div(sq, 2 * spec.sigma * spec.sigma), d * Math.log(spec.sigma * Math.sqrt(2 * Math.PI))) as tf.Tensor1D;
  });
}

/** KL(N(μ, diag e^{lv}) ‖ N(0, I)) per example. */
export function klToPrior(mean: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(0.5, tf.sum(tf.sub(tf.add(tf.exp(logVar), tf.square(mean)), tf.add(1, logVar)), 1)) as tf.Tensor1D);
}

/**
 * The negative ELBO (VAE) or reconstruction loss (autoencoder) of `x`. `noise` ([n, latentDim], standard normal)
 * is the reparameterisation's ε: pass it for a deterministic value (tests, finite differences), else give `seed`.
 * `beta` weighs the KL term (1: the ELBO). `encoderInput` (default x) is what the encoder sees: adversarial training
 * encodes x + δ and reconstructs the clean x.
 */
export function negativeElbo(
  ae: Autoencoder,
  x: tf.Tensor4D,
  opts: { noise?: tf.Tensor2D; seed?: number; beta?: number; training?: boolean; encoderInput?: tf.Tensor4D } = {},
): ElboTerms {
  return tf.tidy(() => {
    const q = ae.encode(opts.encoderInput ?? x, opts.training);
    if (!q.logVar) {
      const reconstruction = negativeLogLikelihood(ae.spec, ae.decodeLogits(q.mean, opts.training), x);
      return { reconstruction, kl: tf.zerosLike(reconstruction), loss: reconstruction };
    }
    const eps = opts.noise ?? (tf.randomNormal(q.mean.shape, 0, 1, 'float32', opts.seed) as tf.Tensor2D);
    const z = tf.add(q.mean, tf.mul(tf.exp(tf.mul(0.5, q.logVar)), eps)) as tf.Tensor2D;
    const reconstruction = negativeLogLikelihood(ae.spec, ae.decodeLogits(z, opts.training), x);
    const kl = klToPrior(q.mean, q.logVar);
    return { reconstruction, kl, loss: tf.add(reconstruction, tf.mul(opts.beta ?? 1, kl)) as tf.Tensor1D };
  });
}
