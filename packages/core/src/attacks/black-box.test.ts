// A model known only by its answers (AsyncClassifier: logitsAsync, no gradients) is attacked by Square under
// the async runner, through the same trust boundary, with the same result as the differentiable original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, linearClassifier } from '../testing/fixtures.ts';
import type { AsyncClassifier } from '../models/classifier.ts';
import { threatModel } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import { runAttack, runAttackAsync } from './run.ts';
import { evaluateRobustness, evaluateRobustnessAsync } from '../eval/evaluate.ts';
import { squareSuite, type AttackSuite } from '../eval/suites.ts';

await cpu();

function setup() {
  const rng = new Rng(11);
  const w = Array.from({ length: 16 }, () => Array.from({ length: 4 }, () => rng.normal()));
  const model = linearClassifier(w, [0, 0, 0, 0], [4, 4, 1]);
  const x = tf.tensor4d(
    Array.from({ length: 24 * 16 }, () => 0.3 + 0.4 * rng.next()),
    [24, 4, 4, 1],
  );
  const y = tf.tidy(() => tf.cast(tf.argMax(model.logits(x), 1), 'float32') as tf.Tensor1D);
  let calls = 0;
  const blackBox: AsyncClassifier = {
    name: 'black box',
    numClasses: 4,
    inputShape: [4, 4, 1],
    logitsAsync: async (q) => {
      calls++;
      await new Promise((r) => setTimeout(r, 0));
      return model.logits(q);
    },
  };
  return { model, blackBox, x, y, calls: () => calls };
}

test('Square on an AsyncClassifier (async runner) gives the points and verdicts it gives on the same model as a Classifier', async () => {
  const { model, blackBox, x, y, calls } = setup();
  for (const [norm, eps] of [
    ['linf', 0.05],
    ['l2', 0.3],
  ] as const) {
    const th = threatModel(norm, eps);
    const before = tf.memory().numTensors;
    const sync = runAttack('square', model, x, y, th, { config: { queries: 60 }, seed: 4 });
    const asyncR = await runAttackAsync('square', blackBox, x, y, th, { config: { queries: 60 }, seed: 4 });
    assert.deepEqual(Array.from(asyncR.xAdv.dataSync()), Array.from(sync.xAdv.dataSync()), `${norm}: same points`);
    assert.deepEqual(asyncR.success, sync.success);
    assert.deepEqual(asyncR.pred, sync.pred);
    for (let i = 0; i < sync.confidence.length; i++) assert.ok(Math.abs(asyncR.confidence[i]! - sync.confidence[i]!) < 1e-6);
    assert.ok(
      sync.success.some((s) => s === 1),
      `${norm}: Square fools some examples`,
    );
    tf.dispose([sync.xAdv, asyncR.xAdv]);
    assert.equal(tf.memory().numTensors, before, `${norm}: no tensor left behind`);
  }
  assert.ok(calls() > 2, 'the black box was queried');
  tf.dispose([x, y]);
});

test('a black box under the sync runner, or a gradient attack on a black box, is a clear AttackError', async () => {
  const { blackBox, x, y } = setup();
  const th = threatModel('linf', 0.05);
  assert.throws(
    () => runAttack('square', blackBox, x, y, th, { config: { queries: 5 } }),
    (e: any) => e.code === 'E_ATTACK' && /answers only asynchronously/.test(e.message),
  );
  await assert.rejects(
    runAttackAsync('pgd', blackBox, x, y, th),
    (e: any) => e.code === 'E_ATTACK' && /pgd needs the model's gradients/.test(e.message) && /square/.test(e.message),
  );
  tf.dispose([x, y]);
});

test('evaluateRobustnessAsync of a black box with the square suite: the numbers of the same model as a Classifier; gradient checks skip', async () => {
  const { model, blackBox, x, y } = setup();
  const cheapSquare: AttackSuite = {
    ...squareSuite,
    plan: (norm, k) => ({
      steps: squareSuite.plan(norm, k).steps.map((s) => ({ ...s, config: { ...s.config, queries: 80 } })),
      skipped: [],
    }),
  };
  const options = { attacks: [], eps: [0.05], suite: cheapSquare };
  const white = evaluateRobustness(model, { x, y }, options).report;
  const black = (await evaluateRobustnessAsync(blackBox, { x, y }, options)).report;
  assert.equal(black.clean_accuracy, white.clean_accuracy);
  assert.equal(black.worst_case.robust_accuracy, white.worst_case.robust_accuracy);
  assert.ok(black.worst_case.robust_accuracy < black.clean_accuracy, 'Square breaks some');
  const byCode = Object.fromEntries(black.checks.map((c) => [c.code, c]));
  for (const code of ['finite-outputs', 'zero-gradients', 'logits-not-probabilities', 'deterministic', 'large-eps']) {
    assert.equal(byCode[code]!.skipped, true, code);
    assert.match(byCode[code]!.detail, /black-box model/);
  }
  assert.equal(byCode['in-ball-and-box']!.passed, true);
  assert.equal(byCode['in-ball-and-box']!.skipped, false);
  assert.throws(
    () => evaluateRobustness(blackBox, { x, y }, options),
    (e: any) => e.code === 'E_ATTACK' && /answers only asynchronously/.test(e.message),
  );
  assert.throws(
    () => squareSuite.plan('l1', 4),
    (e: any) => e.code === 'E_CONFIG' && e.option === 'suite',
  );
  tf.dispose([x, y]);
});
