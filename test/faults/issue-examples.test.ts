// The examples of issue 11 ("Nothing lost, nothing crashes"), each as the user met it on the command line:
// now a typed error naming what the user gave, or the right result — and the inputs intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { acquireRunLock, saveModel } from '@advlab/node';
import { idxBytes, pngBytes, writeIdxDataset } from '../../packages/node/src/data/testing.ts';
import { advlab, snapshot } from './harness.ts';

const work = mkdtempSync(join(tmpdir(), 'advlab-issue11-'));
const data = join(work, 'data');
const run = join(work, 'run');
const model = join(run, 'model');
const cpu = ['--backend', 'cpu'];
const TRAIN = ['--model', 'mlp', '--data', `idx:${data}`, '--epochs', '2', '--held-out', '8', '--batch-size', '16', ...cpu];

async function typed(argv: string[], code: string, pattern: RegExp): Promise<string> {
  const { outcome, stderr } = await advlab(argv);
  assert.equal(outcome.kind, 'typed', `${argv.join(' ')}: ${stderr.slice(-600)}`);
  assert.ok(outcome.kind === 'typed');
  assert.equal(outcome.code, code, outcome.message);
  assert.match(outcome.message, pattern);
  return outcome.message;
}
async function ok(argv: string[]): Promise<void> {
  const { outcome, stderr } = await advlab(argv);
  assert.equal(outcome.kind, 'ok', `${argv.join(' ')}: ${stderr.slice(-600)}`);
}
/** A copy of the trained run, damaged by `damage`. */
function damagedRun(name: string, damage: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(run, dir, { recursive: true });
  damage(dir);
  return dir;
}
const ckpt = (dir: string) => join(dir, 'checkpoints', 'e-0002');

test('setup: a dataset and a trained run', async () => {
  writeIdxDataset(data, { nTrain: 48, nTest: 16, height: 6, width: 6, numClasses: 3 });
  await ok(['train', ...TRAIN, '--out', run]);
  await ok(['eval', '--model', model, '--n', '8', '--attacks', 'fgsm', '--no-worst-case', ...cpu, '--json', join(work, 'eval.json')]);
});

test('data loss: eval --json M/model.json and report --out X/eval.json are refused; the inputs are intact', async () => {
  const before = snapshot(work);
  await typed(
    ['eval', '--model', model, ...cpu, '--json', join(model, 'model.json')],
    'E_CONFIG',
    /^--json: expected a path outside what the command reads/,
  );
  await typed(['report', join(work, 'eval.json'), '--out', join(work, 'eval.json')], 'E_CONFIG', /^--out: expected a path outside/);
  assert.deepEqual(snapshot(work), before);
});

test('data loss: a second train --resume on a run that is being written is refused', async () => {
  const lock = acquireRunLock(run, 'advlab train --out run (another process)');
  try {
    const before = snapshot(run, (rel) => rel === 'lock.json');
    await typed(['train', '--resume', run, ...cpu], 'E_RUN_LOCKED', /being written by advlab train --out run/);
    assert.deepEqual(
      snapshot(run, (rel) => rel === 'lock.json'),
      before,
    );
  } finally {
    lock.release();
  }
});

test('data loss: a state.json with "epoch": "nine" is refused and metrics.jsonl is untouched', async () => {
  const dir = damagedRun('nine', (d) => {
    const f = join(ckpt(d), 'state.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/"epoch": 2/, '"epoch": "nine"'));
  });
  const before = snapshot(dir);
  await typed(['train', '--resume', dir, ...cpu], 'E_RUN_CORRUPT', /state\.json: expected/);
  assert.deepEqual(snapshot(dir), before);
});

test('crashes: garbage or a truncated array in checkpoint.json, state.json, optimizer.json is E_RUN_CORRUPT naming the file', async () => {
  const cases: [string, (d: string) => void, RegExp][] = [
    ['garbage-pointer', (d) => writeFileSync(join(d, 'checkpoint.json'), 'garbage'), /checkpoint\.json: expected the checkpoint pointer/],
    ['garbage-state', (d) => writeFileSync(join(ckpt(d), 'state.json'), '{"ep'), /state\.json: expected/],
    [
      'truncated-optimizer',
      (d) => {
        const f = join(ckpt(d), 'optimizer.json');
        writeFileSync(f, readFileSync(f, 'utf8').slice(0, 200));
      },
      /optimizer\.json: expected/,
    ],
  ];
  for (const [name, damage, pattern] of cases)
    await typed(['train', '--resume', damagedRun(name, damage), ...cpu], 'E_RUN_CORRUPT', pattern);
});

test('crashes: a PNG dataset whose classes have fewer than five images is an empty test split, named', async () => {
  const png = join(work, 'png');
  for (const c of ['a', 'b']) {
    mkdirSync(join(png, c), { recursive: true });
    for (let i = 0; i < 3; i++)
      writeFileSync(
        join(png, c, `${i}.png`),
        pngBytes(6, 6, (x, y) => [x * 40 + i, y * 40, c === 'a' ? 0 : 200]),
      );
  }
  const msg = await typed(
    ['train', '--model', 'mlp', '--data', `png:${png}`, '--epochs', '1', ...cpu, '--out', join(work, 'png-run')],
    'E_DATA_FORMAT',
    /test split/,
  );
  assert.ok(!msg.includes('--n'), 'names the split, not a flag the user did not give');
  assert.ok(!existsSync(join(work, 'png-run')), 'no half-made run directory');
});

test('crashes: --json or --out naming a directory or an existing file is refused before any work, leaving no .tmp', async () => {
  mkdirSync(join(work, 'a-dir'), { recursive: true });
  await typed(
    ['eval', '--model', model, ...cpu, '--json', join(work, 'a-dir')],
    'E_CONFIG',
    /^--json: expected a file path, found .*a directory/,
  );
  await typed(
    ['eval', '--model', model, ...cpu, '--json', join(work, 'eval.json')],
    'E_CONFIG',
    /^--json: expected a path that does not exist yet \(or --force/,
  );
  await typed(['report', run, '--out', join(work, 'a-dir')], 'E_CONFIG', /^--out: expected a file path/);
  assert.deepEqual(
    readdirSync(work).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('silently wrong: mnist:DIR with one stray label 200 is refused, not a 201-class model', async () => {
  const mnist = join(work, 'mnist');
  writeIdxDataset(mnist, { nTrain: 20, nTest: 10, height: 4, width: 4, numClasses: 10 });
  const labels = Array.from({ length: 20 }, (_, i) => (i === 17 ? 200 : i % 10));
  writeFileSync(join(mnist, 'train-labels-idx1-ubyte'), idxBytes('u8', [20], labels));
  await typed(
    ['train', '--model', 'mlp', '--data', `mnist:${mnist}`, '--epochs', '1', ...cpu, '--out', join(work, 'mnist-run')],
    'E_DATA_FORMAT',
    /expected labels in \[0, 10\), found label 200 at index 17/,
  );
  assert.ok(!existsSync(join(work, 'mnist-run')));
});

async function customModel(name: string, build: (m: tfl.Sequential) => void): Promise<string> {
  const m = tfl.sequential();
  m.add(tfl.layers.flatten({ inputShape: [6, 6, 1] }));
  build(m);
  const dir = join(work, name);
  await saveModel(m, dir, { dataset: `idx:${data}`, inputShape: [6, 6, 1], numClasses: 3, classNames: ['0', '1', '2'] });
  m.dispose();
  return dir;
}
const checksOf = (file: string) =>
  Object.fromEntries(
    (JSON.parse(readFileSync(file, 'utf8')).checks as { code: string; passed: boolean; skipped: boolean }[]).map((c) => [c.code, c]),
  );

test('silently wrong: a model with NaN weights fails finite-outputs and zero-gradients; a sigmoid output fails logits-not-probabilities', async () => {
  const nan = await customModel('nan-model', (m) => m.add(tfl.layers.dense({ units: 3 })));
  // Set the kernel to NaN through the saved file: the bytes are what a diverged training leaves.
  const json = JSON.parse(readFileSync(join(nan, 'model.json'), 'utf8'));
  const w = new Float32Array(new Uint8Array(readFileSync(join(nan, 'weights.bin'))).buffer);
  w.fill(Number.NaN, 0, 36 * 3);
  writeFileSync(join(nan, 'weights.bin'), Buffer.from(w.buffer));
  delete json.advlabWeightsSha256; // the weights were changed on purpose
  writeFileSync(join(nan, 'model.json'), JSON.stringify(json));
  const out = join(work, 'nan-eval.json');
  await ok(['eval', '--model', nan, '--data', `idx:${data}`, '--n', '16', '--attacks', 'fgsm', '--no-worst-case', ...cpu, '--json', out]);
  const c = checksOf(out);
  assert.equal(c['finite-outputs']!.passed, false);
  assert.equal(c['zero-gradients']!.passed, false);

  const sigmoid = await customModel('sigmoid-model', (m) =>
    m.add(tfl.layers.dense({ units: 3, activation: 'sigmoid', kernelInitializer: 'glorotUniform' })),
  );
  const out2 = join(work, 'sigmoid-eval.json');
  await ok([
    'eval',
    '--model',
    sigmoid,
    '--data',
    `idx:${data}`,
    '--n',
    '16',
    '--attacks',
    'fgsm',
    '--no-worst-case',
    ...cpu,
    '--json',
    out2,
  ]);
  const s = checksOf(out2)['logits-not-probabilities']!;
  assert.ok(s.passed === false || s.skipped, 'a sigmoid model is not taken for a logits model');
  assert.equal(s.passed, false, JSON.stringify(s));
});

test('silently wrong: a checkpoint pointer to another run, or a deleted checkpoint, is refused instead of resumed or restarted', async () => {
  const other = damagedRun('other-run', () => {});
  const pointer = damagedRun('pointer', (d) =>
    writeFileSync(join(d, 'checkpoint.json'), JSON.stringify({ latest: `../../${'other-run'}/checkpoints/e-0002`, epoch: 2 })),
  );
  await typed(['train', '--resume', pointer, ...cpu], 'E_RUN_CORRUPT', /checkpoint\.json: expected "latest" "e-0002"/);
  const deleted = damagedRun('deleted', (d) => rmSync(join(d, 'checkpoints'), { recursive: true }));
  await typed(['train', '--resume', deleted, ...cpu], 'E_RUN_CORRUPT', /no such folder/);
  const noPointer = damagedRun('no-pointer', (d) => rmSync(join(d, 'checkpoint.json')));
  await typed(['train', '--resume', noPointer, ...cpu], 'E_RUN_CORRUPT', /restore it, or start a new run/);
  assert.ok(existsSync(other));
});

test('silently wrong: a weights shard that links to a file outside the model folder is refused', async () => {
  const linked = join(work, 'linked-model');
  cpSync(model, linked, { recursive: true });
  const outside = join(work, 'outside-weights.bin');
  cpSync(join(linked, 'weights.bin'), outside);
  rmSync(join(linked, 'weights.bin'));
  symlinkSync(outside, join(linked, 'weights.bin'));
  await typed(['eval', '--model', linked, ...cpu], 'E_MODEL_FORMAT', /inside the model folder/);
});

test('silently wrong: --seed 4294967296 is refused, naming the flag', async () => {
  await typed(['train', ...TRAIN, '--seed', '4294967296', '--out', join(work, 'seed-run')], 'E_CONFIG', /^--seed: expected/);
  assert.ok(!existsSync(join(work, 'seed-run')));
});

test('silently wrong: report inputs with accuracies of -5 or 1e9 are refused, naming the file and key', async () => {
  for (const bad of [-5, 1e9]) {
    const file = join(work, `bad-${bad}.json`);
    const v = JSON.parse(readFileSync(join(work, 'eval.json'), 'utf8'));
    v.clean_accuracy = bad;
    writeFileSync(file, JSON.stringify(v));
    await typed(['report', file, '--out', join(work, `bad-${bad}.html`)], 'E_DATA_FORMAT', /clean_accuracy a number in \[0, 1\]/);
    assert.ok(!existsSync(join(work, `bad-${bad}.html`)));
  }
});

test('misleading no more: ε = 0 works — an eval sweep from 0 reports clean accuracy there, and training at ε = 0 runs', async () => {
  const out = join(work, 'sweep.json');
  await ok([
    'eval',
    '--model',
    model,
    '--eps',
    '0,0.05,0.1',
    '--n',
    '16',
    '--attacks',
    'fgsm,pgd',
    '--no-worst-case',
    ...cpu,
    '--json',
    out,
  ]);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  for (const a of r.attacks.filter((a: { eps: number }) => a.eps === 0)) assert.equal(a.robust_accuracy, r.clean_accuracy);
  await ok(['train', ...TRAIN, '--method', 'pgd', '--eps', '0', '--eps-ramp', '1', '--out', join(work, 'eps0-run')]);
  await ok([
    'train',
    ...TRAIN,
    '--method',
    'pgd',
    '--eps',
    '0',
    '--alpha',
    '0.01',
    '--eps-ramp',
    '1',
    '--out',
    join(work, 'eps0-alpha-run'),
  ]);
});

test('misleading no more: validation that fails leaves no half-made run, so the same command works once fixed', async () => {
  const out = join(work, 'half');
  await typed(['train', ...TRAIN, '--minority', '7:0.5', '--out', out], 'E_CONFIG', /minority/);
  assert.ok(!existsSync(out), 'nothing was created');
  await ok(['train', ...TRAIN, '--minority', '1:0.5', '--out', out]);
});
