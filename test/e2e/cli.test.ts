import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { tinyCnnGraphModelFiles, tinyCnnWeights } from '@advlab/core/testing';
import { readIdx } from '@advlab/node';
import { advlab } from './advlab.ts';

// End to end through the real `advlab` binary, on the synthetic 8×8 task so it runs in seconds.
const dir = mkdtempSync(join(tmpdir(), 'advlab-e2e-'));
const model = join(dir, 'model');

test('train → eval → attack on synthetic data, with JSON keys and files as documented', () => {
  const t = advlab(
    'train',
    '--model',
    'wong-cnn',
    '--data',
    'synthetic:tiny',
    '--epochs',
    '3',
    '--out',
    model,
    '--backend',
    'cpu',
    '--lr',
    '0.01',
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /test accuracy (\d+\.\d+)%/);
  const acc = Number(/test accuracy (\d+\.\d+)%/.exec(t.out)![1]);
  assert.ok(acc > 80, `the tiny task is learnt: ${acc}%`);
  for (const f of [
    'config.json',
    'metrics.jsonl',
    'summary.json',
    'model/model.json',
    'model/weights.bin',
    'best/model.json',
    'checkpoint.json',
  ]) {
    assert.ok(existsSync(join(model, f)), f);
  }
  const lines = readFileSync(join(model, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 3, 'one metrics line per epoch');
  for (const k of ['epoch', 'step', 'clean_acc', 'fgsm_acc', 'pgd_acc', 'grad_align', 'seconds']) assert.ok(k in lines[0], k);

  const json = join(dir, 'eval.json');
  const e = advlab(
    'eval',
    '--model',
    model,
    '--attacks',
    'fgsm,pgd',
    '--eps',
    '0.1,0.3',
    '--n',
    '100',
    '--json',
    json,
    '--backend',
    'cpu',
    '--apgd-steps',
    '10',
    '--steps',
    '10',
  );
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /sanity checks/);
  const r = JSON.parse(readFileSync(json, 'utf8'));
  for (const k of ['dataset', 'n', 'clean_accuracy', 'attacks', 'worst_case', 'checks']) assert.ok(k in r, `key ${k}`);
  assert.equal(r.n, 100);
  for (const a of r.attacks) {
    for (const k of ['name', 'norm', 'eps', 'robust_accuracy', 'per_class']) assert.ok(k in a, `attack key ${k}`);
    assert.equal(a.per_class.length, 4);
    assert.ok(a.robust_accuracy >= 0 && a.robust_accuracy <= r.clean_accuracy);
  }
  assert.ok('robust_accuracy' in r.worst_case && r.worst_case.per_class.length === 4);
  for (const c of r.checks) for (const k of ['code', 'passed', 'detail']) assert.ok(k in c);

  const out = join(dir, 'attack');
  const a = advlab('attack', '--model', model, '--attack', 'pgd', '--eps', '0.3', '--n', '8', '--out', out, '--backend', 'cpu');
  assert.equal(a.code, 0, a.err);
  const adv = readIdx(join(out, 'adversarial.idx'));
  assert.deepEqual(adv.dims, [8, 8, 8, 1]);
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(res.examples.length, 8);
  for (const ex of res.examples) assert.ok(ex.distance <= 0.3 + 1e-6);
  const png = PNG.sync.read(readFileSync(join(out, 'grid.png')));
  // --target turns pgd into pgd-targeted: success means the target class was hit.
  const tOut = join(dir, 'targeted');
  const tr = advlab(
    'attack',
    '--model',
    model,
    '--attack',
    'pgd',
    '--eps',
    '0.5',
    '--n',
    '8',
    '--target',
    '2',
    '--out',
    tOut,
    '--backend',
    'cpu',
    '--steps',
    '30',
  );
  assert.equal(tr.code, 0, tr.err);
  const tres = JSON.parse(readFileSync(join(tOut, 'result.json'), 'utf8'));
  assert.equal(tres.attack, 'pgd-targeted');
  for (const ex of tres.examples) assert.equal(ex.success, ex.adv_pred === 2);
  assert.ok(tres.examples.filter((e: { success: boolean }) => e.success).length >= 4, 'most examples reach class 2 at ε = 0.5');
  assert.ok(png.width > 100 && png.height > 100);
});

test('bad input: typed errors naming the flag, exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['eval', '--model', model, '--eps=-1'], /\[E_CONFIG\] --eps: expected .*≥ 0, found "-1"/],
    [['eval', '--model', model, '--eps', '-1'], /\[E_CONFIG\] --eps: .*write --eps=VALUE/],
    [['eval', '--model', model, '--attacks', 'pgdd'], /did you mean pgd/],
    [['eval', '--model', model, '--epz', '0.1'], /--epz.*did you mean --eps/],
    [['train', '--model', 'wong_cnn', '--out', join(dir, 'x')], /--model.*did you mean wong-cnn/],
    [['eval', '--model', join(dir, 'nope')], /\[E_MODEL_MISSING\].*nope/],
    [['eval', '--model', model, '--norm', 'l7'], /--norm: expected one of linf, l2, l1, found "l7"/],
    [['trian'], /did you mean train/],
    [['eval', '--model', model, '--data', 'fashion-mnist:/nonexistent'], /\[E_DATA_MISSING\]|\[E_CONFIG\]/],
  ];
  for (const [args, re] of cases) {
    const r = advlab(...args, '--backend', 'cpu');
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
});

test('advlab eval takes a GraphModel folder (a converted SavedModel) as it takes a LayersModel one', () => {
  const w = tinyCnnWeights({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, numClasses: 4 }, 2);
  const graph = join(dir, 'graph-model');
  const files = tinyCnnGraphModelFiles(w, { fused: true });
  mkdirSync(graph, { recursive: true });
  writeFileSync(join(graph, 'model.json'), files.modelJson);
  writeFileSync(join(graph, files.shardName), files.shard);
  const json = join(dir, 'graph-eval.json');
  const r = advlab(
    'eval',
    '--model',
    graph,
    '--data',
    'synthetic:tiny',
    '--attacks',
    'fgsm,pgd',
    '--eps',
    '0.3',
    '--n',
    '64',
    '--json',
    json,
    '--backend',
    'cpu',
  );
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(report.n, 64);
  assert.deepEqual(
    report.attacks.map((a: { name: string }) => a.name),
    ['fgsm', 'pgd'],
  );
  for (const a of report.attacks) assert.ok(a.robust_accuracy <= report.clean_accuracy);
  assert.ok(
    report.checks.every((c: { passed: boolean }) => c.passed),
    JSON.stringify(report.checks),
  );
});

test('--bounds: a model that takes 0–255 is attacked in its own pixel space and gives the [0,1] model’s numbers', () => {
  // The same network twice: once on [0,1] inputs, once with its first layer divided by 255 for 0–255 inputs.
  const w = tinyCnnWeights({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, numClasses: 4 }, 7);
  const w255 = { ...w, convKernel: w.convKernel.map((v) => v / 255) };
  const folders = [
    ['unit', w],
    ['byte', w255],
  ] as const;
  for (const [name, weights] of folders) {
    const files = tinyCnnGraphModelFiles(weights);
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'model.json'), files.modelJson);
    writeFileSync(join(dir, name, files.shardName), files.shard);
  }
  const common = ['--data', 'synthetic:tiny', '--attacks', 'fgsm,pgd', '--n', '64', '--no-worst-case', '--backend', 'cpu'];
  const unit = advlab('eval', '--model', join(dir, 'unit'), '--eps', '0.1', '--json', join(dir, 'unit.json'), ...common);
  // The 0–255 copy, read in its own range: ε × 255.
  const asBytes = ['--model', join(dir, 'byte'), '--bounds', '0,255', '--eps', '25.5'];
  const byte = advlab('eval', ...asBytes, '--json', join(dir, 'byte.json'), ...common);

  assert.equal(unit.code, 0, unit.err);
  assert.equal(byte.code, 0, byte.err);
  const a = JSON.parse(readFileSync(join(dir, 'unit.json'), 'utf8'));
  const b = JSON.parse(readFileSync(join(dir, 'byte.json'), 'utf8'));
  assert.equal(b.clean_accuracy, a.clean_accuracy);
  for (let i = 0; i < a.attacks.length; i++) {
    assert.ok(
      Math.abs(b.attacks[i].robust_accuracy - a.attacks[i].robust_accuracy) <= 1 / 64,
      `${a.attacks[i].name}: ${b.attacks[i].robust_accuracy} vs ${a.attacks[i].robust_accuracy}`,
    );
  }
  assert.ok(
    b.checks.every((c: { passed: boolean }) => c.passed),
    JSON.stringify(b.checks),
  );
  // The adversarial points live in 0–255; a malformed --bounds is a typed error naming the flag.
  const out = join(dir, 'byte-attack');
  const att = advlab('attack', ...asBytes, '--n', '8', '--out', out, '--data', 'synthetic:tiny', '--backend', 'cpu');

  assert.equal(att.code, 0, att.err);
  const adv = readIdx(join(out, 'adversarial.idx'));
  assert.ok(Math.max(...(adv.data as Float32Array)) > 1, 'points in the model space');
  const bad = advlab('eval', '--model', join(dir, 'byte'), '--bounds', '0,255,3', ...common);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--bounds: expected two finite numbers/);
});

test('outputs never touch inputs: an output that is or is inside an input, or a folder where a file goes, is refused before any work', () => {
  const modelJson = join(model, 'model', 'model.json'); // model is a run directory
  const before = readFileSync(modelJson);
  const someJson = join(dir, 'some-eval.json');
  writeFileSync(someJson, '{"not": "touched"}');
  const cases: [string[], RegExp][] = [
    [
      ['eval', '--model', model, '--json', modelJson],
      /\[E_CONFIG\] --json: expected a path outside what the command reads .* is inside it/,
    ],
    [['eval', '--model', model, '--json', dir], /\[E_CONFIG\] --json: expected a file path, found .*a directory/],
    [['attack', '--model', model, '--out', model], /\[E_CONFIG\] --out: expected a path outside .* is that input/],
    [['report', someJson, '--out', someJson], /\[E_CONFIG\] --out: expected a path outside .* is that input/],
    [['train', '--model', 'mlp', '--data', 'synthetic:tiny', '--out', modelJson], /\[E_CONFIG\] --out: expected a folder/],
  ];
  for (const [args, re] of cases) {
    const t0 = performance.now();
    const r = advlab(...args, ...(args[0] === 'report' ? [] : ['--backend', 'cpu']));
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.doesNotMatch(r.err, /backend:/, 'refused before the backend was even selected');
    assert.ok(performance.now() - t0 < 20_000);
  }
  assert.deepEqual(readFileSync(modelJson), before, 'the model is intact');
  assert.equal(readFileSync(someJson, 'utf8'), '{"not": "touched"}');
});

test('an existing output file is refused before any work unless --force; --force replaces it', () => {
  // The outputs of the first test: eval.json and the attack folder.
  const json = join(dir, 'eval.json');
  const out = join(dir, 'attack');
  const evalBefore = readFileSync(json, 'utf8');
  const resultBefore = readFileSync(join(out, 'result.json'), 'utf8');
  const evalArgs = ['eval', '--model', model, '--attacks', 'fgsm', '--eps', '0.1', '--n', '16', '--no-worst-case', '--json', json];
  const attackArgs = ['attack', '--model', model, '--attack', 'fgsm', '--eps', '0.1', '--n', '4', '--out', out];
  const refusals: [string[], RegExp][] = [
    [
      evalArgs,
      /\[E_CONFIG\] --json: expected a path that does not exist yet \(or --force to replace it\), found .*eval\.json, an existing file/,
    ],
    [
      attackArgs,
      /\[E_CONFIG\] --out: expected a folder without adversarial\.idx, labels\.idx, result\.json, grid\.png \(or --force to replace them\), found .*attack, which holds adversarial\.idx, labels\.idx, result\.json, grid\.png/,
    ],
  ];
  for (const [args, re] of refusals) {
    const r = advlab(...args, '--backend', 'cpu');
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.doesNotMatch(r.err, /backend:/, 'refused before the backend was even selected');
  }
  assert.equal(readFileSync(json, 'utf8'), evalBefore, 'eval.json untouched');
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), resultBefore, 'result.json untouched');

  const e = advlab(...evalArgs, '--force', '--backend', 'cpu');
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(readFileSync(json, 'utf8')).n, 16, 'replaced by the new evaluation');
  const a = advlab(...attackArgs, '--force', '--backend', 'cpu');
  assert.equal(a.code, 0, a.err);
  assert.equal(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).examples.length, 4, 'replaced by the new attack');

  // report: the first write is fresh, the second needs --force.
  const html = join(dir, 'report.html');
  const first = advlab('report', json, '--out', html);
  assert.equal(first.code, 0, first.err);
  const again = advlab('report', json, '--out', html, '--title', 'second');
  assert.equal(again.code, 2, again.err);
  assert.match(
    again.err,
    /\[E_CONFIG\] --out: expected a path that does not exist yet \(or --force to replace it\), found .*report\.html, an existing file/,
  );
  assert.doesNotMatch(readFileSync(html, 'utf8'), /<title>second<\/title>/);
  const forced = advlab('report', json, '--out', html, '--title', 'second', '--force');
  assert.equal(forced.code, 0, forced.err);
  assert.match(readFileSync(html, 'utf8'), /<title>second<\/title>/);
  for (const cmd of ['eval', 'attack', 'report']) assert.match(advlab(cmd, '--help').out, /--force\b.*replace existing output files/, cmd);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file left behind',
  );
});

test('advlab report refuses an input whose numbers would break the charts, naming the file and key, and writes nothing', () => {
  const bad = join(dir, 'bad-eval.json');
  const r = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
  r.attacks[0].robust_accuracy = -5;
  writeFileSync(bad, JSON.stringify(r));
  const html = join(dir, 'bad-report.html');
  const res = advlab('report', bad, '--out', html);
  assert.equal(res.code, 2, res.err);
  assert.match(
    res.err,
    /\[E_DATA_FORMAT\] .*bad-eval\.json: expected an evaluation report: attacks\[0\]\.robust_accuracy a number in \[0, 1\], found -5/,
  );
  assert.ok(!existsSync(html), 'no report written');
});

test('advlab demo runs twice: the second run reuses the model and replaces its own eval.json without --force', () => {
  const out = join(dir, 'demo');
  const args = ['demo', '--data', 'synthetic:tiny', '--epochs', '1', '--n', '32', '--out', out, '--backend', 'cpu'];
  const first = advlab(...args);
  assert.equal(first.code, 0, first.err);
  assert.ok(existsSync(join(out, 'eval.json')));
  const second = advlab(...args);
  assert.equal(second.code, 0, second.err);
  assert.match(second.err, /using the model already trained/);
  assert.match(second.out, /wrote .*eval\.json/);
  assert.match(advlab('demo', '--help').out, /rerun replaces OUT\/eval\.json and OUT\/fooled\.png/);
});

test('ε = 0 simply works: PGD training at ε = 0 runs, and its held-out FGSM and PGD accuracies are the clean one', () => {
  const out = join(dir, 'eps0');
  const r = advlab(
    'train',
    '--model',
    'mlp',
    '--data',
    'synthetic:tiny',
    '--epochs',
    '1',
    '--method',
    'pgd',
    '--eps',
    '0',
    '--out',
    out,
    '--backend',
    'cpu',
  );
  assert.equal(r.code, 0, r.err);
  const last = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .at(-1);
  assert.equal(last.eps, 0);
  assert.equal(last.fgsm_acc, last.clean_acc);
  assert.equal(last.pgd_acc, last.clean_acc);
});
