import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advlab as runAdvlab } from './advlab.ts';

// `advlab train --model vae` and `advlab eval --generative` end to end through the built binary, on the synthetic 8×8 task.
const dir = mkdtempSync(join(tmpdir(), 'advlab-generative-'));
const vae = join(dir, 'vae');
const judge = join(dir, 'judge');

const advlab = (...args: string[]) => runAdvlab(...args, '--backend', 'cpu');

test('advlab train --model vae writes a run directory with generative metrics, a summary and a loadable model', () => {
  const t = advlab(
    'train',
    '--model',
    'vae',
    '--latent-dim',
    '4',
    '--data',
    'synthetic:tiny',
    '--epochs',
    '2',
    '--out',
    vae,
    '--lr',
    '0.003',
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /vae: test negative ELBO [\d.]+ nats \(KL [\d.]+\), reconstruction MSE [\d.]+ on \d+ test images/);
  const lines = readFileSync(join(vae, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const l of lines) assert.ok(l.kind === 'generative' && Number.isFinite(l.neg_elbo) && Number.isFinite(l.latent_shift));
  const summary = JSON.parse(readFileSync(join(vae, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.generative, { kind: 'vae', latentDim: 4, likelihood: 'bernoulli', sigma: 0.1 });
  assert.ok(summary.reconstruction.mse > 0 && summary.reconstruction.mse < 0.25);
  const meta = JSON.parse(readFileSync(join(vae, 'model', 'model.json'), 'utf8')).advlab;
  assert.equal(meta.generative.kind, 'vae');
  // A finished run resumes to nothing new.
  const again = advlab('train', '--resume', vae);
  assert.equal(again.code, 0, again.err);
});

test('advlab eval --generative writes AUDDC per attack against the interpolation baseline, judged success and reconstruction', () => {
  const c = advlab('train', '--model', 'wong-cnn', '--data', 'synthetic:tiny', '--epochs', '2', '--out', judge, '--lr', '0.01');
  assert.equal(c.code, 0, c.err);
  const json = join(dir, 'gen.json');
  const e = advlab(
    'eval',
    '--model',
    vae,
    '--generative',
    '--pairs',
    '4',
    '--cs',
    '4',
    '--sweep-steps',
    '10',
    '--steps',
    '5',
    '--classifier',
    judge,
    '--json',
    json,
  );
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /AUDDC \(lower = more vulnerable\): latent [\d.]+, output [\d.]+; interpolation baseline [\d.]+/);
  const r = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(r.pairs.length, 4);
  for (const k of ['latent', 'output', 'interpolation']) {
    assert.ok(r.auddc[k] >= 0 && r.auddc[k] <= 1, `${k} ${r.auddc[k]}`);
    assert.equal(r.auddc_per_pair[k].length, 4);
  }
  for (const k of ['latent', 'output', 'classifier']) assert.ok(r.success_rate[k] >= 0 && r.success_rate[k] <= 1);
  assert.ok(r.reconstruction.neg_elbo > 0 && r.reconstruction.mse > 0);
  assert.equal(r.budget, 'linf eps=0.1');
});

test('advlab attack on a VAE moves sources toward the target image and writes result.json and the gallery', () => {
  const out = join(dir, 'attack');
  const a = advlab(
    'attack',
    '--model',
    vae,
    '--attack',
    'output',
    '--target-index',
    '3',
    '--n',
    '4',
    '--eps',
    '0.3',
    '--steps',
    '10',
    '--classifier',
    judge,
    '--out',
    out,
  );
  assert.equal(a.code, 0, a.err);
  assert.match(
    a.out,
    /output attack linf eps=0\.3 toward test image 3 \(\S+\): mean y [\d.]+ .*the classifier puts \d of 4 reconstructions in the target's class/,
  );
  const r = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(r.examples.length, 4);
  assert.equal(r.target_index, 3);
  for (const e of r.examples) {
    assert.ok(e.distortion <= 0.3 * Math.sqrt(64) + 1e-4, `L2 of an L∞ 0.3 perturbation of 64 pixels: ${e.distortion}`);
    assert.ok(e.curve_y >= 0 && Number.isFinite(e.latent_distance));
    assert.equal(typeof e.target_hit, 'boolean');
  }
  const png = readFileSync(join(out, 'generative.png'));
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  const again = advlab('attack', '--model', vae, '--attack', 'latent', '--target-index', '3', '--n', '2', '--out', out);
  assert.equal(again.code, 2, 'an existing gallery is not replaced without --force');
  assert.match(again.err, /--force/);
});

test('generative flags are refused where they do not apply, naming the flag', () => {
  const a = advlab('eval', '--model', judge, '--generative', '--pairs', '2');
  assert.equal(a.code, 2);
  assert.match(a.err, /\[E_CONFIG\] --model: expected a generative model/);
  const b = advlab('eval', '--model', judge, '--pairs', '2');
  assert.equal(b.code, 2);
  assert.match(b.err, /\[E_CONFIG\] --pairs: expected it only with --generative/);
  const c = advlab('train', '--model', 'wong-cnn', '--latent-dim', '3', '--epochs', '1', '--out', join(dir, 'x'));
  assert.equal(c.code, 2);
  assert.match(c.err, /\[E_CONFIG\] --latent-dim: expected no latentDim for the classifier wong-cnn/);
  const d = advlab('train', '--model', 'vae', '--method', 'trades', '--epochs', '1', '--out', join(dir, 'y'));
  assert.equal(d.code, 2);
  assert.match(d.err, /\[E_CONFIG\] --method: expected standard or pgd for vae/);
  const e = advlab('attack', '--model', judge, '--attack', 'pgd', '--target-index', '2', '--out', join(dir, 'z'));
  assert.equal(e.code, 2);
  assert.match(e.err, /\[E_CONFIG\] --target-index: expected it only with a generative attack/);
  const f = advlab('attack', '--model', vae, '--attack', 'classifier', '--target-index', '2', '--out', join(dir, 'w'));
  assert.equal(f.code, 2);
  assert.match(f.err, /\[E_CONFIG\] --classifier: expected a classifier to judge/);
  const g = advlab('attack', '--model', vae, '--attack', 'latent', '--out', join(dir, 'v'));
  assert.equal(g.code, 2);
  assert.match(g.err, /\[E_CONFIG\] --target-index: expected the index J/);
});
