import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyCnnGraphModelFiles, tinyCnnWeights } from '@advlab/core/testing';
import { advlab as runAdvlab } from './advlab.ts';

// `advlab curvature` end to end through the built binary, on a wong-cnn trained on the synthetic 8×8 task.
const dir = mkdtempSync(join(tmpdir(), 'advlab-curvature-'));
const run = join(dir, 'run');

const advlab = (...args: string[]) => runAdvlab(...args, '--backend', 'cpu');

test('advlab curvature: the weight Hessian and input measures as documented, in the terminal and as JSON', () => {
  const t = advlab('train', '--model', 'wong-cnn', '--data', 'synthetic:tiny', '--epochs', '2', '--out', run, '--lr', '0.01');
  assert.equal(t.code, 0, t.err);
  const json = join(dir, 'curvature.json');
  const c = advlab('curvature', '--model', run, '--n', '64', '--density-steps', '12', '--trace-samples', '20', '--json', json);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /weight Hessian: top eigenvalues \S+, \S+/);
  assert.match(c.out, /trace \S+ ± \S+ \(Hutchinson, 20 samples\)/);
  assert.match(c.out, /linearity error γ/);
  const r = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(r.n, 64);
  assert.equal(r.dataset, 'synthetic:tiny');
  assert.equal(r.hessian.top_eigenvalues.length, 2);
  assert.equal(r.hessian.trace_samples, 20);
  assert.equal(r.hessian.density.nodes[0].length, 12);
  for (const v of [r.loss, ...r.hessian.top_eigenvalues, r.hessian.trace, r.hessian.trace_standard_error])
    assert.ok(Number.isFinite(v), String(v));
  // The top eigenvalue is the largest Ritz value Lanczos finds, up to power iteration's tolerance.
  const ritzMax = Math.max(...r.hessian.density.nodes[0]);
  assert.ok(Math.abs(r.hessian.top_eigenvalues[0] - ritzMax) < 0.05 * ritzMax, `${r.hessian.top_eigenvalues[0]} vs Lanczos ${ritzMax}`);
  for (const k of ['top_eigenvalue', 'linearity_error', 'elle', 'cure']) {
    assert.ok(Number.isFinite(r.input[k]) && r.input[k] >= 0, k);
    assert.equal(r.input[k], r.input.summaries[k].mean);
  }
  assert.equal(r.input.eps, 0.1);
  assert.ok(Math.abs(r.input.cure_h - 0.1 * Math.sqrt(8 * 8 * 1)) < 1e-12);
});

test('advlab curvature refuses a GraphModel (no trainable weights) and an --n beyond the test set, naming them', () => {
  const w = tinyCnnWeights({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, numClasses: 4 }, 2);
  const graph = join(dir, 'graph');
  const files = tinyCnnGraphModelFiles(w);
  mkdirSync(graph, { recursive: true });
  writeFileSync(join(graph, 'model.json'), files.modelJson);
  writeFileSync(join(graph, files.shardName), files.shard);
  const g = advlab('curvature', '--model', graph, '--data', 'synthetic:tiny', '--n', '8');
  assert.equal(g.code, 2);
  assert.match(g.err, /\[E_MODEL_FORMAT\].*a tf\.js LayersModel/);
  const n = advlab('curvature', '--model', run, '--n', '100000');
  assert.equal(n.code, 2);
  assert.match(n.err, /\[E_CONFIG\] --n: expected an integer in \[1, \d+\], found "?100000"?/);
});
