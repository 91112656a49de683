import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');
const out = join(mkdtempSync(join(tmpdir(), 'advlab-reproduce-')), 'suite');
const reproduce = () => spawnSync(process.execPath, [bin, 'reproduce', '--smoke', '--out', out], { encoding: 'utf8' });
const inRange = (v: number) => Number.isFinite(v) && v >= 0 && v <= 1;

test('advlab reproduce (smoke size): every finding is summarised from real runs, and a rerun reuses them', () => {
  const first = reproduce();
  assert.equal(first.status, 0, first.stderr.slice(-2000));
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(r.missing, []);
  assert.deepEqual(
    r.tradeoff.map((t: { run: string }) => t.run),
    ['standard-e0.1', 'pgd-e0.1'],
  );
  for (const t of r.tradeoff) {
    assert.ok(inRange(t.clean) && inRange(t.pgd20) && inRange(t.worstCase), JSON.stringify(t));
    assert.ok(t.worstCase <= t.pgd20, 'the worst case is at most every single attack');
    assert.ok(t.secondsPerEpoch > 0);
  }
  // The numbers are the evaluation's, not recomputed elsewhere.
  const evalPgd = JSON.parse(readFileSync(join(out, 'pgd-e0.1', 'eval.json'), 'utf8'));
  assert.equal(r.tradeoff[1].clean, evalPgd.clean_accuracy);
  assert.equal(r.tradeoff[1].worstCase, evalPgd.worst_case_by_eps.find((w: { eps: number }) => w.eps === 0.1).robust_accuracy);
  assert.equal(r.co.length, 1);
  assert.ok(r.co[0].epochs.length >= 1 && r.co[0].epochs.every((e: { clean: number }) => inRange(e.clean)));
  assert.equal(r.fairness.perClass.length, 3);
  assert.equal(r.fairness.perClass[0].robust.length, 10);
  assert.equal(r.fairness.minority.length, 1);
  const cfg = JSON.parse(readFileSync(join(out, 'standard-minority', 'config.json'), 'utf8'));
  assert.deepEqual(cfg.minority, { class: 0, fraction: 0.1 });
  assert.ok(r.frontier.points.some((p: { onFrontier: boolean }) => p.onFrontier));
  assert.ok(r.danskin.relativeError < 1e-3 && r.danskin.deltaIsExact);
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  for (const h of ['## Trade-off', '## Catastrophic overfitting', '## Per-class', '## Minority', '## Clean–robust frontier', '## Danskin'])
    assert.ok(md.includes(h), h);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const id of ['t-tradeoff', 't-co', 't-fairness', 't-minority', 'frontier', 'gallery']) assert.ok(html.includes(`id="${id}"`), id);
  for (const run of ['standard-e0.1', 'pgd-e0.1'])
    assert.ok(existsSync(join(out, run, 'grid.png')), `${run}: adversarial examples for the gallery`);

  const again = reproduce();
  assert.equal(again.status, 0, again.stderr.slice(-2000));
  assert.equal((again.stderr.match(/finished \(reused\)/g) ?? []).length, 4);
  assert.doesNotMatch(again.stderr, /: training|: evaluating/);
});

test('advlab reproduce resumes an unfinished run and refuses a finished run with another config', () => {
  // An unfinished run (no summary, no evaluation): the suite resumes it instead of starting over.
  rmSync(join(out, 'fgsm-e0.2', 'summary.json'));
  rmSync(join(out, 'fgsm-e0.2', 'eval.json'));
  // An evaluation made with other arguments is made again.
  writeFileSync(join(out, 'pgd-e0.1', 'eval-args.json'), '["--n","1"]\n');
  const resumed = reproduce();
  assert.equal(resumed.status, 0, resumed.stderr.slice(-2000));
  assert.match(resumed.stderr, /fgsm-e0\.2: resuming/);
  assert.match(resumed.stderr, /fgsm-e0\.2: evaluating/);
  assert.match(resumed.stderr, /pgd-e0\.1: evaluating/);
  assert.doesNotMatch(resumed.stderr, /standard-e0\.1: evaluating/);

  const file = join(out, 'standard-e0.1', 'config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), epochs: 2 }));
  const refused = reproduce();
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /E_CONFIG.*standard-e0\.1.*epochs: 2 → 1/);
});
