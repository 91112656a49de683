/**
 * Autoencoders for the generative-robustness tools: a convolutional VAE (Gaussian encoder q(z|x), Bernoulli or
 * Gaussian decoder p(x|z)) and a plain autoencoder with the same layers.
 *
 * Both are stored as ONE tf.js LayersModel with two inputs and two outputs, [x, z] → [encoder(x), decoder(z)],
 * whose nested sub-models are named 'encoder' and 'decoder'. So a model folder, a checkpoint and a resume are
 * exactly those of a classifier, and `autoencoderOf` finds the halves again after loading. The decoder outputs
 * logits; its mean is sigmoid(logits) in [0, 1] for either likelihood.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, ModelFormatError } from '../errors.ts';
import { Rng } from '../util/rng.ts';

/** The generative architectures: a variational autoencoder and a deterministic one. */
export type AutoencoderKind = 'vae' | 'ae';
/** Every AutoencoderKind, in the order help text lists them. */
export const AUTOENCODER_KINDS: readonly AutoencoderKind[] = ['vae', 'ae'];

/** p(x|z): Bernoulli on each pixel (cross-entropy) or Gaussian with a fixed σ (squared error / 2σ²). */
export type Likelihood = 'bernoulli' | 'gaussian';
/** Every Likelihood, for a flag's list of values. */
export const LIKELIHOODS: readonly Likelihood[] = ['bernoulli', 'gaussian'];

/** What an autoencoder is, beyond its weights: stored under `generative` in the model's metadata. */
export interface AutoencoderSpec {
  kind: AutoencoderKind;
  latentDim: number;
  likelihood: Likelihood;
  /** σ of the Gaussian likelihood (ignored by Bernoulli). */
  sigma: number;
}

/** `createAutoencoder`'s options; the spec's fields default to latentDim 16, bernoulli, σ 0.1. */
export interface AutoencoderOptions extends Partial<Omit<AutoencoderSpec, 'kind'>> {
  /** [height, width, channels]; height and width must be multiples of 4 (two stride-2 stages each way). */
  inputShape: [number, number, number];
  seed: number;
}

/** The default latent size, sigma and likelihood. */
export const AUTOENCODER_DEFAULTS = { latentDim: 16, likelihood: 'bernoulli', sigma: 0.1 } as const satisfies Omit<AutoencoderSpec, 'kind'>;

/** One-line descriptions of the layers, for `advlab list`. */
export const AUTOENCODERS: readonly { name: AutoencoderKind; description: string }[] = [
  {
    name: 'vae',
    description:
      'VAE: encoder conv 32@4×4/2 → conv 64@4×4/2 (ReLU, same) → dense 256 → ReLU → dense 2·latent (mean, log-variance); decoder dense 256 → dense 64·h/4·w/4 → deconv 32@4×4/2 → deconv C@4×4/2 → logits',
  },
  { name: 'ae', description: 'autoencoder: the VAE’s layers with a deterministic code of size latent (no sampling, no KL)' },
];

/** True if `name` is a generative architecture ('vae' or 'ae'). */
export function isAutoencoderKind(name: string): name is AutoencoderKind {
  return (AUTOENCODER_KINDS as readonly string[]).includes(name);
}

/** The spec with defaults filled in and every field checked (ConfigError naming the key). */
export function resolveAutoencoderSpec(kind: AutoencoderKind, opts: Partial<Omit<AutoencoderSpec, 'kind'>> = {}): AutoencoderSpec {
  if (!isAutoencoderKind(kind)) throw new ConfigError('model', `one of ${AUTOENCODER_KINDS.join(', ')}`, String(kind));
  const spec = { kind, ...AUTOENCODER_DEFAULTS, ...stripUndefined(opts) };
  if (!Number.isSafeInteger(spec.latentDim) || spec.latentDim < 1)
    throw new ConfigError('latentDim', 'a positive integer', String(spec.latentDim));
  if (!LIKELIHOODS.includes(spec.likelihood)) throw new ConfigError('likelihood', LIKELIHOODS.join(' or '), String(spec.likelihood));
  if (!(spec.sigma > 0) || !Number.isFinite(spec.sigma)) throw new ConfigError('sigma', 'a finite number > 0', String(spec.sigma));
  return spec;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Builds the combined [x, z] → [encoder(x), decoder(z)] model; the same seed gives the same weights. */
export function createAutoencoder(kind: AutoencoderKind, opts: AutoencoderOptions): tfl.LayersModel {
  const spec = resolveAutoencoderSpec(kind, opts);
  const s = opts.inputShape as unknown;
  if (!Array.isArray(s) || s.length !== 3 || !s.every((v) => Number.isSafeInteger(v) && v > 0)) {
    throw new ConfigError('inputShape', '[height, width, channels] of positive integers', JSON.stringify(s));
  }
  const [h, w, c] = opts.inputShape;
  if (h % 4 !== 0 || w % 4 !== 0) throw new ConfigError('model', `${kind} inputs whose height and width are multiples of 4`, `${h}×${w}`);
  if (!Number.isSafeInteger(opts.seed)) throw new ConfigError('seed', 'an integer', String(opts.seed));
  const rng = new Rng(opts.seed);
  const init = () => tfl.initializers.heNormal({ seed: rng.seed() });
  const codeSize = kind === 'vae' ? 2 * spec.latentDim : spec.latentDim;
  const encoder = tfl.sequential({
    name: 'encoder',
    layers: [
      tfl.layers.conv2d({
        inputShape: [h, w, c],
        filters: 32,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 256, activation: 'relu', kernelInitializer: init() }),
      // Small initial codes: a VAE starts near the prior (log-variance ≈ 0) instead of with huge KL terms.
      tfl.layers.dense({ units: codeSize, kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed() }), name: 'code' }),
    ],
  });
  const decoder = tfl.sequential({
    name: 'decoder',
    layers: [
      tfl.layers.dense({ inputShape: [spec.latentDim], units: 256, activation: 'relu', kernelInitializer: init() }),
      tfl.layers.dense({ units: 64 * (h / 4) * (w / 4), activation: 'relu', kernelInitializer: init() }),
      tfl.layers.reshape({ targetShape: [h / 4, w / 4, 64] }),
      tfl.layers.conv2dTranspose({
        filters: 32,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tfl.layers.conv2dTranspose({
        filters: c,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed() }),
        name: 'logits',
      }),
    ],
  });
  const x = tfl.input({ shape: [h, w, c], name: 'x' });
  const z = tfl.input({ shape: [spec.latentDim], name: 'z' });
  return tfl.model({
    name: kind,
    inputs: [x, z],
    outputs: [encoder.apply(x) as tfl.SymbolicTensor, decoder.apply(z) as tfl.SymbolicTensor],
  });
}

/** q(z|x) of a batch: mean [n, k] and, for a VAE, log-variance [n, k] (an autoencoder's code is `mean`). */
export interface Posterior {
  mean: tf.Tensor2D;
  logVar?: tf.Tensor2D;
}

/**
 * An autoencoder as the attacks, metrics and training use it: pure tensor functions (inside the caller's tidy),
 * `training` switching layers' training behaviour (none of the zoo's layers has any today).
 */
export interface Autoencoder {
  readonly spec: AutoencoderSpec;
  readonly inputShape: [number, number, number];
  /** The combined LayersModel that is saved, checkpointed and trained. */
  readonly model: tfl.LayersModel;
  /** q(z|x) of a batch (the caller's tidy owns the tensors). */
  encode(x: tf.Tensor4D, training?: boolean): Posterior;
  /** Decoder logits [n, h, w, c]: the Bernoulli parameters' logits, or the Gaussian mean's before the sigmoid. */
  decodeLogits(z: tf.Tensor2D, training?: boolean): tf.Tensor4D;
  /** The deterministic reconstruction sigmoid(decoder(mean of q(z|x))) in [0, 1]: what attacks and metrics compare. */
  reconstruct(x: tf.Tensor4D): tf.Tensor4D;
}

/**
 * The autoencoder view of a combined model (from `createAutoencoder` or a loaded model folder); `spec` comes from
 * the model's metadata (`meta.generative`) and is checked against the layer shapes. A model that is not an
 * [x, z] → [encoder, decoder] pair is a ModelFormatError naming `source`.
 */
export function autoencoderOf(model: tfl.LayersModel, spec: AutoencoderSpec, source = model.name): Autoencoder {
  const sub = (name: string): tfl.LayersModel => {
    try {
      return model.getLayer(name) as unknown as tfl.LayersModel;
    } catch {
      throw new ModelFormatError(
        source,
        `an autoencoder with nested '${name}' model (advlab train --model ${spec.kind})`,
        `layers ${model.layers.map((l) => l.name).join(', ')}`,
      );
    }
  };
  const encoder = sub('encoder');
  const decoder = sub('decoder');
  const codeSize = (encoder.outputs[0]!.shape as number[])[1];
  const latentIn = (decoder.inputs[0]!.shape as number[])[1];
  const wantCode = spec.kind === 'vae' ? 2 * spec.latentDim : spec.latentDim;
  if (codeSize !== wantCode || latentIn !== spec.latentDim) {
    throw new ModelFormatError(
      source,
      `a ${spec.kind} with latent size ${spec.latentDim} (code ${wantCode}, decoder input ${spec.latentDim})`,
      `code ${codeSize}, decoder input ${latentIn}`,
    );
  }
  const inputShape = (encoder.inputs[0]!.shape as number[]).slice(1) as [number, number, number];
  const k = spec.latentDim;
  const encode = (x: tf.Tensor4D, training = false): Posterior => {
    const code = encoder.apply(x, { training }) as tf.Tensor2D;
    if (spec.kind === 'ae') return { mean: code };
    const n = code.shape[0];
    return { mean: tf.slice(code, [0, 0], [n, k]), logVar: tf.slice(code, [0, k], [n, k]) };
  };
  const decodeLogits = (z: tf.Tensor2D, training = false) => decoder.apply(z, { training }) as tf.Tensor4D;
  return {
    spec,
    inputShape,
    model,
    encode,
    decodeLogits,
    reconstruct: (x) => tf.tidy(() => tf.sigmoid(decodeLogits(encode(x).mean))),
  };
}

/** The spec stored in a model's metadata (`meta.generative`), checked; undefined when the model is not generative. */
export function autoencoderSpecOf(meta: Record<string, unknown> | undefined, source: string): AutoencoderSpec | undefined {
  const g = meta?.generative;
  if (g === undefined) return undefined;
  if (g === null || typeof g !== 'object')
    throw new ModelFormatError(source, 'advlab.generative an object {kind, latentDim, likelihood, sigma}', JSON.stringify(g));
  const o = g as Record<string, unknown>;
  try {
    return resolveAutoencoderSpec(o.kind as AutoencoderKind, {
      latentDim: o.latentDim as number,
      likelihood: o.likelihood as Likelihood,
      sigma: o.sigma as number,
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new ModelFormatError(source, `advlab.generative.${e.option} ${e.expected}`, e.found);
    throw e;
  }
}
