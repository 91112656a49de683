import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoMonitor, type MetricPoint } from './co-monitor.ts';

const pt = (epoch: number, clean: number, fgsm: number, pgd: number, align: number): MetricPoint => ({
  epoch,
  step: epoch * 100,
  clean_acc: clean,
  fgsm_acc: fgsm,
  pgd_acc: pgd,
  grad_align: align,
});

test('fires in the epoch where FGSM training collapses, not before', () => {
  // A trace shaped like zero-init FGSM-AT at ε = 0.2 on Fashion-MNIST: PGD rises, then collapses.
  // biome-ignore format: a trace reads as one row of points
  const trace = [pt(1, 0.8, 0.55, 0.3, 0.5), pt(2, 0.82, 0.6, 0.34, 0.55), pt(3, 0.83, 0.62, 0.33, 0.5), pt(4, 0.85, 0.8, 0.1, 0.12), pt(5, 0.86, 0.9, 0.05, 0.08)];
  const m = new CoMonitor();
  const fired = trace.map((p) => m.observe(p));
  assert.deepEqual(
    fired.map((v) => v.co),
    [false, false, false, true, true],
  );
  assert.ok(
    fired[3]!.rules.includes('pgd-drop') && fired[3]!.rules.includes('alignment-collapse') && fired[3]!.rules.includes('fgsm-pgd-gap'),
  );
  assert.ok(fired[4]!.rules.includes('fgsm-above-clean'));
  assert.match(fired[3]!.detail, /PGD accuracy 10\.0%/);
});

test('does not fire on a healthy PGD-AT trace', () => {
  // biome-ignore format: a trace reads as one row of points
  const trace = [pt(1, 0.75, 0.6, 0.55, 0.6), pt(2, 0.78, 0.66, 0.62, 0.62), pt(3, 0.8, 0.7, 0.66, 0.63), pt(4, 0.81, 0.72, 0.68, 0.6), pt(5, 0.82, 0.73, 0.7, 0.61), pt(6, 0.83, 0.74, 0.69, 0.59)];
  const m = new CoMonitor();
  for (const p of trace) assert.equal(m.observe(p).co, false, JSON.stringify(p));
});

test('fires from the first epoch on a model that was never robust (no drop from a best needed)', () => {
  // ε = 0.3, zero-init FGSM: PGD < 1% from the start while FGSM accuracy is high.
  const m = new CoMonitor();
  const v = m.observe(pt(1, 0.8, 0.7, 0.005, 0.05));
  assert.equal(v.co, true);
  assert.ok(v.rules.includes('fgsm-pgd-gap'));
  assert.ok(!v.rules.includes('pgd-drop'), 'no best to drop from yet');
});

test('thresholds are configurable and replay restores the running bests', () => {
  const trace = [pt(1, 0.8, 0.5, 0.4, 0.5), pt(2, 0.8, 0.5, 0.25, 0.5)];
  assert.equal(new CoMonitor().observe(trace[1]!).co, false);
  const m = CoMonitor.replay([trace[0]!], { pgdDrop: 0.1 });
  assert.deepEqual(m.observe(trace[1]!).rules, ['pgd-drop']);
  assert.throws(() => new CoMonitor({ pgdDrop: Number.NaN }), /co\.pgdDrop: expected/);
});

test('the linearity-error rule: off by default, fires above its threshold when set, silent on lines without γ', () => {
  const p = (step: number, gamma?: number) => ({
    epoch: 1,
    step,
    clean_acc: 0.7,
    fgsm_acc: 0.5,
    pgd_acc: 0.4,
    grad_align: 0.9,
    ...(gamma !== undefined ? { linearity_error: gamma } : {}),
  });
  assert.deepEqual(new CoMonitor().observe(p(1, 100)).rules, []);
  const m = new CoMonitor({ linearityError: 0.8 });
  assert.deepEqual(m.observe(p(1, 0.8)).rules, [], 'strictly above');
  assert.deepEqual(m.observe(p(2)).rules, []);
  const v = m.observe(p(3, 1.2));
  assert.deepEqual(v.rules, ['linearity-error']);
  assert.match(v.detail, /linearity error 1\.20 above 0\.8/);
  assert.throws(() => new CoMonitor({ linearityError: Number.NaN }), /co\.linearityError/);
});
