import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, linearClassifier } from '../testing/fixtures.ts';
import type { Classifier } from '../models/classifier.ts';
import { Rng } from '../util/rng.ts';
import { evaluateRobustness } from './evaluate.ts';
import { apgdSuite, autoAttackSuite, getSuite, randSuite, type AttackSuite } from './suites.ts';
import { threatModel } from '../threat/threat.ts';
import { runAttack } from '../attacks/run.ts';
import { getAttack } from '../attacks/registry.ts';

await cpu();

test("the autoattack suite is AutoAttack's standard version, per norm; too few classes is a clear error", () => {
  const linf = autoAttackSuite.plan('linf', 10);
  assert.deepEqual(
    linf.steps.map((s) => [s.attack, s.config]),
    [
      ['apgd-ce', { steps: 100, restarts: 1 }],
      ['apgd-t', { steps: 100, restarts: 1, targetClasses: 9 }],
      ['fab-t', { steps: 100, restarts: 1, targetClasses: 9 }],
      ['square', { queries: 5000, pInit: 0.8 }],
    ],
  );
  assert.deepEqual(autoAttackSuite.plan('l2', 10).steps, linf.steps);
  const l1 = autoAttackSuite.plan('l1', 10);
  assert.deepEqual(
    l1.steps.map((s) => [s.attack, s.config]),
    [
      ['apgd-ce', { steps: 100, restarts: 5 }],
      ['apgd-t', { steps: 100, restarts: 1, targetClasses: 5 }],
      ['fab-t', { steps: 100, restarts: 1, targetClasses: 9 }],
    ],
  );
  assert.deepEqual(l1.skipped, [{ attack: 'square', reason: 'Square has no L1 version' }]);
  assert.deepEqual(
    autoAttackSuite.plan('linf', 5).steps.map((s) => s.config.targetClasses),
    [undefined, 4, 4, undefined],
    'targets capped at K − 1',
  );
  assert.throws(
    () => autoAttackSuite.plan('linf', 3),
    (e: any) => e.code === 'E_CONFIG' && e.option === 'suite' && /at least 4 classes/.test(e.message) && /3 classes/.test(e.message),
  );
  assert.match(apgdSuite.plan('linf', 3).skipped[0]!.reason, /at least 4 classes/);
  assert.equal(autoAttackSuite.label.startsWith('AutoAttack'), true);
  assert.equal(apgdSuite.label.includes('AutoAttack'), false, 'the APGD pair is never called AutoAttack');
  assert.throws(
    () => getSuite('autoatack'),
    (e: any) => e.code === 'E_CONFIG' && /did you mean autoattack/.test(e.message),
  );
});

/** A 4-class linear model on 4×4 images, and images it classifies as their labels. */
function setup(quantise: boolean): { model: Classifier; x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(5);
  const d = 16;
  const w = Array.from({ length: d }, () => Array.from({ length: 4 }, () => rng.normal()));
  const inner = linearClassifier(w, [0, 0, 0, 0], [4, 4, 1]);
  // Quantised inputs: tf.round has a zero gradient, so white-box attacks see nothing.
  const model: Classifier = quantise
    ? { ...inner, name: 'quantised', logits: (x) => tf.tidy(() => inner.logits(tf.div(tf.round(tf.mul(x, 4)), 4))) }
    : inner;
  const n = 40;
  const x = tf.tensor4d(
    Array.from({ length: n * d }, () => 0.3 + 0.4 * rng.next()),
    [n, 4, 4, 1],
  );
  const y = tf.tidy(() => tf.cast(tf.argMax(model.logits(x), 1), 'float32') as tf.Tensor1D);
  return { model, x, y };
}

/** AutoAttack's four attacks in its order, with budgets small enough for a unit test. */
const smallAutoAttack: AttackSuite = {
  ...autoAttackSuite,
  label: 'AutoAttack attacks at small budgets (test)',
  plan: (norm, k) => ({
    steps: autoAttackSuite.plan(norm, k).steps.map((s) => ({
      ...s,
      config: { ...s.config, ...(s.attack === 'square' ? { queries: 300 } : { steps: 10 }) },
    })),
    skipped: [],
  }),
};

test('a suite runs each attack on the survivors of the ones before; the report lists run_on and broke per step', () => {
  const { model, x, y } = setup(false);
  const before = tf.memory().numTensors;
  const { report, detail } = evaluateRobustness(
    model,
    { x, y },
    { attacks: ['fgsm'], eps: [0.05], suite: smallAutoAttack, sanityChecks: true },
  );
  const w = report.worst_case;
  assert.equal(w.suite, 'AutoAttack attacks at small budgets (test)');
  assert.deepEqual(
    w.sequence.map((s) => s.attack),
    ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
  );
  const fgsmLeft = detail.robust.get('fgsm@0.05')!.reduce((a, f) => a + f, 0);
  assert.equal(w.sequence[0]!.run_on, fgsmLeft, 'the suite starts from what --attacks left');
  for (let i = 1; i < w.sequence.length; i++) {
    assert.equal(w.sequence[i]!.run_on, w.sequence[i - 1]!.run_on - w.sequence[i - 1]!.broke, `step ${i} runs on the survivors`);
  }
  const last = w.sequence.at(-1)!;
  assert.equal(w.robust_accuracy, (last.run_on - last.broke) / report.n);
  assert.equal(
    detail.worst.get(0.05)!.reduce((a, f) => a + f, 0),
    last.run_on - last.broke,
  );
  assert.ok(
    w.sequence.some((s) => s.broke > 0),
    'the suite breaks some of what FGSM left',
  );
  assert.deepEqual(w.attacks, ['fgsm', 'apgd-ce', 'apgd-t', 'fab-t', 'square']);
  const check = report.checks.find((c) => c.code === 'square-beyond-white-box')!;
  assert.equal(check.skipped || check.passed, true, `a linear model masks nothing: ${check.detail}`);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});

test('gradient masking: Square breaks what the white-box attacks left, and square-beyond-white-box fails', () => {
  const { model, x, y } = setup(true);
  const { report } = evaluateRobustness(model, { x, y }, { attacks: [], eps: [0.05], suite: smallAutoAttack });
  const sq = report.worst_case.sequence.find((s) => s.attack === 'square')!;
  // The white-box attacks break only what their random starts stumble on; Square finds many of the rest.
  assert.ok(sq.run_on > 0 && sq.broke >= 0.1 * report.n, `Square breaks ${sq.broke} of the ${sq.run_on} the white-box attacks left`);
  const check = report.checks.find((c) => c.code === 'square-beyond-white-box')!;
  assert.equal(check.passed, false);
  assert.match(check.detail, /gradient masking suspected/);
  tf.dispose([x, y]);
});

test('the default suite is the APGD pair, labelled as such; worstCase: false runs none', () => {
  const { model, x, y } = setup(false);
  const { report } = evaluateRobustness(
    model,
    { x, y },
    { attacks: ['fgsm'], eps: [0.05], attackConfig: { 'apgd-ce': { steps: 5 }, 'apgd-t': { steps: 5 } } },
  );
  assert.equal(report.worst_case.suite, 'APGD-CE + APGD-T');
  assert.deepEqual(
    report.worst_case.sequence.map((s) => [s.attack, (s.config as { steps: number }).steps]),
    [
      ['apgd-ce', 5],
      ['apgd-t', 5],
    ],
  );
  const none = evaluateRobustness(model, { x, y }, { attacks: ['fgsm'], eps: [0.05], worstCase: false, sanityChecks: false }).report;
  assert.equal(none.worst_case.suite, null);
  assert.deepEqual(none.worst_case.sequence, []);
  tf.dispose([x, y]);
});

test('APGD with EOT: on a deterministic model the mean of identical gradients changes nothing; the cost counts the passes', () => {
  const { model, x, y } = setup(false);
  const th = threatModel('linf', 0.05);
  const one = runAttack('apgd-ce', model, x, y, th, { config: { steps: 8 }, seed: 2 });
  const five = runAttack('apgd-ce', model, x, y, th, { config: { steps: 8, eot: 5 }, seed: 2 });
  assert.deepEqual(Array.from(five.xAdv.dataSync()), Array.from(one.xAdv.dataSync()));
  assert.equal(getAttack('apgd-ce').cost({ ...getAttack('apgd-ce').defaults(th), eot: 20 }), 2000);
  assert.throws(
    () => runAttack('apgd-ce', model, x, y, th, { config: { eot: 0 } }),
    (e: any) => e.code === 'E_CONFIG' && e.option === 'eot',
  );
  tf.dispose([x, y, one.xAdv, five.xAdv]);
});

test('a randomized model: the deterministic check advises --suite rand; the rand suite runs APGD-CE and APGD-DLR with EOT 20', () => {
  const { model: inner, x, y } = setup(false);
  // Fresh noise on every forward pass: a randomized defence in miniature.
  const noisy: Classifier = {
    ...inner,
    name: 'noisy',
    logits: (q) => tf.tidy(() => tf.add(inner.logits(q), tf.randomNormal([q.shape[0], 4], 0, 0.05))),
  };
  const cheapRand: AttackSuite = {
    ...randSuite,
    plan: (norm, k) => ({
      steps: randSuite.plan(norm, k).steps.map((s) => ({ ...s, config: { ...s.config, steps: 3, eot: 4 } })),
      skipped: [],
    }),
  };
  const plain = evaluateRobustness(
    noisy,
    { x, y },
    { attacks: [], eps: [0.05], attackConfig: { 'apgd-ce': { steps: 3 }, 'apgd-t': { steps: 3 } } },
  );
  const det = plain.report.checks.find((c) => c.code === 'deterministic')!;
  assert.equal(det.passed, false);
  assert.match(det.detail, /--suite rand/);
  const rand = evaluateRobustness(noisy, { x, y }, { attacks: [], eps: [0.05], suite: cheapRand });
  assert.deepEqual(
    rand.report.worst_case.sequence.map((s) => [s.attack, (s.config as { eot: number }).eot]),
    [
      ['apgd-ce', 4],
      ['apgd-dlr', 4],
    ],
  );
  assert.match(rand.report.checks.find((c) => c.code === 'deterministic')!.detail, /evaluated with the rand suite/);
  assert.deepEqual(
    randSuite.plan('linf', 10).steps.map((s) => [s.attack, s.config]),
    [
      ['apgd-ce', { steps: 100, restarts: 1, eot: 20 }],
      ['apgd-dlr', { steps: 100, restarts: 1, eot: 20 }],
    ],
  );
  assert.throws(
    () => randSuite.plan('linf', 2),
    (e: any) => e.code === 'E_CONFIG' && e.option === 'suite',
  );
  tf.dispose([x, y]);
});
