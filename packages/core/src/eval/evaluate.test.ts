import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, trainedMlp } from '../testing/fixtures.ts';
import { evaluateRobustness } from './evaluate.ts';
import type { Classifier } from '../models/classifier.ts';
import { CHECK_DOCS } from './checks.ts';

await cpu();
const { classifier, test: data } = trainedMlp(11, 8, 4);
const opts = {
  attacks: ['fgsm', 'pgd'],
  eps: [0.02, 0.05, 0.1],
  norm: 'linf' as const,
  n: 200,
  batchSize: 64,
  seed: 1,
  attackConfig: { pgd: { steps: 10 }, 'apgd-ce': { steps: 10 }, 'apgd-t': { steps: 10, targetClasses: 3 } },
};

test('evaluation: clean accuracy, robust ≤ clean, worst case ≤ every attack, per class, all checks', () => {
  const { report, detail } = evaluateRobustness(classifier, data, opts, 'blobs');
  const direct = tf.tidy(() => {
    const x = tf.tensor4d(data.images.subarray(0, 200 * 8), [200, 1, 1, 8]);
    const y = tf.tensor1d(data.labels.subarray(0, 200), 'int32');
    return tf.sum(tf.cast(tf.equal(tf.argMax(classifier.logits(x), 1), y), 'int32')).dataSync()[0]! / 200; // exact count
  });
  assert.ok(Math.abs(report.clean_accuracy - direct) < 1e-9);
  assert.equal(report.attacks.length, 6);
  for (const a of report.attacks) {
    assert.ok(a.robust_accuracy <= report.clean_accuracy);
    assert.equal(a.per_class.length, 4);
    const w = report.worst_case_by_eps.find((x) => x.eps === a.eps)!;
    assert.ok(w.robust_accuracy <= a.robust_accuracy, `worst case ${w.robust_accuracy} > ${a.name} ${a.robust_accuracy}`);
  }
  // Per-example: robust under the worst case ⇒ robust under every attack and correct on clean.
  for (const eps of opts.eps) {
    const w = detail.worst.get(eps)!;
    for (let i = 0; i < 200; i++)
      if (w[i]) assert.ok(detail.correct[i] && detail.robust.get(`fgsm@${eps}`)![i] && detail.robust.get(`pgd@${eps}`)![i]);
  }
  assert.deepEqual(report.worst_case.attacks, ['fgsm', 'pgd', 'apgd-ce', 'apgd-t']);
  // Per-class clean accuracy averages back to the overall accuracy (classes are balanced here).
  const avg = report.clean_per_class.reduce((a, b) => a + b, 0) / 4;
  assert.ok(Math.abs(avg - report.clean_accuracy) < 1e-9);
  assert.deepEqual(new Set(report.checks.map((c) => c.code)), new Set(Object.keys(CHECK_DOCS)));
  for (const c of report.checks) assert.ok(c.passed, `${c.code}: ${c.detail}`);
  assert.ok(report.worst_case.robust_accuracy < report.clean_accuracy, 'attacks bite');
  JSON.parse(JSON.stringify(report));
});

test('evaluation uses the first n examples in order and is deterministic for a seed', () => {
  const a = evaluateRobustness(classifier, data, { ...opts, eps: [0.05] }, 'blobs').report;
  const b = evaluateRobustness(classifier, data, { ...opts, eps: [0.05] }, 'blobs').report;
  assert.equal(a.worst_case.robust_accuracy, b.worst_case.robust_accuracy);
  assert.deepEqual(
    a.attacks.map((x) => x.robust_accuracy),
    b.attacks.map((x) => x.robust_accuracy),
  );
});

test('sanity checks fail where they should: probabilities, randomness, zero gradients', () => {
  const probs: Classifier = { ...classifier, logits: (x) => tf.tidy(() => tf.softmax(classifier.logits(x)) as tf.Tensor2D) };
  let calls = 0;
  const noisy: Classifier = { ...classifier, logits: (x) => tf.tidy(() => tf.add(classifier.logits(x), ++calls * 1e-3) as tf.Tensor2D) };
  // A model that rounds its input has a zero gradient almost everywhere: masked gradients.
  const masked: Classifier = {
    ...classifier,
    logits: (x) => tf.tidy(() => classifier.logits(tf.div(tf.round(tf.mul(x, 4)), 4) as tf.Tensor4D)),
  };
  const small = { ...opts, eps: [0.05], n: 100, attacks: ['fgsm'], worstCase: false };
  const failed = (m: Classifier) =>
    new Set(
      evaluateRobustness(m, data, small)
        .report.checks.filter((c) => !c.passed)
        .map((c) => c.code),
    );
  assert.ok(failed(probs).has('logits-not-probabilities'));
  assert.ok(failed(noisy).has('deterministic'));
  const m = failed(masked);
  assert.ok(m.has('zero-gradients'), [...m].join(','));
  assert.ok(m.has('large-eps'), 'masked gradients make PGD at ε = 1 fail too');
});

test('bad options are typed errors naming the flag', () => {
  assert.throws(
    () => evaluateRobustness(classifier, data, { ...opts, n: 0 }),
    (e: any) => e.code === 'E_CONFIG' && /--n/.test(e.message),
  );
  assert.throws(
    () => evaluateRobustness(classifier, data, { ...opts, n: 1e6 }),
    (e: any) => /--n/.test(e.message),
  );
  assert.throws(
    () => evaluateRobustness(classifier, data, { ...opts, eps: [-1] }),
    (e: any) => /--eps/.test(e.message),
  );
  assert.throws(
    () => evaluateRobustness(classifier, data, { ...opts, attacks: ['fgsn'] }),
    (e: any) => /did you mean fgsm/.test(e.message),
  );
});

test('tf.js memory: numTensors does not grow across evaluations', () => {
  const small = { ...opts, eps: [0.05], n: 64 };
  evaluateRobustness(classifier, data, small);
  const before = tf.memory().numTensors;
  evaluateRobustness(classifier, data, small);
  evaluateRobustness(classifier, data, small);
  assert.equal(tf.memory().numTensors, before);
});

test("a model in its own pixel space (inputs 0–255, ε × 255) gets the [0,1] model's numbers and checks", () => {
  // The same function of the image: the wrapper divides by 255 before the [0,1] model.
  const in255: Classifier = {
    ...classifier,
    name: 'mlp-255',
    bounds: [0, 255],
    logits: (x) => tf.tidy(() => classifier.logits(tf.div(x, 255))),
  };
  const data255 = { ...data, images: data.images.map((v) => v * 255) };
  const base = { ...opts, eps: [0.05], attacks: ['pgd'], worstCase: false };
  const a = evaluateRobustness(classifier, data, base).report;
  const b = evaluateRobustness(in255, data255, { ...base, eps: [0.05 * 255] }).report;
  assert.equal(b.clean_accuracy, a.clean_accuracy);
  assert.ok(
    Math.abs(b.attacks[0]!.robust_accuracy - a.attacks[0]!.robust_accuracy) <= 0.01,
    `${b.attacks[0]!.robust_accuracy} vs ${a.attacks[0]!.robust_accuracy}`,
  );
  const verdicts = (r: typeof a) => r.checks.map((c) => [c.code, c.passed, c.skipped]);
  assert.deepEqual(verdicts(b), verdicts(a));
  assert.ok(
    b.checks.every((c) => c.passed),
    JSON.stringify(b.checks),
  );
  assert.ok(
    b.checks.some((c) => c.code === 'large-eps' && !c.skipped),
    'the large-ε check ran, over the 0–255 box',
  );
});
