/**
 * Training an autoencoder: Adam on the negative ELBO (VAE) or reconstruction loss (autoencoder), standard or
 * adversarial. Adversarial training (the min–max of Madry et al., restated for an encoder) takes each batch's
 * points x + δ with δ = argmax_{δ ∈ B(ε)∩box} KL(q(z|x+δ) ‖ q(z|x)) (‖μ(x+δ) − μ(x)‖ for an autoencoder) by PGD, then
 * minimises the loss of reconstructing the CLEAN x from the encoding of x + δ: the encoder learns to map a perturbed
 * input where the clean one goes, which is what the latent and output attacks exploit. By Danskin's theorem the
 * gradient at the attack's point is a gradient of the inner maximum, so δ is held fixed for the update.
 *
 * The run keeps checkpoints, metrics and models in a TrainingStore exactly as classifier training does, and resumes
 * from its newest checkpoint.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageSet } from '../data/types.ts';
import { ConfigError } from '../errors.ts';
import { batchTensors, chunks, range } from '../eval/batches.ts';
import type { ModelMeta } from '../models/meta.ts';
import { threatModel, type ThreatModel } from '../threat/threat.ts';
import type { Norm } from '../threat/norms.ts';
import { resumeFrom } from '../training/checkpointer.ts';
import { trainableVariables } from '../training/optim.ts';
import type { LoopState } from '../training/policy.ts';
import type { TrainingStore } from '../training/store.ts';
import { Rng } from '../util/rng.ts';
import { budgetedAttack } from './attacks.ts';
import { negativeElbo } from './elbo.ts';
import type { Autoencoder } from './model.ts';
import { gaussianKl, rowDistance, type GenerativeObjective } from './objectives.ts';

/** How an autoencoder is trained: plainly, or on latent-attack points within ε. */
export type GenerativeMethod = 'standard' | 'adversarial';

/** Everything that determines a generative run (see GENERATIVE_TRAINING_DEFAULTS). */
export interface GenerativeTrainingConfig {
  method: GenerativeMethod;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Weight of the KL term (1: the ELBO). */
  beta: number;
  /** Adversarial training's budget and PGD steps (ignored by 'standard'). */
  norm: Norm;
  eps: number;
  steps: number;
  /** Train on the first `limit` examples only. */
  limit?: number;
  /**
   * Lipschitz-constrained encoder: after every step each encoder layer's kernel is scaled so its spectral norm (as
   * a matrix [fan-in, units]) is at most this (0 or absent: no constraint). See `capSpectralNorms`.
   */
  spectralBound?: number;
  /** Held-out lines every this many batches (0: at the end of each epoch only) on the first `heldOut` test images. */
  evalEvery: number;
  heldOut: number;
}

/** Batch 128, Adam lr 10⁻³, β 1, L∞ ε 0.1 with 5 PGD steps, held-out lines per epoch on 1000 images. */
export const GENERATIVE_TRAINING_DEFAULTS: Omit<GenerativeTrainingConfig, 'epochs'> = {
  method: 'standard',
  batchSize: 128,
  lr: 1e-3,
  seed: 0,
  beta: 1,
  norm: 'linf',
  eps: 0.1,
  steps: 5,
  evalEvery: 0,
  heldOut: 1000,
};

/** Throws ConfigError naming the first bad field. */
export function validateGenerativeTrainingConfig(c: GenerativeTrainingConfig): void {
  const posInt = (k: keyof GenerativeTrainingConfig, v: unknown, min = 1) => {
    if (!Number.isSafeInteger(v) || (v as number) < min) throw new ConfigError(k, `an integer ≥ ${min}`, String(v));
  };
  if (c.method !== 'standard' && c.method !== 'adversarial') throw new ConfigError('method', 'standard or adversarial', String(c.method));
  posInt('epochs', c.epochs);
  posInt('batchSize', c.batchSize);
  posInt('steps', c.steps);
  posInt('heldOut', c.heldOut);
  posInt('evalEvery', c.evalEvery, 0);
  if (c.limit !== undefined) posInt('limit', c.limit);
  if (c.spectralBound !== undefined && !(c.spectralBound >= 0 && Number.isFinite(c.spectralBound)))
    throw new ConfigError('spectralBound', 'a finite number ≥ 0 (0: no constraint)', String(c.spectralBound));
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new ConfigError('lr', 'a number > 0', String(c.lr));
  if (!(c.beta >= 0) || !Number.isFinite(c.beta)) throw new ConfigError('beta', 'a number ≥ 0', String(c.beta));
  threatModel(c.norm, c.eps); // checks norm and ε
  if (c.method === 'adversarial' && c.eps === 0) throw new ConfigError('eps', 'ε > 0 for adversarial training', '0');
}

/** One held-out line of a generative run (metrics.jsonl). */
export interface GenerativeMetricsLine {
  kind: 'generative';
  epoch: number;
  step: number;
  /** Mean training loss since the previous line. */
  loss: number;
  /** Held-out: negative ELBO (nats per image; an autoencoder's reconstruction loss), its KL term, per-pixel MSE of rec(x). */
  neg_elbo: number;
  kl: number;
  mse: number;
  /** Held-out mean latent distance a 10-step PGD reaches from each image within the run's ε (KL for a VAE). */
  latent_shift: number;
  eps: number;
  method: GenerativeMethod;
  seconds: number;
}

/** Callbacks of `trainAutoencoder`, each optional. */
export interface GenerativeReporter {
  /** After every optimiser step, with the mean loss of the epoch so far. */
  onStep?(p: { epoch: number; batch: number; batches: number; loss: number }): void | Promise<void>;
  /** A held-out line, after it has been stored. */
  onHeldOut?(line: GenerativeMetricsLine): void | Promise<void>;
  /** Something a person should read (a resume). */
  onEvent?(message: string): void | Promise<void>;
}

/** The untargeted latent objective of adversarial training: move q(z|x+δ) away from q(z|x). Negated for `budgetedAttack`'s descent. */
function latentShiftObjective(ae: Autoencoder, x: tf.Tensor4D): GenerativeObjective & { shift(xAdv: tf.Tensor4D): tf.Tensor1D } {
  const q = tf.tidy(() => {
    const p = ae.encode(x);
    return [p.mean, p.logVar ?? p.mean] as tf.Tensor2D[];
  });
  const shift = (xAdv: tf.Tensor4D) =>
    tf.tidy(() => {
      const p = ae.encode(xAdv);
      return p.logVar ? gaussianKl(p.mean, p.logVar, q[0]!, q[1]!) : rowDistance(p.mean, q[0]!);
    });
  return { kind: 'latent', distance: (xAdv) => tf.tidy(() => tf.neg(shift(xAdv))), shift, dispose: () => tf.dispose(q) };
}

/** The points adversarial training fits at: PGD on the latent shift within `threat`, from a random start. */
export function latentAttackPoints(ae: Autoencoder, x: tf.Tensor4D, threat: ThreatModel, steps: number, seed: number): tf.Tensor4D {
  const objective = latentShiftObjective(ae, x);
  try {
    return budgetedAttack(objective, x, threat, { steps, randomStart: true }, seed);
  } finally {
    objective.dispose();
  }
}

/** Power-iteration steps per kernel and step: from a fixed start, so the constraint keeps no state a resume would need. */
const POWER_STEPS = 10;

/**
 * The largest singular value of each encoder kernel seen as a matrix [fan-in, units] (a dense kernel, or a
 * convolution's [kh·kw·cin, cout] as spectral normalisation, Miyato et al. 2018, treats it), by `POWER_STEPS` of power
 * iteration from the all-ones vector; every kernel above `bound` is scaled down to it. Returns the norms before the
 * cap. With 1-Lipschitz activations the product of the bounds bounds the dense layers' Lipschitz constant; for a
 * strided convolution the matrix norm is the usual surrogate, not the exact operator norm.
 */
export function capSpectralNorms(ae: Autoencoder, bound: number): number[] {
  const encoder = ae.model.getLayer('encoder') as unknown as tfl.LayersModel;
  const norms: number[] = [];
  for (const layer of encoder.layers) {
    const kernel = layer.trainableWeights.find((w) => /kernel/.test(w.name));
    if (!kernel) continue;
    const sigma = tf.tidy(() => {
      const w = kernel.read();
      const m = tf.reshape(w, [-1, w.shape[w.shape.length - 1]!]) as tf.Tensor2D;
      let v = tf.div(tf.ones([m.shape[1], 1]), Math.sqrt(m.shape[1])) as tf.Tensor2D;
      for (let i = 0; i < POWER_STEPS; i++) {
        const u = tf.matMul(m, v);
        const mv = tf.matMul(m, u, true, false);
        v = tf.div(mv, tf.add(tf.norm(mv), 1e-12)) as tf.Tensor2D;
      }
      return tf.norm(tf.matMul(m, v)).dataSync()[0]!;
    });
    norms.push(sigma);
    if (sigma > bound)
      tf.tidy(() => {
        kernel.write(tf.mul(kernel.read(), bound / sigma));
      });
  }
  return norms;
}

/** Held-out measurements of `ae` on `x` (batched): negative ELBO (one seeded sample), KL, MSE and the latent shift at ε. */
export function generativeHeldOut(
  ae: Autoencoder,
  set: ImageSet,
  count: number,
  threat: ThreatModel,
  seed: number,
): Pick<GenerativeMetricsLine, 'neg_elbo' | 'kl' | 'mse' | 'latent_shift'> {
  const n = Math.min(count, set.n);
  let [negElbo, kl, mse, shift] = [0, 0, 0, 0];
  const shiftCount = Math.min(n, 256);
  // tf.js treats a seed of 0 as "unseeded": derive non-zero seeds.
  const rng = new Rng(seed);
  for (const idx of chunks(range(n), 256)) {
    const [noiseSeed, attackSeed] = [rng.seed() || 1, rng.seed() || 1];
    const { x, y } = batchTensors(set, idx);
    try {
      const [a, b, c] = tf.tidy(() => {
        const terms = negativeElbo(ae, x, { seed: noiseSeed });
        return [tf.sum(terms.loss), tf.sum(terms.kl), tf.mean(tf.square(tf.sub(ae.reconstruct(x), x)))].map((t) => t.dataSync()[0]!);
      });
      negElbo += a!;
      kl += b!;
      mse += c! * idx.length;
      if (idx[0]! < shiftCount && threat.eps > 0) {
        const m = Math.min(idx.length, shiftCount - idx[0]!);
        const xs = tf.slice(x, 0, m);
        const objective = latentShiftObjective(ae, xs);
        try {
          const adv = budgetedAttack(objective, xs, threat, { steps: 10, randomStart: true }, attackSeed);
          shift += tf.tidy(() => tf.sum(objective.shift(adv)).dataSync()[0]!);
          adv.dispose();
        } finally {
          objective.dispose();
          xs.dispose();
        }
      }
    } finally {
      tf.dispose([x, y]);
    }
  }
  return { neg_elbo: negElbo / n, kl: kl / n, mse: mse / n, latent_shift: shift / shiftCount };
}

/**
 * Trains `ae` on `data.train` (its first `config.limit`) and measures on `data.heldOut`; writes metrics lines,
 * a checkpoint per epoch and the final model (`model` slot; `best` holds the lowest held-out negative ELBO) to `store`.
 */
export async function trainAutoencoder(
  ae: Autoencoder,
  data: { train: ImageSet; heldOut: ImageSet },
  config: GenerativeTrainingConfig,
  store: TrainingStore,
  meta: ModelMeta,
  reporter: GenerativeReporter = {},
): Promise<{ metrics: GenerativeMetricsLine[] }> {
  validateGenerativeTrainingConfig(config);
  const c = config;
  const threat = threatModel(c.norm, c.eps);
  const optimizer = tf.train.adam(c.lr);
  const vars = trainableVariables(ae.model);
  const n = Math.min(c.limit ?? data.train.n, data.train.n);
  try {
    const resumed = await resumeFrom(store, ae.model, optimizer);
    let state: LoopState = resumed?.state ?? {
      epoch: 0,
      step: 0,
      rng: new Rng(c.seed).state,
      method: c.method === 'standard' ? 'standard' : 'pgd',
      rollbacks: 0,
      seconds: 0,
    };
    if (resumed) await reporter.onEvent?.(`resumed from epoch ${state.epoch} (${resumed.from.location})`);
    let bestNegElbo = Math.min(
      Number.POSITIVE_INFINITY,
      ...store.readMetrics<GenerativeMetricsLine>().map((l) => (typeof l.neg_elbo === 'number' ? l.neg_elbo : Number.POSITIVE_INFINITY)),
    );
    for (let epoch = state.epoch + 1; epoch <= c.epochs; epoch++) {
      const rng = Rng.fromState(state.rng);
      const batches = chunks(rng.shuffle(range(n)), c.batchSize);
      const t0 = performance.now();
      let [lossSince, seenSince] = [0, 0];
      let step = state.step;
      for (let b = 0; b < batches.length; b++) {
        const idx = batches[b]!;
        const { x, y } = batchTensors(data.train, idx);
        try {
          const input = c.method === 'adversarial' ? latentAttackPoints(ae, x, threat, c.steps, rng.seed()) : x;
          const noiseSeed = rng.seed() || 1;
          try {
            const loss = tf.tidy(() => {
              const value = optimizer.minimize(
                // The clean x is what is reconstructed, whatever the encoder saw.
                () =>
                  tf.mean(negativeElbo(ae, x, { encoderInput: input, seed: noiseSeed, beta: c.beta, training: true }).loss) as tf.Scalar,
                true,
                vars,
              )!;
              return value.dataSync()[0]!;
            });
            if (c.spectralBound) capSpectralNorms(ae, c.spectralBound);
            lossSince += loss * idx.length;
            seenSince += idx.length;
            step += 1;
            await reporter.onStep?.({ epoch, batch: b + 1, batches: batches.length, loss: lossSince / seenSince });
          } finally {
            if (input !== x) input.dispose();
          }
        } finally {
          tf.dispose([x, y]);
        }
        const end = b === batches.length - 1;
        if (!end && !(c.evalEvery > 0 && (b + 1) % c.evalEvery === 0)) continue;
        const line: GenerativeMetricsLine = {
          kind: 'generative',
          epoch,
          step,
          loss: lossSince / Math.max(1, seenSince),
          ...generativeHeldOut(ae, data.heldOut, c.heldOut, threat, c.seed),
          eps: c.eps,
          method: c.method,
          seconds: state.seconds + (performance.now() - t0) / 1000,
        };
        store.appendMetrics(line);
        await reporter.onHeldOut?.(line);
        [lossSince, seenSince] = [0, 0];
        if (line.neg_elbo < bestNegElbo) {
          bestNegElbo = line.neg_elbo;
          await store.saveModelAs('best', ae.model, { ...meta, trainedWith: { ...meta.trainedWith, epoch, step } });
        }
      }
      state = { ...state, epoch, step, rng: rng.state, seconds: state.seconds + (performance.now() - t0) / 1000 };
      await store.writeCheckpoint(epoch, ae.model, optimizer, state, { ...meta, trainedWith: { ...meta.trainedWith, epoch } });
    }
    await store.saveModelAs('model', ae.model, { ...meta, trainedWith: { ...meta.trainedWith, epochs_done: state.epoch } });
    return { metrics: store.readMetrics<GenerativeMetricsLine>() };
  } finally {
    optimizer.dispose();
  }
}
