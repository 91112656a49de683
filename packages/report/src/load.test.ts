import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdvlabError, ConfigError } from '@advlab/core';
import { loadSource, loadSources } from './load.ts';
import { curveAxis } from './charts.ts';
import { frontierPoints, overviewRows, paretoFrontier } from './summarize.ts';
import { curvatureReport, evalReport, makeFakeRuns } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'advlab-report-load-'));
const runs = makeFakeRuns(join(root, 'runs'));

function dir(name: string, files: Record<string, string | Buffer>): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(d, f), content);
  return d;
}

/** Asserts `fn` throws an AdvlabError with `code` whose message contains every fragment. */
function throwsAdvlab(fn: () => unknown, code: string, ...fragments: string[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AdvlabError, String(e));
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" mentions "${f}"`);
    return true;
  });
}

test('inputs are recognised by the files present', () => {
  const co = loadSource(runs.coRun);
  assert.ok(co.run && !co.evaluation);
  assert.equal(co.run.metrics.length, 7);
  assert.equal(co.run.events.length, 1);
  assert.equal(co.run.config?.method, 'fgsm');
  assert.equal(co.run.summary?.test_accuracy, 0.8);
  const std = loadSource(runs.stdRun);
  assert.ok(std.run && std.evaluation, 'a run with an eval.json is both');
  const demo = loadSource(runs.evalDir);
  assert.ok(!demo.run && demo.evaluation);
  assert.equal(demo.images.length, 1);
  assert.equal(demo.images[0]!.file, join(runs.evalDir, 'fooled.png'));
  assert.ok(demo.images[0]!.width > 0 && demo.images[0]!.height > 0);
  const file = loadSource(runs.evalFile);
  assert.equal(file.name, 'trades-eval');
  assert.equal(file.evaluation?.report.class_names?.[1], 'Trouser');
  // eval.json given directly is named after its folder; metrics.jsonl given directly stands for its run.
  assert.equal(loadSource(join(runs.evalDir, 'eval.json')).name, 'demo');
  assert.ok(loadSource(join(runs.coRun, 'metrics.jsonl')).run);
});

test('an attack output folder (grid.png + result.json) is a gallery entry captioned from result.json', () => {
  const png = loadSource(runs.evalDir).images[0]!;
  const d = dir('attack-out', {
    'grid.png': Buffer.from(png.dataUri.split(',')[1]!, 'base64'),
    'result.json': JSON.stringify({
      attack: 'pgd',
      norm: 'linf',
      eps: 0.3,
      examples: [
        { label: 1, clean_pred: 1, success: true },
        { label: 2, clean_pred: 2, success: false },
        { label: 0, clean_pred: 3, success: true },
      ],
    }),
  });
  const s = loadSource(d);
  assert.equal(s.images[0]!.caption, 'pgd linf ε=0.3: fooled 1 of 2 correctly classified');
});

test('two inputs with the same folder name are told apart by their paths', () => {
  const a = dir('a/run', { 'eval.json': JSON.stringify(evalReport()) });
  const b = dir('b/run', { 'eval.json': JSON.stringify(evalReport()) });
  assert.deepEqual(
    loadSources([a, b]).map((s) => s.name),
    [a, b],
  );
});

test('bad inputs: typed errors naming the file, what was expected and what was found', () => {
  throwsAdvlab(() => loadSources([]), 'E_CONFIG', 'at least one run directory');
  assert.throws(() => loadSources([]), ConfigError);
  throwsAdvlab(
    () => loadSource(join(root, 'nope')),
    'E_DATA_MISSING',
    join(root, 'nope'),
    'not found',
    'expected a training run directory',
  );
  const unknown = dir('unknown', { 'notes.txt': 'hi', 'weights.bin': '' });
  throwsAdvlab(
    () => loadSource(unknown),
    'E_DATA_FORMAT',
    unknown,
    'expected a training run directory',
    'found a folder with notes.txt, weights.bin',
  );
  // A folder of runs: the message says to pass the runs.
  throwsAdvlab(() => loadSource(join(root, 'runs')), 'E_DATA_FORMAT', 'are runs: pass them');
  const metricsFile = (body: string) => join(dir(`m${Math.random().toString(36).slice(2)}`, { 'metrics.jsonl': body }), 'metrics.jsonl');
  const ok = JSON.stringify({ epoch: 1, step: 1, clean_acc: 0.5 });
  let f = metricsFile(`${ok}\nnot json\n${ok}\n`);
  throwsAdvlab(() => loadSource(f), 'E_DATA_FORMAT', `${f}:2`, 'expected a metrics line', 'found "not json"');
  f = metricsFile(`${JSON.stringify({ epoch: 1, step: 1, pgd_acc: 0.2 })}\n`);
  throwsAdvlab(() => loadSource(f), 'E_DATA_FORMAT', `${f}:1`, '"clean_acc" a number', 'found no "clean_acc"');
  f = metricsFile(`${JSON.stringify({ epoch: 1, step: 1, clean_acc: 0.5, pgd_acc: 'high' })}\n`);
  throwsAdvlab(() => loadSource(f), 'E_DATA_FORMAT', '"pgd_acc" a number', 'found the string "high"');
  f = metricsFile(`[1, 2]\n`);
  throwsAdvlab(() => loadSource(f), 'E_DATA_FORMAT', 'found an array');
  const badConfig = dir('bad-config', { 'config.json': '{"method": "fgsm",' });
  throwsAdvlab(() => loadSource(badConfig), 'E_DATA_FORMAT', join(badConfig, 'config.json'), 'valid JSON', 'invalid JSON');
  const notEval = join(dir('not-eval', {}), 'x.json');
  writeFileSync(notEval, JSON.stringify({ method: 'fgsm', eps: 0.1 }));
  throwsAdvlab(() => loadSource(notEval), 'E_DATA_FORMAT', notEval, 'an evaluation report', 'found an object with keys method, eps');
  const badAcc = join(root, 'bad-acc.json');
  writeFileSync(badAcc, JSON.stringify({ ...evalReport(), clean_accuracy: 86 }));
  throwsAdvlab(() => loadSource(badAcc), 'E_DATA_FORMAT', 'clean_accuracy a number in [0, 1]', 'found 86');
  const badAttack = join(root, 'bad-attack.json');
  writeFileSync(badAttack, JSON.stringify({ ...evalReport(), attacks: [{ name: 'pgd', eps: '0.1', robust_accuracy: 0.2 }] }));
  throwsAdvlab(() => loadSource(badAttack), 'E_DATA_FORMAT', 'attacks[0].eps a finite number ≥ 0', 'the string "0.1"');
  const fakePng = dir('fake-png', { 'eval.json': JSON.stringify(evalReport()), 'fooled.png': 'GIF89a not a png at all' });
  throwsAdvlab(() => loadSource(fakePng), 'E_DATA_FORMAT', join(fakePng, 'fooled.png'), 'a PNG image', 'starting 474946');
  const text = join(root, 'notes.txt');
  writeFileSync(text, 'hello');
  throwsAdvlab(() => loadSource(text), 'E_DATA_FORMAT', text, 'neither a run directory nor a .json file');
});

test('curvature reports: curvature.json in any folder (alone, beside eval.json, in a run directory) or a JSON file with "hessian"', () => {
  const only = loadSource(runs.curvatureDir);
  assert.ok(only.curvature && !only.run && !only.evaluation, 'a folder with only curvature.json is an input');
  assert.equal(only.name, 'curvature-only');
  assert.equal(only.curvature.file, join(runs.curvatureDir, 'curvature.json'));
  const r = only.curvature.report;
  assert.deepEqual(r.hessian.top_eigenvalues, [31.17, 21.25]);
  assert.deepEqual(r.hessian.converged, [true, true]);
  assert.equal(r.hessian.density?.nodes[0]?.length, 20);
  assert.equal(r.input.summaries.elle.median, 1.4818479598943668e-6);
  assert.equal(r.backend, 'onednn');
  // As a file given directly: told from an eval JSON by its "hessian" key, named after the file.
  const file = loadSource(runs.curvatureFile);
  assert.ok(file.curvature && !file.evaluation);
  assert.equal(file.name, 'wide-curvature');
  assert.equal(file.curvature.report.hessian.density?.nodes.length, 2);
  assert.deepEqual(file.curvature.report.hessian.converged, [true, false]);
  // curvature.json given directly is named after its folder.
  assert.equal(loadSource(join(runs.curvatureDir, 'curvature.json')).name, 'curvature-only');
  // Beside eval.json, and in a training run directory.
  const both = loadSource(
    dir('eval-and-curvature', { 'eval.json': JSON.stringify(evalReport()), 'curvature.json': JSON.stringify(curvatureReport()) }),
  );
  assert.ok(both.evaluation && both.curvature && !both.run);
  const run = loadSource(
    dir('run-with-curvature', {
      'metrics.jsonl': `${JSON.stringify({ epoch: 1, step: 1, clean_acc: 0.5 })}\n`,
      'curvature.json': JSON.stringify(curvatureReport()),
    }),
  );
  assert.ok(run.run && run.curvature && !run.evaluation);
  // --density-steps 0: no density; seconds and seed may be missing.
  const { seconds: _s, seed: _seed, ...bare } = curvatureReport({ density: false });
  const noDensity = loadSource(dir('no-density', { 'curvature.json': JSON.stringify(bare) }));
  assert.equal(noDensity.curvature?.report.hessian.density, undefined);
  assert.equal(noDensity.curvature?.report.seconds, undefined);
  // A folder with none of the known files is still refused, the expected inputs naming curvature.json.
  throwsAdvlab(
    () => loadSource(dir('nothing-known', { 'hessian.txt': '' })),
    'E_DATA_FORMAT',
    'curvature.json',
    'found a folder with hessian.txt',
  );
  // A JSON file that is neither: the message names both kinds.
  const neither = join(dir('neither', {}), 'x.json');
  writeFileSync(neither, JSON.stringify({ trace: 1 }));
  throwsAdvlab(
    () => loadSource(neither),
    'E_DATA_FORMAT',
    neither,
    'or a curvature report (advlab curvature --json) with hessian',
    'found an object with keys trace',
  );
});

/** A valid curvature report with the value at `path` replaced (removed when undefined), as curvature.json in its own folder. */
function curvatureWith(path: (string | number)[], value: unknown, text?: string): string {
  const r: Record<string | number, unknown> = curvatureReport();
  let at = r;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  if (path.length) at[path.at(-1)!] = value;
  const d = dir(`c${Math.random().toString(36).slice(2)}`, { 'curvature.json': text ?? JSON.stringify(r) });
  return join(d, 'curvature.json');
}

test('curvature.json malformed: an error naming the file and the key path, what was expected and what was found', () => {
  const cases: [(string | number)[], unknown, string, string][] = [
    [['n'], 0, 'n a whole number ≥ 1', 'found 0'],
    [['n'], 2.5, 'n a whole number ≥ 1', 'found 2.5'],
    [['loss'], 'NaN', 'loss a finite number', 'found the string "NaN"'],
    [['hessian'], [1], 'hessian an object', 'found an array'],
    [['hessian', 'top_eigenvalues'], [], 'hessian.top_eigenvalues a non-empty list of numbers', 'found a list of 0'],
    [['hessian', 'top_eigenvalues', 1], null, 'hessian.top_eigenvalues[1] a finite number', 'found null'],
    [['hessian', 'iterations'], [6], 'hessian.iterations a list of 2 numbers', 'found a list of 1'],
    [['hessian', 'converged', 1], 'yes', 'hessian.converged a list of 2 booleans', 'the string "yes"'],
    [['hessian', 'trace'], undefined, 'hessian.trace a finite number', 'found nothing'],
    [['hessian', 'trace_standard_error'], -1, 'hessian.trace_standard_error a finite number ≥ 0', 'found -1'],
    [['hessian', 'parameters'], '166406', 'hessian.parameters a whole number ≥ 1', 'found the string "166406"'],
    [['hessian', 'density', 'nodes'], 'none', 'hessian.density.nodes a non-empty list of runs', 'found the string "none"'],
    [['hessian', 'density', 'nodes', 0, 2], 'x', 'hessian.density.nodes[0][2] a finite number', 'found the string "x"'],
    [
      ['hessian', 'density', 'weights'],
      [],
      'hessian.density.weights a list of 1 run (as many as hessian.density.nodes)',
      'found a list of 0',
    ],
    [['hessian', 'density', 'weights', 0], [0.5], 'hessian.density.weights[0] a list of 20 numbers', 'found a list of 1'],
    [['hessian', 'density', 'weights', 0, 3], -0.1, 'hessian.density.weights[0][3] a finite number ≥ 0', 'found -0.1'],
    [['input'], 'linf', 'input an object', 'found the string "linf"'],
    [['input', 'eps'], -0.1, 'input.eps a finite number ≥ 0', 'found -0.1'],
    [['input', 'norm'], 2, 'input.norm a string', 'found 2'],
    [['input', 'elle'], undefined, 'input.elle a finite number', 'found nothing'],
    [['input', 'cure_h'], -2.8, 'input.cure_h a finite number ≥ 0', 'found -2.8'],
    [['input', 'summaries', 'cure'], undefined, 'input.summaries.cure an object', 'found nothing'],
    [['input', 'summaries', 'elle', 'median'], null, 'input.summaries.elle.median a finite number', 'found null'],
    [['seconds', 'trace'], -1, 'seconds.trace a finite number ≥ 0', 'found -1'],
    [['model'], 3, 'model a string', 'found 3'],
  ];
  for (const [path, value, expected, found] of cases) {
    const f = curvatureWith(path, value);
    throwsAdvlab(() => loadSource(f), 'E_DATA_FORMAT', `${f}: expected a curvature report: `, expected, found);
  }
  // 1e999 in JSON reads as Infinity.
  const huge = curvatureWith([], undefined, JSON.stringify(curvatureReport()).replace('"trace":134.76927114486693', '"trace":1e999'));
  throwsAdvlab(() => loadSource(huge), 'E_DATA_FORMAT', huge, 'hessian.trace a finite number', 'found Infinity');
  // curvature.json without the report's keys, and a JSON file given directly with a bad "hessian".
  const empty = curvatureWith([], undefined, '{}');
  throwsAdvlab(
    () => loadSource(empty),
    'E_DATA_FORMAT',
    empty,
    'a curvature report (advlab curvature --json) with n, loss, hessian and input',
    'found an empty object',
  );
  const direct = join(root, 'direct-curvature.json');
  writeFileSync(direct, JSON.stringify({ ...curvatureReport(), hessian: { ...curvatureReport().hessian, top_eigenvalues: [31, 'big'] } }));
  throwsAdvlab(
    () => loadSource(direct),
    'E_DATA_FORMAT',
    `${direct}: expected a curvature report: hessian.top_eigenvalues[1] a finite number`,
    'found the string "big"',
  );
});

/** A valid eval report with the value at `path` replaced, written as eval.json in its own folder (or `text` as is). */
function evalWith(path: (string | number)[], value: unknown, text?: string): string {
  const r: Record<string | number, unknown> = evalReport();
  let at = r;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  if (path.length) at[path.at(-1)!] = value;
  const d = dir(`e${Math.random().toString(36).slice(2)}`, { 'eval.json': text ?? JSON.stringify(r) });
  return join(d, 'eval.json');
}

test('eval.json numbers out of range: an error naming the file and the key path, per kind of bad value', () => {
  const cases: [(string | number)[], unknown, string, string][] = [
    [['attacks', 2, 'robust_accuracy'], -5, 'expected an evaluation report: attacks[2].robust_accuracy a number in [0, 1]', 'found -5'],
    [['clean_accuracy'], 1e9, 'clean_accuracy a number in [0, 1]', 'found 1000000000'],
    // JSON has no NaN: one spelled as a string (1e999, read as Infinity, is below).
    [['worst_case', 'robust_accuracy'], 'NaN', 'worst_case.robust_accuracy a number in [0, 1]', 'found the string "NaN"'],
    [['attacks', 1, 'eps'], -0.1, 'attacks[1].eps a finite number ≥ 0', 'found -0.1'],
    [['worst_case_by_eps', 1, 'eps'], '0.3', 'worst_case_by_eps[1].eps a finite number ≥ 0', 'found the string "0.3"'],
    [['eps'], [0.1, -1], 'eps[1] a finite number ≥ 0', 'found -1'],
    [['attacks', 3, 'per_class', 2], 1.5, 'attacks[3].per_class[2] a number in [0, 1]', 'found 1.5'],
    [['clean_per_class', 0], -0.2, 'clean_per_class[0] a number in [0, 1]', 'found -0.2'],
    [['worst_case_by_eps', 1, 'per_class', 1], 3, 'worst_case_by_eps[1].per_class[1] a number in [0, 1]', 'found 3'],
    [['n'], 2.5, 'n a whole number ≥ 0', 'found 2.5'],
    [['attacks', 0, 'cost'], -1, 'attacks[0].cost a finite number ≥ 0', 'found -1'],
    [['attacks', 0, 'seconds'], 'slow', 'attacks[0].seconds a finite number ≥ 0', 'found the string "slow"'],
    [['seconds'], -3, 'seconds a finite number ≥ 0', 'found -3'],
    [['model'], 42, 'model a string', 'found 42'],
    [['worst_case', 'attacks'], [1], 'worst_case.attacks a list of attack names', 'found an array'],
  ];
  for (const [path, value, expected, found] of cases) {
    const f = evalWith(path, value);
    throwsAdvlab(() => loadSource(f), 'E_DATA_FORMAT', `${f}: expected `, expected, found);
  }
  const huge = evalWith([], undefined, JSON.stringify(evalReport()).replace('"clean_accuracy":0.86', '"clean_accuracy":1e999'));
  throwsAdvlab(() => loadSource(huge), 'E_DATA_FORMAT', huge, 'clean_accuracy a number in [0, 1]', 'found Infinity');
  // null stays allowed where JSON writes NaN (an empty class) or a value is unknown (a cost).
  const ok = evalWith(['attacks', 0, 'per_class', 1], null);
  assert.equal(loadSource(ok).evaluation!.report.attacks[0]!.per_class![1], null);
  const noCost = loadSource(evalWith(['attacks', 0, 'cost'], null)).evaluation!.report;
  assert.equal(noCost.attacks[0]!.cost, undefined);
});

test('metrics.jsonl and summary.json numbers out of range: an error naming the file, line and key', () => {
  const line = (extra: object) =>
    JSON.stringify({ epoch: 1, step: 8, clean_acc: 0.8, fgsm_acc: 0.5, pgd_acc: 0.4, grad_align: 0.3, eps: 0.1, seconds: 2, ...extra });
  const cases: [object, string, string][] = [
    [{ clean_acc: -5 }, '"clean_acc" a number in [0, 1]', 'found -5'],
    [{ pgd_acc: 1e9 }, '"pgd_acc" a number in [0, 1]', 'found 1000000000'],
    [{ fgsm_acc: 'NaN' }, '"fgsm_acc" a number in [0, 1]', 'found the string "NaN"'],
    [{ grad_align: 7 }, '"grad_align" a number in [-1, 1]', 'found 7'],
    [{ eps: -0.1 }, '"eps" a finite number ≥ 0', 'found -0.1'],
    [{ seconds: -1 }, '"seconds" a finite number ≥ 0', 'found -1'],
    [{ epoch: 'one' }, '"epoch" a whole number ≥ 0', 'found the string "one"'],
    [{ step: 1.5 }, '"step" a whole number ≥ 0', 'found 1.5'],
  ];
  for (const [extra, expected, found] of cases) {
    const d = dir(`m${Math.random().toString(36).slice(2)}`, { 'metrics.jsonl': `${line({})}\n${line(extra)}\n` });
    throwsAdvlab(() => loadSource(d), 'E_DATA_FORMAT', `${join(d, 'metrics.jsonl')}:2: expected a metrics line`, expected, found);
  }
  // A cosine a float32 average pushed just past 1 is accepted; null (NaN) alignment is dropped.
  const d = dir('cos-rounding', { 'metrics.jsonl': `${line({ grad_align: 1.0000001, fgsm_pgd_cos: null })}\n` });
  assert.equal(loadSource(d).run!.metrics[0]!.grad_align, 1.0000001);

  const summaries: [object, string, string][] = [
    [{ test_accuracy: 86 }, 'a training summary: "test_accuracy" a number in [0, 1]', 'found 86'],
    [{ test_examples: -1 }, '"test_examples" a whole number ≥ 0', 'found -1'],
    [{ co_epochs: [2, 'three'] }, '"co_epochs"[1] a whole number ≥ 0', 'found the string "three"'],
    [{ seconds_per_epoch: 'fast' }, '"seconds_per_epoch" a list of numbers', 'found the string "fast"'],
    [{ final: { epoch: 1, step: 8, clean_acc: 0.8, pgd_acc: -1 } }, '("final"): expected a metrics line', 'found -1'],
  ];
  for (const [summary, expected, found] of summaries) {
    const s = dir(`s${Math.random().toString(36).slice(2)}`, { 'summary.json': JSON.stringify({ test_accuracy: 0.8, ...summary }) });
    throwsAdvlab(() => loadSource(s), 'E_DATA_FORMAT', join(s, 'summary.json'), expected, found);
  }
});

test('a last metrics line cut by an interrupted write is ignored with a note; NaN (null) values are dropped', () => {
  const ok = JSON.stringify({ epoch: 1, step: 1, clean_acc: 0.5, grad_align: null });
  const d = dir('cut', { 'metrics.jsonl': `${ok}\n{"epoch": 2, "st` });
  const s = loadSource(d);
  assert.equal(s.run!.metrics.length, 1);
  assert.equal(s.run!.metrics[0]!.grad_align, undefined);
  assert.match(s.run!.notes[0]!, /metrics\.jsonl:2: ignored an incomplete last line/);
});

test('the Pareto frontier keeps exactly the non-dominated points, sorted by clean accuracy', () => {
  const pts = [
    { id: 'a', clean: 0.9, robust: 0.1 },
    { id: 'b', clean: 0.8, robust: 0.4 },
    { id: 'c', clean: 0.8, robust: 0.3 }, // dominated by b (same clean, lower robust)
    { id: 'd', clean: 0.7, robust: 0.2 }, // dominated by b
    { id: 'e', clean: 0.6, robust: 0.5 },
    { id: 'f', clean: 0.6, robust: 0.5 }, // duplicate of e: kept once
    { id: 'g', clean: 0.85, robust: 0.35 },
  ];
  assert.deepEqual(
    paretoFrontier(pts).map((p) => p.id),
    ['e', 'b', 'g', 'a'],
  );
  assert.deepEqual(paretoFrontier([]), []);
});

test('overview rows and frontier points come from the last measurement and the worst case', () => {
  const sources = loadSources([runs.coRun, runs.stdRun, runs.evalDir]);
  const rows = overviewRows(sources);
  assert.deepEqual(
    rows.map((r) => r.name),
    ['fgsm-co', 'standard', 'standard · eval', 'demo'],
  );
  const co = rows[0]!;
  assert.equal(co.clean, 0.82);
  assert.equal(co.pgd, 0.46);
  assert.deepEqual(co.coEpochs, [4]);
  assert.equal(co.secondsPerEpoch, 12.5);
  assert.equal(co.epochs, '6 / 6');
  assert.equal(rows[3]!.worst, 0.41);
  assert.equal(rows[3]!.pgd, 0.43);
  const pts = frontierPoints(sources);
  assert.equal(pts.length, 2 + 2 * 2);
  assert.deepEqual(
    pts.find((p) => p.label === 'demo (ε=0.3)'),
    { label: 'demo (ε=0.3)', source: 'demo', kind: 'evaluation, worst case', eps: 0.3, clean: 0.86, robust: 0.12 },
  );
  assert.equal(curveAxis(sources[0]!.run!), 'epoch', 'one line per epoch (the rollback starts a new attempt)');
  assert.equal(curveAxis(sources[1]!.run!), 'step', 'several lines per epoch');
});
