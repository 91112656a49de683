import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { blobs, cpu } from '../testing/fixtures.ts';
import { classifierFromLayersModel, type Classifier, type ClassifierOptions } from '../models/classifier.ts';
import { runHostSteps, runHostStepsAsync } from '../attacks/run.ts';
import { type CheckContext, type CheckResult, SANITY_CHECKS, sanityCheckSteps } from './checks.ts';
import { evaluateRobustness } from './evaluate.ts';

await cpu();

const D = 8;
const K = 4;
const data = blobs(64, D, K, 3);

/** flatten → dense(K, activation): a tiny tf.js classifier on [1, 1, D] inputs. */
function tinyModel(activation: string, opts: ClassifierOptions = {}): Classifier {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [1, 1, D] }),
      tfl.layers.dense({
        units: K,
        // 'logSoftmax' is a registered tfjs-layers activation its ActivationIdentifier type leaves out.
        activation: activation as 'linear',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }),
        biasInitializer: 'zeros',
      }),
    ],
  });
  return classifierFromLayersModel(model, opts);
}

/** A linear model whose kernel is all NaN (as after a diverged training run). */
function nanModel(): Classifier {
  const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [1, 1, D] }), tfl.layers.dense({ units: K })] });
  const dense = model.layers[1]!;
  const [kernel, bias] = dense.getWeights();
  const nan = tf.fill(kernel!.shape, Number.NaN);
  dense.setWeights([nan, bias!]);
  nan.dispose();
  return classifierFromLayersModel(model);
}

/** A context holding only a probe: x, and the model's own predictions as labels (the probe is the clean-correct examples). */
function probeContext(model: Classifier, x: tf.Tensor4D): CheckContext {
  const y = tf.tidy(() => tf.cast(tf.argMax(model.logits(x), 1), 'int32') as tf.Tensor1D);
  return {
    model,
    norm: 'linf',
    eps: [0.1],
    bounds: [0, 1],
    seed: 0,
    attacks: [],
    worstCases: [],
    detail: { correct: new Uint8Array(0), robust: new Map(), worst: new Map() },
    probe: { x, y },
    maxBallRatio: 0,
    adversarialPoints: 0,
  };
}

const probeX = () => tf.tensor4d(data.images, [data.n, 1, 1, D]);

/**
 * Runs the checks named `codes` (all when omitted) on `model` over a probe of the blobs images, sync; checks the
 * async runner gives the same results and that neither leaves a tensor behind.
 */
async function runChecks(model: Classifier, codes?: string[], x: tf.Tensor4D = probeX()): Promise<Map<string, CheckResult>> {
  const context = probeContext(model, x);
  const checks = codes ? SANITY_CHECKS.filter((c) => codes.includes(c.code)) : SANITY_CHECKS;
  try {
    const before = tf.memory().numTensors;
    const sync = runHostSteps(sanityCheckSteps(context, checks));
    assert.equal(tf.memory().numTensors, before, 'the checks leak no tensor (sync)');
    const async = await runHostStepsAsync(sanityCheckSteps(context, checks));
    assert.equal(tf.memory().numTensors, before, 'the checks leak no tensor (async)');
    assert.deepEqual(async, sync);
    return new Map(sync.map((r) => [r.code, r]));
  } finally {
    tf.dispose([context.probe!.x, context.probe!.y]);
  }
}

const PROBE_CHECKS = ['finite-outputs', 'zero-gradients', 'logits-not-probabilities'];

test('finite-outputs comes first (a broken model makes the other checks meaningless); docs/checks.md documents every code', () => {
  assert.equal(SANITY_CHECKS[0]!.code, 'finite-outputs');
  const doc = readFileSync(new URL('../../../../docs/checks.md', import.meta.url), 'utf8');
  for (const { code } of SANITY_CHECKS) assert.ok(doc.includes(`| \`${code}\` |`), `docs/checks.md documents ${code}`);
});

test('NaN weights: finite-outputs fails, zero-gradients does not pass, logits-not-probabilities cannot judge', async () => {
  const r = await runChecks(nanModel(), PROBE_CHECKS);
  const finite = r.get('finite-outputs')!;
  assert.equal(finite.passed, false);
  assert.equal(finite.skipped, false);
  assert.equal(
    finite.detail,
    `${data.n} of ${data.n} examples have NaN or ±Infinity: ${data.n} in their logits, ${data.n} in their input gradient of the loss`,
  );
  const zero = r.get('zero-gradients')!;
  assert.equal(zero.passed, false, zero.detail);
  assert.match(
    zero.detail,
    new RegExp(`^0 of ${data.n} examples have an all-zero input gradient; ${data.n} of ${data.n} have NaN or ±Infinity`),
  );
  const probs = r.get('logits-not-probabilities')!;
  assert.equal(probs.skipped, true);
  assert.match(probs.detail, /see finite-outputs/);
});

test('finite-outputs counts logits and gradients apart: sqrt has finite values but an infinite slope at 0', async () => {
  const sqrt: Classifier = {
    name: 'sqrt',
    numClasses: 3,
    inputShape: [1, 1, 3],
    logits: (x) => tf.tidy(() => tf.sqrt(tf.reshape(x, [x.shape[0], 3])) as tf.Tensor2D),
  };
  const x = tf.tensor4d([0.2, 0.5, 0.9, 0, 0.5, 0.9, 0.3, 0.4, 0.8], [3, 1, 1, 3]);
  const r = await runChecks(sqrt, PROBE_CHECKS, x);
  assert.equal(r.get('finite-outputs')!.passed, false);
  assert.equal(
    r.get('finite-outputs')!.detail,
    '1 of 3 examples have NaN or ±Infinity: 0 in their logits, 1 in their input gradient of the loss',
  );
  assert.equal(r.get('zero-gradients')!.passed, false);
  assert.equal(
    r.get('zero-gradients')!.detail,
    '0 of 3 examples have an all-zero input gradient; 1 of 3 have NaN or ±Infinity in theirs (not a usable gradient)',
  );
});

test('a model with NaN weights through evaluateRobustness: the report opens with a failed finite-outputs', () => {
  const model = nanModel();
  const before = tf.memory().numTensors;
  const { report } = evaluateRobustness(model, data, { attacks: ['fgsm'], eps: [0.1], n: 32, worstCase: false });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(report.clean_accuracy > 0, 'NaN logits still "classify" some examples (argMax of a NaN row is 0)');
  assert.deepEqual(
    report.checks.slice(0, 1).map((c) => [c.code, c.passed, c.skipped]),
    [['finite-outputs', false, false]],
  );
  assert.equal(report.checks.find((c) => c.code === 'zero-gradients')!.passed, false);
});

test('logits-not-probabilities names the squashing: softmax, sigmoid, log-softmax', async () => {
  const cases: [string, Classifier, string][] = [
    // The wrapper sees the softmax and turns it into log-probabilities itself: declared.
    ['softmax (declared)', tinyModel('softmax'), 'squashing: softmax; the model ends in a softmax'],
    // Forced to pass the probabilities through: the rows give it away.
    ['softmax (rows)', tinyModel('softmax', { outputsProbabilities: false }), 'squashing: softmax; on all 64 examples every output is ≥ 0'],
    ['sigmoid', tinyModel('sigmoid'), 'squashing: sigmoid; on all 64 examples every output lies in [0, 1]'],
    ['log-softmax', tinyModel('logSoftmax'), 'squashing: log-softmax; on all 64 examples each row has logsumexp 0'],
  ];
  for (const [name, model, detail] of cases) {
    const r = (await runChecks(model)).get('logits-not-probabilities')!;
    assert.equal(r.passed, false, name);
    assert.equal(r.skipped, false, name);
    assert.ok(r.detail.startsWith(detail), `${name}: ${r.detail}`);
  }
});

test('ordinary linear logits: finite-outputs, zero-gradients and logits-not-probabilities pass', async () => {
  const r = await runChecks(tinyModel('linear'));
  for (const code of PROBE_CHECKS) assert.equal(r.get(code)!.passed && !r.get(code)!.skipped, true, `${code}: ${r.get(code)!.detail}`);
  assert.equal(r.get('finite-outputs')!.detail, `logits and input gradients are finite on all ${data.n} examples`);
  assert.equal(r.get('zero-gradients')!.detail, `0 of ${data.n} examples have an all-zero input gradient`);
  assert.match(r.get('logits-not-probabilities')!.detail, /^outputs are logits/);
  assert.deepEqual(
    [...r.keys()],
    SANITY_CHECKS.map((c) => c.code),
  );
});

test('a squashing is named only when every row of the probe shows it', async () => {
  // The identity model: its logits are the input rows, so each case spells out the outputs.
  const identity: Classifier = {
    name: 'identity',
    numClasses: 3,
    inputShape: [1, 1, 3],
    logits: (x) => tf.tidy(() => tf.reshape(x, [x.shape[0], 3]) as tf.Tensor2D),
  };
  const verdict = async (rows: number[][]) => {
    const x = tf.tensor4d(rows.flat(), [rows.length, 1, 1, 3]);
    const r = (await runChecks(identity, ['logits-not-probabilities'], x)).get('logits-not-probabilities')!;
    return r.skipped ? 'skipped' : r.passed ? 'logits' : r.detail.split(';')[0]!;
  };
  const probs = [
    [0.2, 0.3, 0.5],
    [0.1, 0.1, 0.8],
    [0.9, 0.05, 0.05],
  ];
  assert.equal(await verdict(probs), 'squashing: softmax');
  // One row in [0, 1] that does not sum to 1: no longer softmax, still a sigmoid's range.
  assert.equal(await verdict([...probs, [0.5, 0.7, 0.1]]), 'squashing: sigmoid');
  // One row with a negative or a value above 1: ordinary logits.
  assert.equal(await verdict([...probs, [0.5, 0.7, -0.1]]), 'logits');
  assert.equal(await verdict([...probs, [0.5, 1.7, 0.1]]), 'logits');
  const logs = probs.map((r) => r.map(Math.log));
  assert.equal(await verdict(logs), 'squashing: log-softmax');
  // Every output ≤ 0 but one row's logsumexp is far from 0: logits.
  assert.equal(await verdict([...logs, [-1, -2, -3]]), 'logits');
  // A non-finite row cannot be judged.
  assert.equal(await verdict([...probs, [Number.NaN, 0, 0]]), 'skipped');
});
