import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { cpu, linearClassifier } from '../testing/fixtures.ts';
import { threatModel } from '../threat/threat.ts';
import { AdvlabError } from '../errors.ts';
import { negativeElbo } from './elbo.ts';
import { generativeObjective } from './objectives.ts';
import { budgetedAttack, finalizeGenerativeAttack, lagrangianSweep, logSpacedGrid } from './attacks.ts';
import { autoencoderOf, autoencoderSpecOf, createAutoencoder, resolveAutoencoderSpec } from './model.ts';
import { constantAutoencoder, identityAutoencoder, tinyAutoencoder } from './testing.ts';
import { evaluateGenerative, generativePairs, reconstructionQuality } from './evaluate.ts';
import type { ImageSet } from '../data/types.ts';

await cpu();

const shape: [number, number, number] = [2, 3, 1];
const x = tf.tensor4d([0.2, 0.7, 0.4, 0.9, 0.1, 0.55, 0.6, 0.3, 0.8, 0.35, 0.45, 0.25], [2, ...shape]);
const xt = tf.tensor4d([0.9, 0.1, 0.6, 0.2, 0.8, 0.3, 0.15, 0.85, 0.2, 0.7, 0.6, 0.9], [2, ...shape]);

/** ⟨∇f(at), v⟩ against the central difference (f(at + h·v) − f(at − h·v)) / 2h, f summed over the batch. */
function checkDirectional(name: string, f: (t: tf.Tensor4D) => tf.Tensor1D, at: tf.Tensor4D, seed: number): void {
  const v = tf.randomNormal(at.shape, 0, 1, 'float32', seed) as tf.Tensor4D;
  const h = 1e-2;
  const analytic = tf.tidy(() => tf.sum(tf.mul(tf.grad((t: tf.Tensor) => tf.sum(f(t as tf.Tensor4D)))(at), v)).dataSync()[0]!);
  const numeric = tf.tidy(() => {
    const up = tf.sum(f(tf.add(at, tf.mul(h, v)) as tf.Tensor4D)).dataSync()[0]!;
    const down = tf.sum(f(tf.sub(at, tf.mul(h, v)) as tf.Tensor4D)).dataSync()[0]!;
    return (up - down) / (2 * h);
  });
  v.dispose();
  assert.ok(
    Math.abs(analytic - numeric) <= 1e-2 * Math.max(1, Math.abs(numeric)),
    `${name}: gradient ${analytic} vs finite difference ${numeric}`,
  );
}

test('the ELBO’s gradient matches finite differences, in the input and in the weights (tiny VAE, fixed noise)', () => {
  for (const likelihood of ['bernoulli', 'gaussian'] as const) {
    const ae = tinyAutoencoder('vae');
    const spec = { ...ae.spec, likelihood, sigma: 0.5 };
    const vae = { ...ae, spec };
    const noise = tf.randomNormal([2, 2], 0, 1, 'float32', 5) as tf.Tensor2D;
    checkDirectional(`${likelihood} ELBO in x`, (t) => negativeElbo(vae, t, { noise }).loss, x, 11);
    // A weight: the first dense kernel of the encoder.
    const w = vae.model.trainableWeights[0]!.read() as tf.Variable;
    const w0 = tf.clone(w);
    const v = tf.randomNormal(w.shape, 0, 1, 'float32', 12);
    const f = () => tf.tidy(() => tf.sum(negativeElbo(vae, x, { noise }).loss).dataSync()[0]!);
    const g = tf.variableGrads(() => tf.sum(negativeElbo(vae, x, { noise }).loss) as tf.Scalar, [w]);
    const analytic = tf.tidy(() => tf.sum(tf.mul(g.grads[w.name]!, v)).dataSync()[0]!);
    tf.dispose([g.value, ...Object.values(g.grads)]);
    const h = 1e-2;
    w.assign(tf.add(w0, tf.mul(h, v)));
    const up = f();
    w.assign(tf.sub(w0, tf.mul(h, v)));
    const down = f();
    w.assign(w0);
    const numeric = (up - down) / (2 * h);
    assert.ok(
      Math.abs(analytic - numeric) <= 1e-2 * Math.max(1, Math.abs(numeric)),
      `${likelihood} ELBO in a weight: ${analytic} vs ${numeric}`,
    );
    tf.dispose([noise, w0, v]);
  }
});

test('each attack objective’s gradient matches finite differences', () => {
  const vae = tinyAutoencoder('vae');
  const ae = tinyAutoencoder('ae');
  const judge = linearClassifier(
    [
      [1, -1, 0.5],
      [0.3, 0.2, -0.7],
      [-0.5, 0.8, 0.1],
      [0.9, -0.2, 0.4],
      [-0.3, 0.5, 0.6],
      [0.2, 0.1, -0.9],
    ],
    [0.1, 0, -0.1],
    shape,
  );
  const labels = tf.tensor1d([2, 0], 'int32');
  const cases = [
    ['latent KL (VAE)', generativeObjective('latent', vae, { xt })],
    ['latent L2 of means (VAE)', generativeObjective('latent', vae, { xt }, { latentMeasure: 'l2' })],
    ['latent L2 (AE)', generativeObjective('latent', ae, { xt })],
    ['output (VAE)', generativeObjective('output', vae, { xt })],
    ['output (AE)', generativeObjective('output', ae, { xt })],
    ['classifier-judged (VAE)', generativeObjective('classifier', vae, { xt, labels, classifier: judge })],
  ] as const;
  let seed = 20;
  for (const [name, objective] of cases) {
    checkDirectional(name, (t) => objective.distance(t), x, seed++);
    objective.dispose();
  }
  labels.dispose();
  assert.throws(() => generativeObjective('latent', ae, { xt }, { latentMeasure: 'kl' }), /latentMeasure/);
  assert.throws(() => generativeObjective('classifier', vae, { xt }), /classifier/);
});

test('budgeted attacks stay in ball ∩ box, only lower the distance, and the trust boundary re-measures them', () => {
  const vae = tinyAutoencoder('vae');
  for (const threat of [threatModel('linf', 0.1), threatModel('l2', 0.3)]) {
    for (const kind of ['latent', 'output'] as const) {
      const objective = generativeObjective(kind, vae, { xt });
      const adv = budgetedAttack(objective, x, threat, { steps: 20 });
      const [d0, d1, dist, lo, hi] = tf.tidy(() =>
        [objective.distance(x), objective.distance(adv), threat.distance(adv, x), tf.min(adv), tf.max(adv)].map((t) => t.dataSync()),
      );
      for (let i = 0; i < 2; i++) {
        assert.ok(dist![i]! <= threat.eps * (1 + 1e-5) + 1e-6, `${threat} ${kind}: ‖δ‖ ${dist![i]}`);
        assert.ok(d1![i]! < d0![i]!, `${threat} ${kind}: distance ${d0![i]} → ${d1![i]}`);
      }
      assert.ok(lo![0]! >= 0 && hi![0]! <= 1);
      const r = finalizeGenerativeAttack({ ae: vae, x, proposal: adv, target: { xt }, threat });
      // The boundary measures the same latent distance the attack minimised (KL for a VAE).
      if (kind === 'latent') for (let i = 0; i < 2; i++) assert.ok(Math.abs(r.latentDistance[i]! - d1![i]!) < 1e-4);
      tf.dispose([adv, r.xAdv]);
      objective.dispose();
    }
  }
});

test('the trust boundary re-projects an out-of-budget proposal, refuses NaN, and refuses inputs outside the box', () => {
  const vae = tinyAutoencoder('vae');
  const threat = threatModel('linf', 0.05);
  const far = tf.clipByValue(tf.add(x, 0.5), 0, 1) as tf.Tensor4D;
  const r = finalizeGenerativeAttack({ ae: vae, x, proposal: far, target: { xt }, threat });
  const d = threat.distance(r.xAdv, x).dataSync();
  for (const v of d) assert.ok(v <= 0.05 + 1e-6, `projected distance ${v}`);
  const nan = tf.fill(x.shape, Number.NaN) as tf.Tensor4D;
  assert.throws(
    () => finalizeGenerativeAttack({ ae: vae, x, proposal: nan, target: { xt }, threat }),
    (e: unknown) => e instanceof AdvlabError && e.code === 'E_NAN',
  );
  const big = tf.mul(x, 255) as tf.Tensor4D;
  assert.throws(() => finalizeGenerativeAttack({ ae: vae, x: big, proposal: big, target: { xt } }), /bounds/);
  tf.dispose([far, r.xAdv, nan, big]);
});

test('the Lagrangian sweep keeps x + δ in the box, and a larger C gives a smaller δ', () => {
  const ae = tinyAutoencoder('ae');
  const cs = [2 ** -6, 2 ** 6];
  const tiled = tf.tile(xt, [2, 1, 1, 1]) as tf.Tensor4D;
  const objective = generativeObjective('output', ae, { xt: tiled });
  const adv = lagrangianSweep(objective, x, [0, 1], { cs, steps: 60, lr: 0.05 });
  assert.deepEqual(adv.shape, [4, ...shape]);
  const [lo, hi] = [tf.min(adv).dataSync()[0]!, tf.max(adv).dataSync()[0]!];
  assert.ok(lo >= 0 && hi <= 1, `box: [${lo}, ${hi}]`);
  const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.reshape(tf.square(tf.sub(adv, tf.tile(x, [2, 1, 1, 1]))), [4, -1]), 1)).dataSync());
  for (let i = 0; i < 2; i++) assert.ok(norms[i]! > norms[2 + i]!, `C small: ‖δ‖ ${norms[i]}, C large: ${norms[2 + i]}`);
  tf.dispose([tiled, adv]);
  objective.dispose();
  assert.deepEqual(logSpacedGrid(3, -2, 2), [0.25, 1, 4]);
  assert.equal(logSpacedGrid(50).length, 50);
});

/** A set of `n` images of shape [2, 3, 1] with alternating labels. */
function smallSet(n: number, seed: number): ImageSet {
  const images = tf.tidy(() => tf.randomUniform([n * 6], 0.05, 0.95, 'float32', seed).dataSync() as Float32Array);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 3), n, height: 2, width: 3, channels: 1 };
}

test('the identity autoencoder: the baseline is the line y = 1 − x, and no attack beats it (AUDDC ½)', () => {
  const set = smallSet(12, 4);
  const pairs = generativePairs(set.labels, 4, 1);
  const ev = evaluateGenerative(identityAutoencoder(shape), set, pairs, {
    sweepAttacks: ['output'],
    sweep: { cs: logSpacedGrid(12, -6, 6), steps: 150, lr: 0.02 },
  });
  for (const pts of ev.curves.interpolation.points) for (const p of pts) assert.ok(Math.abs(p.y - (1 - p.x)) < 1e-4, `(${p.x}, ${p.y})`);
  assert.ok(Math.abs(ev.curves.interpolation.auddc - 0.5) < 1e-4, `interpolation ${ev.curves.interpolation.auddc}`);
  // ‖x + δ − x_t‖ ≥ ‖x − x_t‖ − ‖δ‖: y ≥ 1 − x for every point, so the area cannot go below ½.
  const out = ev.curves.output!;
  assert.ok(out.auddc >= 0.5 - 1e-3 && out.auddc < 0.56, `output sweep ${out.auddc}`);
});

test('the constant autoencoder is immune: AUDDC 1 for every attack and the baseline', () => {
  const set = smallSet(12, 5);
  const ev = evaluateGenerative(constantAutoencoder(shape), set, generativePairs(set.labels, 3, 2), {
    sweep: { cs: [0.01, 1], steps: 5, lr: 0.05 },
    interpolationSteps: 5,
  });
  assert.equal(ev.curves.interpolation.auddc, 1);
  assert.equal(ev.curves.output!.auddc, 1);
  assert.equal(ev.curves.latent!.auddc, 1);
});

test('evaluateGenerative on a tiny VAE: pairs of different classes, classifier-judged success, tensors flat', () => {
  const set = smallSet(30, 6);
  const vae = tinyAutoencoder('vae');
  const judge = linearClassifier(
    Array.from({ length: 6 }, (_, i) => [i % 2 ? 1 : -1, (i % 3) - 1, 0.5]),
    [0, 0, 0],
    shape,
  );
  const pairs = generativePairs(set.labels, 5, 3);
  for (const p of pairs) assert.notEqual(set.labels[p.source], set.labels[p.target]);
  assert.deepEqual(generativePairs(set.labels, 5, 3), pairs, 'seeded');
  const opts = {
    sweep: { cs: logSpacedGrid(4, -4, 4), steps: 10, lr: 0.05 },
    interpolationSteps: 6,
    budget: threatModel('linf', 0.2),
    budgeted: { steps: 10 },
    classifier: judge,
  };
  evaluateGenerative(vae, set, pairs, opts); // warm-up: backend caches
  const before = tf.memory().numTensors;
  const ev = evaluateGenerative(vae, set, pairs, opts);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.equal(ev.curves.latent!.perPair.length, 5);
  for (const k of ['latent', 'output', 'classifier'] as const) {
    const rate = ev.successRate![k]!;
    assert.ok(rate >= 0 && rate <= 1);
    for (const d of ev.budgeted[k]!.distortion) assert.ok(Number.isFinite(d));
  }
  const q = reconstructionQuality(vae, set, 30);
  assert.ok(q.negElbo > 0 && q.mse > 0 && q.kl >= 0 && q.images === 30);
  assert.equal(tf.memory().numTensors, before);
});

test('createAutoencoder: seeded, round-trips through tf.js artifacts, and the halves are found again', async () => {
  const a = createAutoencoder('vae', { inputShape: [8, 8, 1], seed: 3, latentDim: 4 });
  const b = createAutoencoder('vae', { inputShape: [8, 8, 1], seed: 3, latentDim: 4 });
  const wa = a.getWeights().map((w) => w.dataSync());
  for (const [i, w] of b.getWeights().entries()) assert.deepEqual(w.dataSync(), wa[i]);
  let saved: tf.io.ModelArtifacts | undefined;
  await a.save(
    tf.io.withSaveHandler(async (art) => {
      saved = art;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
  const spec = resolveAutoencoderSpec('vae', { latentDim: 4 });
  const [va, vb] = [autoencoderOf(a, spec), autoencoderOf(loaded, spec)];
  const probe = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(va.reconstruct(probe), vb.reconstruct(probe)))).dataSync()[0]!);
  assert.equal(diff, 0);
  const q = va.encode(probe);
  assert.deepEqual(q.mean.shape, [3, 4]);
  assert.deepEqual(q.logVar!.shape, [3, 4]);
  assert.throws(() => autoencoderOf(a, resolveAutoencoderSpec('vae', { latentDim: 5 })), /latent size 5/);
  assert.throws(() => autoencoderOf(a, resolveAutoencoderSpec('ae', { latentDim: 4 })), /code 8/);
  assert.throws(() => createAutoencoder('vae', { inputShape: [6, 6, 1], seed: 0 }), /multiples of 4/);
  assert.throws(() => resolveAutoencoderSpec('vae', { latentDim: 0 }), /latentDim/);
  assert.deepEqual(autoencoderSpecOf({ generative: { kind: 'ae', latentDim: 3, likelihood: 'gaussian', sigma: 0.2 } }, 'm'), {
    kind: 'ae',
    latentDim: 3,
    likelihood: 'gaussian',
    sigma: 0.2,
  });
  assert.equal(autoencoderSpecOf({}, 'm'), undefined);
  assert.throws(
    () => autoencoderSpecOf({ generative: { kind: 'gan' } }, 'dir/model.json'),
    /dir\/model.json: expected advlab.generative.model/,
  );
  tf.dispose([probe, q.mean, q.logVar!]);
});
