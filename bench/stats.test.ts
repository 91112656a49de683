import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  disagreements,
  median,
  parseAutoAttackOutput,
  roundRatios,
  sideStats,
  suiteMs,
  suiteRoundFromReport,
  type SuiteRound,
} from './stats.ts';

test('median: odd and even counts, input left unsorted', () => {
  const xs = [5, 1, 3];
  assert.equal(median(xs), 3);
  assert.deepEqual(xs, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /empty/);
});

test('sideStats: min / median / max over the rounds, rounds kept in order', () => {
  assert.deepEqual(sideStats([33.004, 5.2, 12.5]), { min_ms: 5.2, median_ms: 12.5, max_ms: 33, rounds_ms: [33, 5.2, 12.5] });
  assert.equal(sideStats([]), null);
});

test('roundRatios: the median of per-round ratios, not the ratio of medians', () => {
  // PyTorch 4× slower in one round (a noisy peer hit it): that round's ratio is an outlier the median drops.
  const r = roundRatios([10, 10, 10, 40, 10], [20, 20, 80, 20, 20]);
  assert.deepEqual(r.ratios, [0.5, 0.5, 0.125, 2, 0.5]);
  assert.equal(r.ratio, 0.5);
  assert.equal(r.ratio_min, 0.125);
  assert.equal(r.ratio_max, 2);
});

test('roundRatios: a round missing a side (or PyTorch at 0 s) has no ratio and is left out', () => {
  const r = roundRatios([10, null, 30, 5], [20, 20, 10, 0]);
  assert.deepEqual(r.ratios, [0.5, null, 3, null]);
  assert.equal(r.ratio, 1.75);
  assert.deepEqual(roundRatios([null], [1]), { ratio: null, ratio_min: null, ratio_max: null, ratios: [null] });
});

/** The shape autoattack_eval.py prints (abridged from a real run: 1000 images, PGD-trained wong-cnn). */
function aaJson(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    what: "fra31/auto-attack's run_standard_evaluation on an advlab model",
    autoattack_commit: 'a39220048b3c9f2cca9a4d3a54604793c68eca7e',
    data: { dataset: 'fashion-mnist', first_n: 1000 },
    threads: 2,
    standard_budget: true,
    clean_accuracy: 0.796,
    attacks: [
      { attack: 'apgd-ce', run_on: 796, broke: 123, robust: 673, robust_accuracy: 0.673, seconds: 17.3 },
      { attack: 'apgd-t', run_on: 673, broke: 7, robust: 666, robust_accuracy: 0.666, seconds: 129.3 },
      { attack: 'fab-t', run_on: 666, broke: 1, robust: 665, robust_accuracy: 0.665, seconds: 226.8 },
      { attack: 'square', run_on: 665, broke: 1, robust: 664, robust_accuracy: 0.664, seconds: 357.6 },
    ],
    robust_accuracy: 0.664,
    seconds: { total: 731.4, checks_and_clean: 0.36, attacks: 731.0 },
    warnings: [],
    ...over,
  });
}

test('parseAutoAttackOutput: per-attack run_on / broke / seconds and the suite total', () => {
  const r = parseAutoAttackOutput(`${aaJson()}\n`);
  assert.equal(r.n, 1000);
  assert.equal(r.clean_accuracy, 0.796);
  assert.equal(r.robust_accuracy, 0.664);
  assert.equal(r.attack_seconds, 731);
  assert.equal(r.total_seconds, 731.4);
  assert.equal(r.threads, 2);
  assert.equal(r.standard_budget, true);
  assert.equal(r.autoattack_commit, 'a39220048b3c9f2cca9a4d3a54604793c68eca7e');
  assert.deepEqual(
    r.attacks.map((a) => [a.attack, a.run_on, a.broke, a.seconds]),
    [
      ['apgd-ce', 796, 123, 17.3],
      ['apgd-t', 673, 7, 129.3],
      ['fab-t', 666, 1, 226.8],
      ['square', 665, 1, 357.6],
    ],
  );
  assert.equal(suiteMs(r, 'autoattack'), 731000);
  assert.equal(suiteMs(r, 'fab-t'), 226800);
  assert.equal(suiteMs(r, 'nothing'), null);
});

test('parseAutoAttackOutput: a smoke budget, a skipped attack and unparsed log lines', () => {
  const r = parseAutoAttackOutput(
    aaJson({
      standard_budget: false,
      attacks: [
        { attack: 'apgd-ce', run_on: 5, broke: 5, robust: 0, robust_accuracy: 0, seconds: 1 },
        { attack: 'apgd-t', run_on: 0, broke: 0, robust: 0, robust_accuracy: 0, seconds: 0, skipped: 'no robust example left' },
        { attack: 'fab-t', run_on: null, broke: null, robust: null, robust_accuracy: null, seconds: null },
      ],
      warnings: ['fab-t: no "robust accuracy after" line'],
    }),
  );
  assert.equal(r.standard_budget, false);
  assert.equal(r.attacks[1]!.skipped, 'no robust example left');
  assert.equal(r.attacks[2]!.seconds, null);
  assert.equal(suiteMs(r, 'fab-t'), null);
  assert.deepEqual(r.warnings, ['fab-t: no "robust accuracy after" line']);
});

test("parseAutoAttackOutput: the script's error, non-JSON and missing fields are errors saying so", () => {
  assert.throws(
    () => parseAutoAttackOutput(JSON.stringify({ error: '--model x: expected a model folder' })),
    /autoattack_eval\.py: --model x/,
  );
  assert.throws(() => parseAutoAttackOutput('Traceback (most recent call last):'), /expected one JSON object/);
  assert.throws(() => parseAutoAttackOutput(aaJson({ seconds: { total: 1 } })), /seconds\.attacks/);
  assert.throws(() => parseAutoAttackOutput(aaJson({ attacks: [{ run_on: 1 }] })), /attacks\[0\]\.attack/);
  assert.throws(() => parseAutoAttackOutput(aaJson({ data: {} })), /data\.first_n/);
});

test('suiteRoundFromReport: robust accuracy after each step from the clean-correct count', () => {
  const r = suiteRoundFromReport(
    {
      n: 100,
      clean_accuracy: 0.8,
      seconds: 12,
      worst_case: {
        robust_accuracy: 0.65,
        sequence: [
          { attack: 'apgd-ce', run_on: 80, broke: 12, seconds: 1.5 },
          { attack: 'apgd-t', run_on: 68, broke: 2, seconds: 4 },
          { attack: 'fab-t', run_on: 66, broke: 1, seconds: 5 },
          { attack: 'square', run_on: 65, broke: 0, seconds: 0.5 },
        ],
      },
    },
    false,
  );
  assert.deepEqual(
    r.attacks.map((a) => a.robust_accuracy),
    [0.68, 0.66, 0.65, 0.65],
  );
  assert.equal(r.attack_seconds, 11);
  assert.equal(r.total_seconds, 12);
  assert.equal(r.standard_budget, false);
});

test('disagreements: rounds more than 0.5 points apart', () => {
  const at = (robust: number): SuiteRound => ({
    n: 1000,
    clean_accuracy: 0.8,
    robust_accuracy: robust,
    attacks: [],
    attack_seconds: 1,
    total_seconds: 1,
    standard_budget: true,
    warnings: [],
  });
  assert.deepEqual(disagreements([at(0.664), at(0.66)], [at(0.669), at(0.664)]), []);
  const out = disagreements([at(0.664), null, at(0.65)], [at(0.664), at(0.6), at(0.664)]);
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^round 3: robust accuracy advlab 65\.0%, AutoAttack 66\.4%/);
});
