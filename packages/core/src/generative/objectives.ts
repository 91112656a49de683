/**
 * What an attack on an autoencoder minimises, per example, to move x + δ toward a target image x_t:
 * - latent: KL(q(z|x+δ) ‖ q(z|x_t)) for a VAE (Tabacof et al. 2016), or ‖μ(x+δ) − μ(x_t)‖₂ (an autoencoder's code,
 *   or a VAE with `latentMeasure: 'l2'`);
 * - output: ‖rec(x+δ) − x_t‖₂, rec being the deterministic reconstruction σ(decoder(μ(x)));
 * - classifier (Kos et al. 2017): the cross-entropy of a classifier on rec(x+δ) toward x_t's class.
 * The target's own encoding is computed once (`prepare`) and kept until `dispose`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.ts';
import type { Classifier } from '../models/classifier.ts';
import type { Autoencoder } from './model.ts';

/** The attacks' aims, in the order help text lists them. */
export type GenerativeAttackKind = 'latent' | 'output' | 'classifier';
/** Every GenerativeAttackKind. */
export const GENERATIVE_ATTACKS: readonly GenerativeAttackKind[] = ['latent', 'output', 'classifier'];

/** How the latent attack compares posteriors: KL between the Gaussians (VAE only) or L2 between their means. */
export type LatentMeasure = 'kl' | 'l2';

/** A distance to minimise, per example of a batch of candidates [n, ...] → [n]; `dispose` frees the target's tensors. */
export interface GenerativeObjective {
  readonly kind: GenerativeAttackKind;
  /** Per-example distance to minimise, [n], for candidates [n, ...]. */
  distance(xAdv: tf.Tensor4D): tf.Tensor1D;
  /** Frees the target's precomputed tensors. */
  dispose(): void;
}

/** Where the attack aims: the target images and, for the classifier-judged attack, their classes and the judge. */
export interface GenerativeTarget {
  /** x_t, one per source image [n, h, w, c]; stays the caller's. */
  xt: tf.Tensor4D;
  /** The classes of x_t (int32 [n]); the classifier-judged attack aims at them. */
  labels?: tf.Tensor1D;
  classifier?: Classifier;
}

/** ‖a − b‖₂ per example, with a floor inside the root so its gradient at a = b is finite (0). */
export function rowDistance(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.add(tf.sum(tf.reshape(tf.square(tf.sub(a, b)), [a.shape[0]!, -1]), 1), 1e-12)) as tf.Tensor1D);
}

/** KL(N(μa, e^{lva}) ‖ N(μb, e^{lvb})) per example, diagonal Gaussians [n, k]. */
export function gaussianKl(meanA: tf.Tensor2D, logVarA: tf.Tensor2D, meanB: tf.Tensor2D, logVarB: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.mul(
        0.5,
        tf.sum(
          tf.sub(tf.add(tf.sub(logVarB, logVarA), tf.div(tf.add(tf.exp(logVarA), tf.square(tf.sub(meanA, meanB))), tf.exp(logVarB))), 1),
          1,
        ),
      ) as tf.Tensor1D,
  );
}

/** The objective of `kind` toward `target`; ConfigError when the kind needs what is missing (a classifier, labels, a VAE). */
export function generativeObjective(
  kind: GenerativeAttackKind,
  ae: Autoencoder,
  target: GenerativeTarget,
  opts: { latentMeasure?: LatentMeasure } = {},
): GenerativeObjective {
  if (kind === 'latent') {
    const measure = opts.latentMeasure ?? (ae.spec.kind === 'vae' ? 'kl' : 'l2');
    if (measure === 'kl' && ae.spec.kind !== 'vae')
      throw new ConfigError('latentMeasure', "'l2' for an autoencoder (its code has no variance)", "'kl'");
    const q = tf.tidy(() => {
      const p = ae.encode(target.xt);
      return [p.mean, p.logVar ?? p.mean];
    });
    const [mt, lvt] = q as [tf.Tensor2D, tf.Tensor2D];
    return {
      kind,
      distance: (xAdv) =>
        tf.tidy(() => {
          const p = ae.encode(xAdv);
          return measure === 'kl' ? gaussianKl(p.mean, p.logVar!, mt, lvt) : rowDistance(p.mean, mt);
        }),
      dispose: () => tf.dispose(q),
    };
  }
  if (kind === 'output') {
    return { kind, distance: (xAdv) => tf.tidy(() => rowDistance(ae.reconstruct(xAdv), target.xt)), dispose: () => {} };
  }
  if (kind === 'classifier') {
    const { classifier, labels } = target;
    if (!classifier) throw new ConfigError('classifier', 'a classifier to judge reconstructions (--classifier DIR)', 'none');
    if (!labels) throw new ConfigError('targetLabels', "the target images' classes", 'none');
    const oneHot = tf.tidy(() => tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, classifier.numClasses));
    return {
      kind,
      distance: (xAdv) =>
        tf.tidy(() => {
          const logits = classifier.logits(ae.reconstruct(xAdv));
          return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
        }),
      dispose: () => oneHot.dispose(),
    };
  }
  throw new ConfigError('attack', GENERATIVE_ATTACKS.join(', '), String(kind));
}
