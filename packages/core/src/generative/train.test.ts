import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { MemoryTrainingStore } from '../training/store.ts';
import { threatModel } from '../threat/threat.ts';
import type { ImageSet } from '../data/types.ts';
import { autoencoderOf, createAutoencoder, resolveAutoencoderSpec } from './model.ts';
import {
  capSpectralNorms,
  GENERATIVE_TRAINING_DEFAULTS,
  latentAttackPoints,
  trainAutoencoder,
  type GenerativeTrainingConfig,
} from './train.ts';

await cpu();

/** 8×8 images of two kinds (a bright left half or a bright top half) with a little noise. */
function halves(n: number, seed: number): ImageSet {
  const noise = tf.tidy(() => tf.randomUniform([n * 64], 0, 0.1, 'float32', seed).dataSync());
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 8; c++) images[i * 64 + r * 8 + c] = ((i % 2 ? r : c) < 4 ? 0.85 : 0.05) + noise[i * 64 + r * 8 + c]!;
  }
  return { images, labels, n, height: 8, width: 8, channels: 1 };
}

const train = halves(64, 1);
const heldOut = halves(16, 2);
const config = (over: Partial<GenerativeTrainingConfig> = {}): GenerativeTrainingConfig => ({
  ...GENERATIVE_TRAINING_DEFAULTS,
  epochs: 3,
  batchSize: 16,
  lr: 3e-3,
  heldOut: 16,
  ...over,
});
const vae = () =>
  autoencoderOf(
    createAutoencoder('vae', { inputShape: [8, 8, 1], seed: 1, latentDim: 2 }),
    resolveAutoencoderSpec('vae', { latentDim: 2 }),
  );

test('training a VAE lowers the held-out negative ELBO, writes a line per epoch, keeps best and model, and leaks no tensor', async () => {
  const ae = vae();
  const store = new MemoryTrainingStore();
  const before = tf.memory().numTensors;
  const { metrics } = await trainAutoencoder(ae, { train, heldOut }, config({ epochs: 4 }), store, { generative: ae.spec });
  assert.equal(metrics.length, 4);
  assert.ok(metrics[3]!.neg_elbo < metrics[0]!.neg_elbo, `neg ELBO ${metrics.map((m) => m.neg_elbo.toFixed(2)).join(' → ')}`);
  for (const m of metrics) assert.ok(m.kind === 'generative' && Number.isFinite(m.mse) && m.kl >= 0 && m.latent_shift >= 0);
  assert.ok(store.savedModel('best') && store.savedModel('model'));
  store.dispose();
  // What remains is the model's own weights (unchanged in number) and nothing else.
  assert.equal(tf.memory().numTensors, before);
});

test('an interrupted run resumes from its checkpoint to the same weights as an uninterrupted one', async () => {
  const full = vae();
  const storeA = new MemoryTrainingStore();
  await trainAutoencoder(full, { train, heldOut }, config(), storeA, {});
  const part = vae();
  const storeB = new MemoryTrainingStore();
  await trainAutoencoder(part, { train, heldOut }, config({ epochs: 2 }), storeB, {});
  const resumed = vae(); // a fresh process: new weights, the store's checkpoint
  await trainAutoencoder(resumed, { train, heldOut }, config(), storeB, {});
  const wa = full.model.getWeights();
  const wb = resumed.model.getWeights();
  for (const [i, w] of wa.entries()) assert.deepEqual(w.dataSync(), wb[i]!.dataSync(), `weight ${i}`);
  assert.deepEqual(
    storeB.readMetrics().map((l) => (l as { neg_elbo: number }).neg_elbo),
    storeA.readMetrics().map((l) => (l as { neg_elbo: number }).neg_elbo),
  );
  storeA.dispose();
  storeB.dispose();
});

test('adversarial training fits latent-attack points inside the ball, and trains', async () => {
  const ae = vae();
  const { x } = { x: tf.tensor4d(train.images.slice(0, 4 * 64), [4, 8, 8, 1]) };
  const threat = threatModel('linf', 0.1);
  const adv = latentAttackPoints(ae, x, threat, 5, 3);
  const d = threat.distance(adv, x).dataSync();
  for (const v of d) assert.ok(v <= 0.1 + 1e-6);
  tf.dispose([x, adv]);
  const store = new MemoryTrainingStore();
  const { metrics } = await trainAutoencoder(ae, { train, heldOut }, config({ method: 'adversarial', eps: 0.1, steps: 3 }), store, {});
  assert.ok(metrics.at(-1)!.neg_elbo < metrics[0]!.neg_elbo);
  assert.equal(metrics[0]!.method, 'adversarial');
  store.dispose();
  await assert.rejects(trainAutoencoder(ae, { train, heldOut }, config({ method: 'adversarial', eps: 0 }), store, {}), /eps/);
});

test('capSpectralNorms measures each encoder kernel’s largest singular value and scales those above the bound down to it', async () => {
  const ae = vae();
  const encoder = ae.model.getLayer('encoder') as unknown as {
    layers: { trainableWeights: { name: string; read(): tf.Tensor; write(t: tf.Tensor): void }[] }[];
  };
  const conv = encoder.layers[0]!.trainableWeights.find((w) => /kernel/.test(w.name))!;
  // A kernel of ones [4, 4, 1, 32] is the rank-one matrix 1·1ᵀ of size 16 × 32: σ = √(16·32).
  const ones = tf.onesLike(conv.read());
  conv.write(ones);
  const before = capSpectralNorms(ae, 2);
  assert.ok(Math.abs(before[0]! - Math.sqrt(16 * 32)) < 1e-3, `σ ${before[0]}`);
  assert.equal(before.length, 4, 'two convolutions and two dense layers');
  const after = capSpectralNorms(ae, Number.POSITIVE_INFINITY);
  for (const [i, s] of after.entries()) assert.ok(s <= 2 * (1 + 1e-4), `layer ${i}: σ ${s} after the cap`);
  assert.ok(Math.abs(conv.read().dataSync()[0]! - 2 / Math.sqrt(16 * 32)) < 1e-6);
  ones.dispose();
  const store = new MemoryTrainingStore();
  const tensors = tf.memory().numTensors;
  const { metrics } = await trainAutoencoder(ae, { train, heldOut }, config({ epochs: 2, spectralBound: 2 }), store, {});
  assert.ok(metrics.every((m) => Number.isFinite(m.neg_elbo)));
  for (const s of capSpectralNorms(ae, Number.POSITIVE_INFINITY)) assert.ok(s <= 2 * (1 + 1e-3), `σ ${s} after training`);
  store.dispose();
  assert.equal(tf.memory().numTensors, tensors);
});
