import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { countDataSync, cpu, trainedMlp } from '../testing/fixtures.ts';
import { readFileSync } from 'node:fs';
import { evaluateRobustness, evaluateRobustnessAsync, predictLabels, type EvaluationReport } from './evaluate.ts';
import type { Classifier } from '../models/classifier.ts';
import { CHECK_DOCS, SANITY_CHECKS, sanityCheckSteps, skipCheck, checkOutcome, type CheckContext, type SanityCheck } from './checks.ts';
import { readHost, runHostSteps, runHostStepsAsync } from '../attacks/run.ts';

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
    (e: any) => e.code === 'E_CONFIG' && /^n: /.test(e.message),
  );
  assert.throws(
    () => evaluateRobustness(classifier, data, { ...opts, n: 1e6 }),
    (e: any) => /^n: /.test(e.message),
  );
  assert.throws(
    () => evaluateRobustness(classifier, data, { ...opts, eps: [-1] }),
    (e: any) => /^eps: /.test(e.message),
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

/** A report without its wall times, which are the only thing allowed to differ between runs. */
const timeless = (r: EvaluationReport) => {
  const worst = (w: EvaluationReport['worst_case']) => ({ ...w, sequence: w.sequence.map((s) => ({ ...s, seconds: 0 })) });
  return {
    ...r,
    seconds: 0,
    attacks: r.attacks.map((a) => ({ ...a, seconds: 0 })),
    worst_case: worst(r.worst_case),
    worst_case_by_eps: r.worst_case_by_eps.map(worst),
  };
};

const asTensors = () => ({
  x: tf.tensor4d(data.images, [data.n, data.height, data.width, data.channels]),
  y: tf.tensor1d(data.labels, 'int32'),
});

test('sanity checks are a registry: unique codes, CHECK_DOCS from it, reports in its order, documented', () => {
  const codes = SANITY_CHECKS.map((c) => c.code);
  assert.equal(new Set(codes).size, codes.length);
  assert.deepEqual(codes, [
    'finite-outputs',
    'monotone-eps',
    'pgd-le-fgsm',
    'zero-gradients',
    'logits-not-probabilities',
    'deterministic',
    'large-eps',
    'in-ball-and-box',
    'square-beyond-white-box',
  ]);
  assert.deepEqual(Object.keys(CHECK_DOCS), codes);
  for (const c of SANITY_CHECKS) assert.equal(CHECK_DOCS[c.code], c.description);
  const { report } = evaluateRobustness(classifier, data, { ...opts, eps: [0.05], n: 64 });
  assert.deepEqual(
    report.checks.map((c) => c.code),
    codes,
  );
  for (const c of report.checks) assert.deepEqual(Object.keys(c), ['code', 'passed', 'skipped', 'detail']);
  const doc = readFileSync(new URL('../../../../docs/checks.md', import.meta.url), 'utf8');
  for (const code of codes) assert.ok(doc.includes(`| \`${code}\` |`), `docs/checks.md documents ${code}`);
});

test('sanityCheckSteps runs any list of checks over a context, sync or async, and names results by the entry', async () => {
  const context: CheckContext = {
    model: classifier,
    norm: 'linf',
    eps: [0.1],
    bounds: [0, 1],
    seed: 0,
    attacks: [],
    worstCases: [],
    detail: { correct: new Uint8Array(0), robust: new Map(), worst: new Map() },
    probe: undefined,
    maxBallRatio: 0,
    adversarialPoints: 0,
  };
  const two = tf.tensor1d([2]);
  // A check that reads a tensor is written once as host steps.
  const custom = {
    code: 'in-ball-and-box',
    description: 'test',
    *run() {
      const [v] = yield* readHost(two);
      return checkOutcome(v![0] === 2, `read ${v![0]}`);
    },
  } satisfies SanityCheck;
  const plain = { code: 'deterministic', description: 'test', run: () => skipCheck('why not') } satisfies SanityCheck;
  const expected = [
    { code: 'in-ball-and-box', passed: true, skipped: false, detail: 'read 2' },
    { code: 'deterministic', passed: true, skipped: true, detail: 'skipped: why not' },
  ];
  assert.deepEqual(runHostSteps(sanityCheckSteps(context, [custom, plain])), expected);
  assert.deepEqual(await runHostStepsAsync(sanityCheckSteps(context, [custom, plain])), expected);
  // The default registry on an evaluation with no attack and no probe: every check skips.
  const results = runHostSteps(sanityCheckSteps(context));
  assert.deepEqual(
    results.filter((r) => r.skipped).map((r) => r.code),
    SANITY_CHECKS.map((c) => c.code),
  );
  assert.ok(results.find((r) => r.code === 'large-eps')!.detail.includes('no correctly classified example'));
  two.dispose();
});

test('evaluateRobustness on tensors {x, y} gives the ImageSet numbers and leaves the tensors to the caller', () => {
  const fromSet = evaluateRobustness(classifier, data, opts, 'blobs');
  const { x, y } = asTensors();
  const before = tf.memory().numTensors;
  const fromTensors = evaluateRobustness(classifier, { x, y }, opts, 'blobs');
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked, none of the caller disposed');
  assert.ok(!x.isDisposed && !y.isDisposed);
  assert.deepEqual(timeless(fromTensors.report), timeless(fromSet.report));
  assert.deepEqual(fromTensors.detail, fromSet.detail);
  // Float labels and an n below the tensors' count work too.
  const yf = tf.cast(y, 'float32') as tf.Tensor1D;
  const small = { ...opts, eps: [0.05], n: 50 };
  assert.deepEqual(
    timeless(evaluateRobustness(classifier, { x, y: yf }, small).report),
    timeless(evaluateRobustness(classifier, data, small).report),
  );
  assert.deepEqual(predictLabels(classifier, { x, y }, [5, 0, 399], 2), predictLabels(classifier, data, [5, 0, 399], 2));
  tf.dispose([x, y, yf]);
});

test('tensors of mismatched shapes are a ShapeError; n beyond them a ConfigError', () => {
  const x = tf.zeros([10, 1, 1, 8]) as tf.Tensor4D;
  const y = tf.zeros([9], 'int32') as tf.Tensor1D;
  assert.throws(
    () => evaluateRobustness(classifier, { x, y }, opts),
    (e: any) => e.code === 'E_SHAPE' && /x \[10,1,1,8\] and y \[9\]/.test(e.message),
  );
  const y10 = tf.zeros([10], 'int32') as tf.Tensor1D;
  assert.throws(
    () => evaluateRobustness(classifier, { x, y: y10 }, { ...opts, n: 11 }),
    (e: any) => e.code === 'E_CONFIG' && /at most the 10/.test(e.message),
  );
  tf.dispose([x, y, y10]);
});

test('evaluateRobustnessAsync: the same report and detail as the sync one, reading with data() and yielding between batches', async () => {
  const small = { ...opts, eps: [0.02, 0.05], n: 150 };
  const sync = evaluateRobustness(classifier, data, small, 'blobs');
  const before = tf.memory().numTensors;
  // fgsm and pgd (cross-entropy) never call dataSync themselves: every read of this evaluation is the
  // runner's. Count dataSync calls (the sync evaluation makes some) and event-loop turns.
  const fast = { ...small, attacks: ['fgsm', 'pgd'], worstCase: false };
  const syncNoWorst = await countDataSync(async () => evaluateRobustness(classifier, data, fast, 'blobs'));
  assert.ok(syncNoWorst.calls > 0, 'the spy sees the sync reads');
  let ticks = 0;
  let ticksSeen = 0;
  const timer = setInterval(() => ticks++, 0);
  const { value: result, calls: syncReads } = await countDataSync(() =>
    evaluateRobustnessAsync(classifier, data, { ...fast, onProgress: () => (ticksSeen = ticks) }, 'blobs').finally(() =>
      clearInterval(timer),
    ),
  );
  assert.equal(syncReads, 0, 'no dataSync in the async evaluation');
  assert.ok(ticksSeen > 0, 'timers ran while the evaluation was under way');
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(timeless(result.report), timeless(syncNoWorst.value.report));
  assert.deepEqual(result.detail, syncNoWorst.value.detail);
  // With the worst case (APGD) and on tensors: still the sync numbers.
  const { x, y } = asTensors();
  const full = await evaluateRobustnessAsync(classifier, { x, y }, small, 'blobs');
  assert.deepEqual(timeless(full.report), timeless(sync.report));
  assert.deepEqual(full.detail, sync.detail);
  tf.dispose([x, y]);
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(evaluateRobustnessAsync(classifier, data, { ...opts, n: 0 }), (e: any) => e.code === 'E_CONFIG');
});

test('sanity-check failures are the same through the async evaluation', async () => {
  const probs: Classifier = { ...classifier, logits: (x) => tf.tidy(() => tf.softmax(classifier.logits(x)) as tf.Tensor2D) };
  const small = { ...opts, eps: [0.05], n: 100, attacks: ['fgsm'], worstCase: false };
  const a = await evaluateRobustnessAsync(probs, data, small);
  const s = evaluateRobustness(probs, data, small);
  assert.deepEqual(a.report.checks, s.report.checks);
  assert.ok(a.report.checks.some((c) => c.code === 'logits-not-probabilities' && !c.passed));
});

test('ε = 0 in a sweep: robust accuracy equals clean accuracy for every attack and the worst case; checks pass', () => {
  const { report } = evaluateRobustness(classifier, data, { ...opts, eps: [0, 0.05] }, 'blobs');
  for (const a of report.attacks.filter((r) => r.eps === 0)) assert.equal(a.robust_accuracy, report.clean_accuracy, a.name);
  assert.equal(report.worst_case_by_eps.find((w) => w.eps === 0)!.robust_accuracy, report.clean_accuracy);
  assert.ok(
    report.checks.every((c) => c.passed),
    JSON.stringify(report.checks),
  );
});
