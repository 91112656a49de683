// advlab eval on an ONNX model: black-box, Square only, through the same trust boundary and report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pngBytes } from '../../packages/node/src/data/testing.ts';
import { advlab } from '../faults/harness.ts';

const ONNX = join(import.meta.dirname, '../fixtures/tiny-cnn.onnx');
const work = mkdtempSync(join(tmpdir(), 'advlab-black-box-'));
const data = join(work, 'png');
// 5 classes of 12×12 RGB images, 10 each (2 held out per class): the fixture model's input and classes.
for (let c = 0; c < 5; c++) {
  mkdirSync(join(data, `class${c}`), { recursive: true });
  for (let i = 0; i < 10; i++) {
    writeFileSync(
      join(data, `class${c}`, `${i}.png`),
      pngBytes(12, 12, (x, y) => [(x * 20 + c * 50 + i * 7) % 256, (y * 20 + c * 30) % 256, (x * y + c * 40 + i) % 256]),
    );
  }
}

test('advlab eval --model model.onnx: the Square suite by default, gradient checks skipped as a black box', async () => {
  const out = join(work, 'eval.json');
  const { outcome, stderr, stdout } = await advlab([
    'eval',
    '--model',
    ONNX,
    '--data',
    `png:${data}`,
    '--eps',
    '0.05',
    '--backend',
    'cpu',
    '--json',
    out,
  ]);
  assert.equal(outcome.kind, 'ok', stderr);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(r.attacks, [], 'no single attack: a black box has no gradients');
  assert.equal(r.worst_case.suite, 'Square (black-box, 5000 queries)');
  assert.deepEqual(
    r.worst_case.sequence.map((s: { attack: string }) => s.attack),
    ['square'],
  );
  assert.ok(r.worst_case.robust_accuracy <= r.clean_accuracy);
  const zero = r.checks.find((c: { code: string }) => c.code === 'zero-gradients');
  assert.equal(zero.skipped, true);
  assert.match(zero.detail, /black-box model/);
  assert.match(stdout, /worst-case suite at ε=0.05: Square/);
});

test('a gradient attack on an ONNX model is a typed error that points to Square', async () => {
  const { outcome } = await advlab(['eval', '--model', ONNX, '--data', `png:${data}`, '--attacks', 'pgd', '--backend', 'cpu']);
  assert.equal(outcome.kind, 'typed');
  assert.ok(outcome.kind === 'typed' && outcome.code === 'E_ATTACK' && /square/.test(outcome.message), JSON.stringify(outcome));
});

test('--attacks none: on a tf.js model, the worst-case suite alone, from every clean-correct example', async () => {
  const run = join(work, 'mlp-run');
  let r = await advlab(['train', '--model', 'mlp', '--data', `png:${data}`, '--epochs', '2', '--backend', 'cpu', '--out', run]);
  assert.equal(r.outcome.kind, 'ok', r.stderr);
  const out = join(work, 'none.json');
  r = await advlab(['eval', '--model', run, '--attacks', 'none', '--apgd-steps', '5', '--eps', '0.05', '--backend', 'cpu', '--json', out]);
  assert.equal(r.outcome.kind, 'ok', r.stderr);
  const e = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(e.attacks, []);
  assert.equal(e.worst_case.suite, 'APGD-CE + APGD-T');
  assert.equal(e.worst_case.sequence[0].run_on, Math.round(e.clean_accuracy * e.n), 'the first step runs on every clean-correct example');
});
