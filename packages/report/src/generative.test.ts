import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdvlabError, auddc, DataFormatError } from '@advlab/core';
import { buildReport } from './index.ts';
import { DISTORTION_PLOT } from './charts.ts';
import { isGenerativeRow, isGenerativeRun, loadSource, parseMetricsLine, readMetricsFile } from './load.ts';
import { CURVE_GRID_POINTS, meanDistortionCurve } from './summarize.ts';
import { charts, generativeEvalReport, IMG_XSS_NAME, makeFakeRuns, makeGenerativeRuns, tinyGridPng } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'advlab-report-generative-'));
const gen = makeGenerativeRuns(join(root, 'generative'));
const html = await buildReport([gen.vaeRun, gen.advRun, gen.evalDir, gen.evalFile]);
const section = html.slice(html.indexOf('<section id="generative"'), html.indexOf('<section id="details"'));

function dir(name: string, files: Record<string, string | Buffer>): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(d, f), content);
  return d;
}

const fresh = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2)}`;

/** Asserts `fn` throws a DataFormatError (E_DATA_FORMAT) whose message contains every fragment. */
function throwsFormat(fn: () => unknown, ...fragments: string[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, String(e));
    assert.equal(e.code, 'E_DATA_FORMAT', e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" mentions "${f}"`);
    return true;
  });
}

/** The vertices of the line path drawn for `series` in a chart's SVG, in pixels of its plot area. */
function linePoints(svg: string, series: string): [number, number][] {
  const path = [...svg.matchAll(/<path [^>]*aria-roledescription="line mark"[^>]*>/g)]
    .map((m) => m[0])
    .find((p) => p.includes(`metric: ${series};`));
  assert.ok(path, `a line for ${series}`);
  const d = /\sd="([^"]+)"/.exec(path)![1]!;
  return d
    .slice(1)
    .split('L')
    .map((xy) => xy.split(',').map(Number) as [number, number]);
}

test('a generative run directory: its lines validated and kept apart, the run recognised as generative', () => {
  const vae = loadSource(gen.vaeRun);
  assert.ok(vae.run && isGenerativeRun(vae.run));
  assert.equal(vae.run.generative.length, 2);
  assert.deepEqual(vae.run.metrics, [], 'no classifier line');
  assert.deepEqual(vae.run.lines, []);
  assert.equal(vae.run.generative[1]!.neg_elbo, 150);
  assert.equal(vae.run.summary?.generative?.latentDim, 4);
  assert.equal(vae.run.summary?.reconstruction?.mse, 0.031);
  const final = vae.run.summary?.final;
  assert.ok(final && isGenerativeRow(final), "the summary's final line is a generative one");
  // A NaN (null in JSON) measurement is dropped, the line kept.
  const adv = loadSource(gen.advRun).run!;
  assert.equal(adv.generative.length, 3);
  assert.equal(adv.generative[1]!.latent_shift, undefined);
  assert.equal(adv.generative[1]!.method, 'adversarial');
  const read = readMetricsFile(join(gen.vaeRun, 'metrics.jsonl'));
  assert.equal(read.generative.length, 2);
  assert.equal(read.lines.length, 0);
  // Classifier runs are not generative.
  const classifier = loadSource(makeFakeRuns(join(root, 'classifier')).coRun).run!;
  assert.ok(!isGenerativeRun(classifier));
  assert.deepEqual(classifier.generative, []);
});

test('parseMetricsLine (the dashboard reads with it) refuses a generative line, saying what it is', () => {
  const line = readFileSync(join(gen.vaeRun, 'metrics.jsonl'), 'utf8').split('\n')[0]!;
  throwsFormat(
    () => parseMetricsLine(line, 'gen/metrics.jsonl:1'),
    'gen/metrics.jsonl:1: expected a metrics line',
    'found a generative run\'s line ("kind": "generative")',
  );
});

test('a malformed generative metrics line: an error naming file:line, the key, what was expected and found', () => {
  const ok = JSON.stringify({ kind: 'generative', epoch: 1, step: 5, neg_elbo: 100, mse: 0.02 });
  const cases: [object, string, string][] = [
    [{ neg_elbo: 'high' }, '"neg_elbo" a finite number', 'found the string "high"'],
    [{ mse: -1 }, '"mse" a finite number ≥ 0', 'found -1'],
    [{ step: undefined }, '"step" a whole number ≥ 0', 'found no "step"'],
    [{ epoch: 1.5 }, '"epoch" a whole number ≥ 0', 'found 1.5'],
    [{ method: 'pgd' }, '"method" "standard" or "adversarial"', 'found the string "pgd"'],
    [{ seconds: 'slow' }, '"seconds" a finite number ≥ 0', 'found the string "slow"'],
  ];
  for (const [extra, expected, found] of cases) {
    const bad = JSON.stringify({ ...JSON.parse(ok), ...extra });
    const d = dir(fresh('g'), { 'metrics.jsonl': `${ok}\n${bad}\n${ok}\n` });
    throwsFormat(() => loadSource(d), `${join(d, 'metrics.jsonl')}:2: expected a generative metrics line`, expected, found);
  }
  const summaries: [object, string, string][] = [
    [{ generative: { kind: 'vae', latentDim: 0 } }, 'a training summary: "generative.latentDim" a whole number ≥ 1', 'found 0'],
    [{ generative: 'vae' }, '"generative" an object', 'found the string "vae"'],
    [{ reconstruction: { neg_elbo: 1, kl: 1, mse: -0.5 } }, 'a training summary: "reconstruction.mse" a finite number ≥ 0', 'found -0.5'],
    [
      { final: { kind: 'generative', epoch: 1, step: 2, kl: 'x' } },
      '("final"): expected a generative metrics line',
      '"kl" a finite number, found the string "x"',
    ],
  ];
  for (const [summary, expected, found] of summaries) {
    const d = dir(fresh('s'), { 'summary.json': JSON.stringify(summary) });
    throwsFormat(() => loadSource(d), join(d, 'summary.json'), expected, found);
  }
});

test('a generative evaluation: eval-generative.json in a folder (with generative.png), or a JSON file told by its "auddc"', () => {
  const folder = loadSource(gen.evalDir);
  assert.equal(folder.name, IMG_XSS_NAME);
  assert.ok(folder.generativeEvaluation && !folder.evaluation && !folder.run);
  const r = folder.generativeEvaluation.report;
  assert.deepEqual(r.auddc, { latent: 0.2825, output: 0.6625, interpolation: 0.5 });
  assert.equal(r.pairs.length, 2);
  // The NaN point (null in JSON) is dropped; the point past x = 1 stays (the curve leaves it out).
  assert.deepEqual(r.curves?.latent?.points[1], [
    { x: 0.2, y: 0.2 },
    { x: 1.5, y: 0 },
  ]);
  // generative.png goes to the generative gallery, captioned from the attack's result.json; not to the classifier one.
  assert.deepEqual(folder.images, []);
  assert.equal(folder.generativeImages.length, 1);
  assert.equal(folder.generativeImages[0]!.file, join(gen.evalDir, 'generative.png'));
  assert.match(
    folder.generativeImages[0]!.caption,
    /^latent attack linf ε=0\.1 toward test image 7: the classifier puts 1 of 2 reconstructions/,
  );
  // Given directly: eval-generative.json is named after its folder and finds generative.png beside it.
  const direct = loadSource(join(gen.evalDir, 'eval-generative.json'));
  assert.equal(direct.name, IMG_XSS_NAME);
  assert.equal(direct.generativeImages.length, 1);
  // Any other JSON file is told by its "auddc" key.
  const file = loadSource(gen.evalFile);
  assert.equal(file.name, 'ae-eval');
  assert.equal(file.generativeEvaluation?.report.success_rate, null);
  assert.deepEqual(file.generativeImages, []);
  // An attack's output folder alone (generative.png, result.json) is an input too.
  const attack = loadSource(
    dir('vae-attack', { 'generative.png': tinyGridPng(), 'result.json': JSON.stringify({ attack: 'output', eps: 0.2 }) }),
  );
  assert.equal(attack.generativeImages[0]!.caption.split(' (')[0], 'output attack ε=0.2');
  // The fixture's hand-computed areas are what @advlab/core computes from its points.
  const curves = generativeEvalReport().curves;
  for (const k of ['latent', 'output', 'interpolation'] as const)
    curves[k].points.forEach((p, i) => {
      assert.ok(Math.abs(auddc(p as { x: number; y: number }[]) - curves[k].perPair[i]!) < 1e-12, `${k} pair ${i}`);
    });
});

/** A valid generative evaluation with the value at `path` replaced (removed when undefined), as eval-generative.json. */
function generativeWith(path: (string | number)[], value: unknown): string {
  const r: Record<string | number, unknown> = generativeEvalReport();
  let at = r;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
  return join(dir(fresh('e'), { 'eval-generative.json': JSON.stringify(r) }), 'eval-generative.json');
}

test('a malformed generative evaluation: an error naming the file and the key path, what was expected and found', () => {
  const cases: [(string | number)[], unknown, string, string][] = [
    [['auddc', 'latent'], 1.5, 'auddc.latent a number in [0, 1]', 'found 1.5'],
    [['auddc', 'output'], undefined, 'auddc.output a number in [0, 1]', 'found nothing'],
    [['auddc'], 'low', 'auddc an object', 'found the string "low"'],
    [['pairs'], [], 'pairs a non-empty list of {source, target}', 'found an empty list'],
    [['pairs'], undefined, 'pairs a non-empty list of {source, target}', 'found nothing'],
    [['pairs', 1, 'target'], -3, 'pairs[1].target a whole number ≥ 0', 'found -3'],
    [['auddc_per_pair', 'output'], [0.3], 'auddc_per_pair.output a list of 2 numbers (one per pair)', 'found a list of 1'],
    [['auddc_per_pair', 'latent', 1], 'x', 'auddc_per_pair.latent[1] a number in [0, 1]', 'found the string "x"'],
    [['success_rate', 'latent'], 2, 'success_rate.latent a number in [0, 1]', 'found 2'],
    [['success_rate'], [0.5], 'success_rate (or null) an object', 'found an array'],
    [['reconstruction', 'mse'], -0.1, 'reconstruction.mse a finite number ≥ 0', 'found -0.1'],
    [['reconstruction', 'neg_elbo'], 'NaN', 'reconstruction.neg_elbo a finite number', 'found the string "NaN"'],
    [['curves', 'latent', 'points'], [[]], 'curves.latent.points a list of 2 lists of {x, y} (one per pair)', 'found a list of 1'],
    [['curves', 'output', 'points', 0, 0, 'y'], 'low', 'curves.output.points[0][0].y a finite number ≥ 0', 'found the string "low"'],
    [['curves', 'interpolation', 'points', 1, 2], 7, 'curves.interpolation.points[1][2] an object {x, y}', 'found 7'],
    [['curves', 'latent', 'perPair'], [0.1], 'curves.latent.perPair a list of 2 numbers', 'found a list of 1'],
    [['model'], 7, 'model a string', 'found 7'],
  ];
  for (const [path, value, expected, found] of cases) {
    const f = generativeWith(path, value);
    throwsFormat(() => loadSource(f), `${f}: expected a generative evaluation report: `, expected, found);
  }
  // eval-generative.json without the report's keys; a JSON file that is no known report names all three kinds.
  const empty = join(dir(fresh('e'), { 'eval-generative.json': '{"auc": 1}' }), 'eval-generative.json');
  throwsFormat(
    () => loadSource(empty),
    empty,
    'a generative evaluation report (advlab eval --generative --json) with pairs and auddc',
    'found an object with keys auc',
  );
  const neither = join(root, 'neither.json');
  writeFileSync(neither, JSON.stringify({ auc: 1 }));
  throwsFormat(
    () => loadSource(neither),
    neither,
    'or a generative evaluation report (advlab eval --generative --json) with pairs and auddc',
  );
});

test('the mean distortion–distance curve: each pair’s envelope sampled on a grid of [0, 1], averaged', () => {
  const curves = generativeEvalReport().curves;
  const points = (k: 'latent' | 'output' | 'interpolation') => curves[k].points as { x: number; y: number }[][];
  const latent = meanDistortionCurve(points('latent'))!;
  assert.equal(latent.length, CURVE_GRID_POINTS);
  assert.deepEqual(latent[0], { x: 0, y: 1 }, 'every curve starts at (0, 1)');
  const at = (c: { x: number; y: number }[], x: number) => c[Math.round(x * (CURVE_GRID_POINTS - 1))]!.y;
  // x = 0.1: pair 0's envelope is at 0.5, pair 1's halfway from (0, 1) to (0.2, 0.2), 0.6.
  assert.ok(Math.abs(at(latent, 0.1) - 0.55) < 1e-12, String(at(latent, 0.1)));
  // x = 0.45: pair 0 holds its minimum 0.2 (the point at 0.6 is higher); pair 1 stays at 0.2 (its point past 1 is cut).
  assert.ok(Math.abs(at(latent, 0.45) - 0.2) < 1e-12);
  assert.ok(Math.abs(at(latent, 1) - 0.2) < 1e-12);
  // A pair without points never moves: output's mean at x = 1 is (0.1 + 1) / 2.
  assert.ok(Math.abs(at(meanDistortionCurve(points('output'))!, 1) - 0.55) < 1e-12);
  // Points on y = 1 − x give that line.
  for (const p of meanDistortionCurve(points('interpolation'))!) assert.ok(Math.abs(p.y - (1 - p.x)) < 1e-12, JSON.stringify(p));
  assert.equal(meanDistortionCurve([]), undefined);
});

test('the Generative models section: a table per evaluated model with its numbers, and the training runs', () => {
  const ids = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['generative', 'details'], 'no overview: a generative run measures no accuracy');
  assert.ok(html.includes('<a href="#generative">Generative models</a>'));
  assert.match(html, /2 training runs, 0 evaluations, 2 generative evaluations/);
  for (const s of [
    '<td>AUDDC latent</td><td class="num">0.2825</td>',
    '<td>AUDDC output</td><td class="num">0.6625</td>',
    '<td>AUDDC interpolation</td><td class="num">0.5</td>',
    '<span class="badge passed">below the baseline</span>',
    '<span class="badge failed">not below the baseline: a weak attack</span>',
    '<td>success rate: latent</td><td class="num">50.0%</td><td>budgeted attack at linf ε=0.1',
    '<td>success rate: classifier</td><td class="num">100.0%</td>',
    '<td>reconstruction −ELBO</td><td class="num">101.2</td><td>nats per image on 100 test images</td>',
    '<td>reconstruction KL</td><td class="num">12.5</td>',
    '<td>reconstruction MSE</td><td class="num">0.0213</td>',
    '<td>pairs</td><td class="num">2</td>',
    'no classifier judged the reconstructions',
    '<h3>ae-eval</h3>',
    join(gen.evalDir, 'eval-generative.json').replace(IMG_XSS_NAME, '&lt;img src=x onerror=alert(1)&gt;'),
  ])
    assert.ok(section.includes(s), s);
  assert.equal(section.match(/<td>AUDDC latent<\/td>/g)?.length, 2, 'one table per evaluated model');
  // Training runs: last held-out line and the test reconstruction of each.
  for (const s of [
    '<td><strong>gen-vae</strong></td><td>vae, latent 4, bernoulli</td><td>standard</td><td class="num">0.1</td><td class="num">2 / 3</td><td class="num">150</td><td class="num">15</td><td class="num">0.0375</td><td class="num">1</td><td class="num">120.5</td><td class="num">9.25</td><td class="num">0.031</td>',
    '<td><strong>gen-vae-adv</strong></td><td>vae, latent 4, bernoulli</td><td>adversarial, encoder spectral norms ≤ 2</td>',
  ])
    assert.ok(section.includes(s), s);
  // The gallery: generative.png as a data URI, in this section (not in the classifiers' "Adversarial examples").
  const png = readFileSync(join(gen.evalDir, 'generative.png')).toString('base64');
  assert.ok(section.includes(`<img src="data:image/png;base64,${png}"`));
  assert.ok(section.includes('<h3>Attacks on autoencoders</h3>'));
});

test('charts: one line per run for neg ELBO, MSE and latent shift; three mean curves per evaluated model', () => {
  const cs = charts(section);
  assert.deepEqual(
    cs.map((c) => c.kind),
    ['generative-neg-elbo', 'generative-mse', 'generative-latent-shift', 'distortion', 'distortion'],
  );
  for (const c of cs.slice(0, 3)) assert.equal(c.marks.line, 2, `${c.kind}: ${JSON.stringify(c.marks)}`);
  // 2 + 3 measurements, one latent shift NaN.
  assert.equal(cs[0]!.marks.symbol, 5);
  assert.equal(cs[2]!.marks.symbol, 4);
  assert.match(cs[0]!.svg, />training step \(batches\)<\/text>/);
  for (const c of cs.slice(3)) {
    assert.equal(c.marks.line, 3, JSON.stringify(c.marks));
    for (const t of ['>latent attack</text>', '>output attack</text>', '>interpolation baseline</text>']) assert.ok(c.svg.includes(t), t);
    assert.doesNotMatch(c.svg, /NaN|Infinity/);
  }
  // The caption: lower = more vulnerable, the interpolation is the baseline to beat.
  assert.ok(section.includes('lower = more vulnerable, and the interpolation δ = t·(xₜ − x) is the baseline an attack must beat.'));
});

test('the interpolation line of points on y = 1 − x runs from the top-left to the bottom-right corner, on the diagonal', () => {
  const { width, height } = DISTORTION_PLOT;
  const svg = charts(section)[3]!.svg;
  const line = linePoints(svg, 'interpolation baseline');
  assert.equal(line.length, CURVE_GRID_POINTS);
  assert.deepEqual(line[0], [0, 0], '(0, 1) at the top-left');
  assert.deepEqual(line.at(-1), [width, height], '(1, 0) at the bottom-right');
  for (const [px, py] of line) assert.ok(Math.abs(py - (px * height) / width) < 0.01, `${px},${py} on the diagonal`);
  // The latent attack's mean ends at y = 0.2, the output attack's at 0.55.
  assert.deepEqual(linePoints(svg, 'latent attack').at(-1), [width, 0.8 * height]);
  assert.deepEqual(linePoints(svg, 'output attack').at(-1), [width, 0.45 * height]);
});

test('a hostile model and folder name <img src=x onerror=alert(1)> stays text everywhere', () => {
  assert.doesNotMatch(html, /<img src=x/i);
  assert.doesNotMatch(html, /<script/i);
  const escaped = '&lt;img src=x onerror=alert(1)&gt;';
  assert.ok(section.includes(`<h3>${escaped}</h3>`));
  assert.ok(section.includes(`model ${escaped}`));
  assert.ok(charts(section)[3]!.svg.includes(`>${escaped}: distortion–distance curves</text>`), 'the chart title');
  // Every "onerror" on the page is inside the escaped text.
  assert.equal(html.split('onerror').length, html.split(escaped).length);
});

test('beside classifier inputs: the section after the curvature one, generative runs left out of overview and frontier', async () => {
  const runs = makeFakeRuns(join(root, 'mixed'));
  const page = await buildReport([runs.coRun, runs.evalDir, gen.vaeRun, gen.evalFile]);
  const ids = [...page.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['overview', 'curves', 'evaluations', 'frontier', 'checks', 'generative', 'gallery', 'details']);
  const overview = page.slice(page.indexOf('<section id="overview"'), page.indexOf('<section id="curves"'));
  assert.ok(overview.includes('fgsm-co') && !overview.includes('gen-vae'));
  const frontier = page.slice(page.indexOf('<section id="frontier"'), page.indexOf('<section id="checks"'));
  assert.ok(!frontier.includes('gen-vae'));
  const details = page.slice(page.indexOf('<section id="details"'));
  assert.ok(details.includes('<h4>Generative evaluation</h4>') && details.includes('sweep.steps'));
  assert.ok(details.includes('0→7, 3→12'));
  // A generative run's typed error reaches the report.
  const bad = dir('bad-generative', { 'metrics.jsonl': '{"kind": "generative", "epoch": 1, "step": 1, "mse": "x"}\n' });
  await assert.rejects(
    buildReport([bad]),
    (e: unknown) => e instanceof AdvlabError && e.message.startsWith(`${join(bad, 'metrics.jsonl')}:1:`),
  );
});
