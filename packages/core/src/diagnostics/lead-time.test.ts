import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coRuleOnsets, healthyCeiling, leadTimes, signalOnset, type SignalPoint } from './lead-time.ts';

/** A run whose linearity error climbs from step 40 and whose FGSM–PGD gap opens at step 70. */
const line = (step: number, gamma: number, pgd: number, align = 0.9): SignalPoint => ({
  epoch: 1,
  step,
  clean_acc: 0.8,
  fgsm_acc: 0.6,
  pgd_acc: pgd,
  grad_align: align,
  linearity_error: gamma,
});
const overfits = [
  line(10, 1.0, 0.5),
  line(20, 1.2, 0.5),
  line(30, 0.9, 0.52),
  line(40, 1.5, 0.5),
  line(50, 2.6, 0.45),
  line(60, 4, 0.4),
  line(70, 9, 0.2, 0.3),
  line(80, 12, 0.05, 0.1),
];
const healthy = [line(10, 1, 0.5), line(20, 1.1, 0.5), line(30, 0.9, 0.5), line(40, 1.3, 0.52), line(50, 1.6, 0.53)];

test('signal onsets above a threshold, CO rule onsets replayed, and the lead between them', () => {
  assert.equal(signalOnset(overfits, 'linearity_error', 2.5), 50);
  assert.equal(signalOnset(overfits, 'linearity_error', 2.6), 60, 'strictly above the threshold');
  assert.equal(signalOnset(overfits, 'linearity_error', 100), undefined);
  assert.equal(signalOnset(overfits, 'elle', 2), undefined, 'a measure the lines do not carry never fires');
  const rules = coRuleOnsets(overfits);
  assert.equal(rules['fgsm-pgd-gap'], 70); // 0.6 − 0.2 > 0.3
  assert.equal(rules['alignment-collapse'], 70); // 0.3 < 0.5 × 0.9
  assert.equal(rules['pgd-drop'], 70); // 0.2 < 0.52 − 0.2
  // The threshold from the healthy runs: the largest value any of them reached (1.6), whatever its step.
  const ceiling = healthyCeiling([healthy, healthy.slice(0, 2)], 'linearity_error')!;
  assert.equal(ceiling, 1.6);
  assert.equal(healthyCeiling([healthy], 'cure'), undefined);
  const lead = leadTimes(overfits, { linearity_error: ceiling });
  assert.deepEqual(lead, [
    { signal: 'linearity_error', signalStep: 50, rule: 'fgsm-pgd-gap', ruleStep: 70, leadBatches: 20 },
    { signal: 'linearity_error', signalStep: 50, rule: 'alignment-collapse', ruleStep: 70, leadBatches: 20 },
  ]);
  // On the healthy run neither fires: its own ceiling is not above itself.
  assert.deepEqual(leadTimes(healthy, { linearity_error: ceiling }), [
    { signal: 'linearity_error', rule: 'fgsm-pgd-gap' },
    { signal: 'linearity_error', rule: 'alignment-collapse' },
  ]);
});

test('a threshold that is not finite is a ConfigError naming it', () => {
  assert.throws(() => signalOnset(overfits, 'linearity_error', Number.NaN), /threshold/);
  assert.throws(() => leadTimes(overfits, { cure: Number.POSITIVE_INFINITY }), /threshold/);
});
