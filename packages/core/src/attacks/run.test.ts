import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { countDataSync, cpu, nanProposalCase, trainedMlp } from '../testing/fixtures.ts';
import { threatModel } from '../threat/threat.ts';
import {
  pauseHost,
  readHost,
  runAttack,
  runAttackAsync,
  runHostSteps,
  runHostStepsAsync,
  type AttackResult,
  type HostSteps,
} from './run.ts';

await cpu();
const { classifier, test: data } = trainedMlp(5, 8, 4);
/** Fresh inputs per run: on the cpu backend APGD-T's tensorScatterUpdate writes into the buffer of the x it was given. */
const inputs = () => ({ x: tf.tensor4d(data.images.slice(0, 48 * 8), [48, 1, 1, 8]), y: tf.tensor1d(data.labels.slice(0, 48), 'int32') });
const { x, y } = inputs();

const plain = (r: AttackResult) => ({
  xAdv: Array.from(r.xAdv.dataSync()),
  success: r.success,
  pred: r.pred,
  confidence: r.confidence,
  distance: r.distance,
});

test('runAttackAsync gives runAttack’s result, attack by attack, without leaking tensors', async () => {
  const cases = [
    ['fgsm', threatModel('linf', 0.1), {}],
    ['pgd', threatModel('l2', 0.5), { config: { steps: 10 }, seed: 4 }],
    ['apgd-t', threatModel('linf', 0.08), { config: { steps: 10, targetClasses: 3 }, seed: 2 }],
  ] as const;
  for (const [name, th, opts] of cases) {
    const first = inputs();
    const s = runAttack(name, classifier, first.x, first.y, th, opts);
    const second = inputs();
    const before = tf.memory().numTensors;
    const a = await runAttackAsync(name, classifier, second.x, second.y, th, opts);
    assert.equal(tf.memory().numTensors, before + 1, `${name}: only xAdv is new`);
    assert.deepEqual(plain(a), plain(s), name);
    assert.ok(
      s.success.some((v) => v === 1),
      `${name} fools some examples`,
    );
    tf.dispose([s.xAdv, a.xAdv, first.x, first.y, second.x, second.y]);
  }
});

test('runAttackAsync reads the trust boundary with data(), not dataSync()', async () => {
  const sync = await countDataSync(async () => runAttack('fgsm', classifier, x, y, threatModel('linf', 0.1)));
  assert.ok(sync.calls > 0, 'the sync runner is seen');
  sync.value.xAdv.dispose();
  const r = await countDataSync(() => runAttackAsync('fgsm', classifier, x, y, threatModel('linf', 0.1)));
  assert.equal(r.calls, 0);
  r.value.xAdv.dispose();
});

test('runAttackAsync rejects what runAttack throws on: NaN proposals, inputs outside the box, missing targets', async () => {
  const { model, x: x1, y: y1, nanAttack } = nanProposalCase();
  const before = tf.memory().numTensors;
  await assert.rejects(runAttackAsync(nanAttack, model, x1, y1, threatModel('linf', 0.1)), (e: any) => e.code === 'E_NAN');
  const x255 = tf.tensor4d([200, 10], [1, 1, 1, 2]);
  await assert.rejects(
    runAttackAsync('fgsm', model, x255, y1, threatModel('linf', 0.1)),
    (e: any) => e.code === 'E_CONFIG' && e.option === 'bounds' && /values in \[10, 200\]/.test(e.message),
  );
  await assert.rejects(runAttackAsync('pgd-targeted', model, x1, y1, threatModel('linf', 0.1)), (e: any) => e.code === 'E_ATTACK');
  x255.dispose();
  assert.equal(tf.memory().numTensors, before, 'failures dispose what they made');
  tf.dispose([x1, y1]);
});

test('host steps: one generator, two runners; a failed read is thrown into the steps so they clean up', async () => {
  const log: string[] = [];
  function* steps(t: tf.Tensor): HostSteps<number> {
    try {
      const [a] = yield* readHost(t);
      yield* pauseHost();
      return a![0]! + 1;
    } finally {
      log.push('finally');
    }
  }
  const t = tf.scalar(41);
  assert.equal(runHostSteps(steps(t)), 42);
  assert.equal(await runHostStepsAsync(steps(t)), 42);
  t.dispose(); // reading a disposed tensor throws inside the runner
  assert.throws(() => runHostSteps(steps(t)), /disposed/);
  await assert.rejects(runHostStepsAsync(steps(t)), /disposed/);
  assert.deepEqual(log, ['finally', 'finally', 'finally', 'finally']);
  // The async runner lets timers run on a pause; the sync one does not wait.
  let fired = false;
  setTimeout(() => {
    fired = true;
  }, 0);
  function* pauseThenLook(): HostSteps<boolean> {
    yield* pauseHost();
    return fired;
  }
  assert.equal(runHostSteps(pauseThenLook()), false);
  assert.equal(await runHostStepsAsync(pauseThenLook()), true);
});

test('ε = 0: every attack returns x itself and success is the clean misclassification, for any configuration', () => {
  for (const name of ['fgsm', 'pgd', 'bim', 'mi-fgsm', 'apgd-ce', 'apgd-t']) {
    const r = runAttack(name, classifier, x, y, threatModel('linf', 0), { config: { steps: 3 } });
    const clean = tf.tidy(() => tf.notEqual(tf.argMax(classifier.logits(x), 1), y).dataSync());
    assert.deepEqual([...r.success], [...clean], name);
    assert.ok(
      r.distance.every((d) => d === 0),
      name,
    );
    r.xAdv.dispose();
  }
});
