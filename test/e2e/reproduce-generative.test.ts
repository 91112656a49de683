// `advlab reproduce --only generative` (issue 15): the smoke version (a VAE and an adversarially trained one on 256
// Fashion-MNIST images for one epoch, judged by the smoke MLP), run by the built binary. At this size the numbers
// mean nothing; the test asserts where each one comes from and that the table, the gallery and the report hold them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { experimentsOf, selectProfile, trainConfig } from '../../packages/cli/src/reproduce/suite.ts';

const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');
const out = join(mkdtempSync(join(tmpdir(), 'advlab-reproduce-generative-')), 'suite');
after(() => rmSync(dirname(out), { recursive: true, force: true }));
const readJson = (...path: string[]) => JSON.parse(readFileSync(join(out, ...path), 'utf8'));

test('the generative group: 3 seeds of three VAEs at 60000 × 5 in --full, one seed at 10000 × 2 in --quick, only when selected', () => {
  const gen = (name: 'full' | 'quick' | 'smoke') => experimentsOf(selectProfile(name, ['generative'])).map((e) => e.name);
  assert.deepEqual(gen('full'), [
    'standard-e0.1',
    ...[0, 1, 2].flatMap((s) => [`gen-vae-s${s}`, `gen-vae-pgd-s${s}`, `gen-vae-lip1-s${s}`]),
  ]);
  assert.deepEqual(gen('quick'), ['standard-e0.1', 'gen-vae-s0', 'gen-vae-pgd-s0', 'gen-vae-lip1-s0']);
  assert.ok(!experimentsOf(selectProfile('full')).some((e) => e.name.startsWith('gen-')), 'not in the default selection');
  const full = selectProfile('full', ['generative']);
  const pgd = experimentsOf(full).find((e) => e.name === 'gen-vae-pgd-s1')!;
  assert.deepEqual(trainConfig(pgd, full), { model: 'vae', epochs: 5, heldOut: 1000, method: 'pgd', eps: 0.1, steps: 3, seed: 1 });
  const quick = selectProfile('quick', ['generative']);
  assert.equal(trainConfig(experimentsOf(quick).find((e) => e.name === 'gen-vae-lip1-s0')!, quick).spectralBound, 1);
  assert.deepEqual(trainConfig(experimentsOf(quick).find((e) => e.name === 'gen-vae-s0')!, quick), {
    model: 'vae',
    epochs: 2,
    limit: 10000,
    heldOut: 500,
    method: 'standard',
    eps: 0.1,
    seed: 0,
  });
});

test('advlab reproduce --smoke --only generative: the table from real runs, the gallery, the report, and a rerun reuses them', () => {
  const r = spawnSync(process.execPath, [bin, 'reproduce', '--smoke', '--only', 'generative', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const results = readJson('results.json');
  assert.deepEqual(results.missing, []);
  const g = results.generative;
  assert.deepEqual(g.seeds, [0]);
  assert.equal(g.pairs, 3);
  assert.equal(g.budget, 'linf eps=0.1');
  assert.deepEqual(
    g.rows.map((row: { group: string }) => row.group),
    ['gen-vae', 'gen-vae-pgd', 'gen-vae-lip1'],
  );
  for (const row of g.rows) {
    const [seed] = row.perSeed;
    const ev = readJson(seed.run, 'eval-generative.json');
    // Every number of the table is the run's own evaluation, traceable to its file.
    assert.equal(row.auddc.latent.mean, ev.auddc.latent);
    assert.equal(row.auddc.output.mean, ev.auddc.output);
    assert.equal(row.auddc.interpolation.mean, ev.auddc.interpolation);
    assert.equal(row.negElbo.mean, ev.reconstruction.neg_elbo);
    for (const k of ['latent', 'output', 'classifier']) assert.equal(row.successRate[k].mean, ev.success_rate[k]);
    assert.ok(existsSync(join(out, seed.run, 'generative.png')));
  }
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(md, /## What does robustness mean for a generative model\? VAE: standard, adversarially trained, Lipschitz encoder/);
  assert.match(md, /\| standard \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
  assert.match(md, /\| adversarial \(PGD-3 on the latent shift, ε 0\.1\) \|/);
  assert.match(md, /\| Lipschitz encoder \(spectral norms ≤ 1\) \|/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /What does robustness mean for a generative model/);
  const again = spawnSync(process.execPath, [bin, 'reproduce', '--smoke', '--only', 'generative', '--out', out], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /gen-vae-pgd-s0: finished \(reused\)/);
  assert.doesNotMatch(again.stderr, /evaluating/);
});
