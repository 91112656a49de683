import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdvlabError } from '@advlab/core';
import { buildReport, writeReport } from './index.ts';
import { clampToFloor, densitySpec, logDomain, renderSvg } from './charts.ts';
import { charts, curvatureReport, makeFakeRuns, XSS_NAME } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'advlab-report-'));
const runs = makeFakeRuns(join(root, 'runs'), { xss: true });
const inputs = [runs.coRun, runs.stdRun, runs.evalDir, runs.evalFile];
const html = await buildReport(inputs, { title: `report of ${XSS_NAME}` });

test('the report has every section with data, in order, and a table of contents', () => {
  const ids = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['overview', 'curves', 'evaluations', 'frontier', 'checks', 'gallery', 'details']);
  for (const id of ids) assert.ok(html.includes(`<a href="#${id}">`), `toc link to ${id}`);
  assert.match(html, /^<!DOCTYPE html>/);
});

test('11 vega charts rendered to inline SVG, each with drawn marks matching the data', () => {
  const cs = charts(html);
  assert.deepEqual(
    cs.map((c) => c.kind),
    ['accuracy', 'alignment', 'accuracy', 'alignment', 'eps', 'per-class', 'eps', 'per-class', 'eps', 'per-class', 'frontier'],
  );
  for (const c of cs) {
    assert.match(c.svg, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const total = Object.values(c.marks).reduce((a, b) => a + b, 0);
    assert.ok(total > 0, `${c.kind} has marks: ${JSON.stringify(c.marks)}`);
    assert.match(c.svg, /class="mark-[\w-]+ role-axis|role-axis/, `${c.kind} has axes`);
  }
  // CO run: 7 measurements × (clean, FGSM, PGD) points, the CO rule and the rollback rule, the "CO" label, one ring.
  const co = cs[0]!;
  assert.ok(co.marks.symbol! >= 21 + 1, JSON.stringify(co.marks));
  assert.equal(co.marks.rule, 2, 'one CO rule, one rollback rule');
  assert.match(co.svg, />CO<\/text>/);
  assert.match(co.svg, />rollback<\/text>/);
  assert.match(co.svg, />epoch<\/text>/, 'x axis titled epoch');
  // The standard run measures every 5 steps: its x axis is the step.
  assert.match(cs[2]!.svg, />training step \(batches\)<\/text>/);
  // demo per class: 3 clean bars (one class has no example: null) + 4 worst-case bars, class names on the axis.
  const perClass = cs[7]!;
  assert.equal(perClass.marks.rect, 7, JSON.stringify(perClass.marks));
  for (const name of ['Trouser', 'Pullover', 'Dress']) assert.ok(perClass.svg.includes(`>${name}</text>`), name);
  // Frontier: 2 training runs + 3 evaluations × 2 ε = 8 points, one frontier line.
  const frontier = cs[10]!;
  assert.equal(frontier.marks.symbol, 8, JSON.stringify(frontier.marks));
  assert.equal(frontier.marks.line, 1);
  // Chart element ids are unique across the page (vega numbers its clip paths).
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length);
});

test('every user string is escaped: a run, model and class named <script>alert(1)</script> stay text', () => {
  assert.doesNotMatch(html, /<script/i, 'no script element at all');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'exact string escaped (model / class name / title)');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;∕script&gt;'), 'the run folder name escaped');
  assert.ok(html.includes('<title>report of &lt;script&gt;alert(1)&lt;/script&gt;</title>'));
  assert.ok(html.includes('&lt;b&gt;not bold&lt;/b&gt;'), 'config environment values escaped');
  assert.doesNotMatch(html, /<b>not bold/);
});

test('curvature reports: a Curvature section with a table per source and the eigenvalue density on a log scale', async () => {
  const page = await buildReport([runs.curvatureDir, runs.curvatureFile, runs.evalDir], { title: 'curvature' });
  const ids = [...page.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['overview', 'evaluations', 'frontier', 'checks', 'curvature', 'gallery', 'details']);
  assert.ok(page.includes('<a href="#curvature">Curvature</a>'));
  assert.match(page, /1 evaluation, 2 curvature reports/);
  const section = page.slice(page.indexOf('<section id="curvature"'), page.indexOf('<section id="gallery"'));
  // One heading and two tables per source: the weight Hessian, the input measures.
  for (const name of ['curvature-only', 'wide-curvature']) assert.ok(section.includes(`<h3>${name}</h3>`), name);
  assert.equal(section.match(/<table/g)?.length, 4);
  for (const s of [
    'top eigenvalue λ<sub>1</sub>',
    '<td class="num">31.17</td>',
    '6 Hessian-vector products, converged',
    '100 Hessian-vector products, <span class="badge failed">not converged</span>',
    '134.8 ± 6.029',
    'Hutchinson, 100 Rademacher samples',
    '2 Lanczos runs × 20 steps',
    '166,406',
    '<td class="num">0.4667</td>',
    'linf ball of radius ε = 0.1',
    '<td class="num">1.482e-6</td>',
    'CURE <span class="muted">(h = 2.8)</span>',
    'backend onednn',
    join(runs.curvatureDir, 'curvature.json'),
  ])
    assert.ok(section.includes(s), s);
  // The density: one line per source, drawn as SVG paths, the y axis in powers of ten, σ in the caption.
  const density = charts(section);
  assert.deepEqual(
    density.map((c) => c.kind),
    ['density'],
  );
  const svg = density[0]!.svg;
  assert.equal(density[0]!.marks.line, 2, JSON.stringify(density[0]!.marks));
  assert.match(svg, /<path[^>]* d="M[\d.,-]+L/);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  for (const t of ['>1e-5</text>', '>1e+0</text>', '>eigenvalue</text>', '>density</text>', '>Weight-Hessian eigenvalue density</text>'])
    assert.ok(svg.includes(t), t);
  assert.match(section, /σ = 0\.337 for curvature-only, σ = 1\.01 for wide-curvature/);
  // The floor: a power of ten at most 1e-6 of the highest density, the bottom label of the axis.
  const floor = /logarithmic, from (1e-\d+) \(1e-6 of the highest density/.exec(section)?.[1];
  assert.ok(floor && svg.includes(`>${floor}</text>`) && svg.includes(`density on a log scale from ${floor}`), floor);
  // The hostile model name stays text in the section and the details.
  assert.doesNotMatch(page, /<script/i);
  assert.ok(section.includes('model &lt;script&gt;alert(1)&lt;/script&gt;'));
  const details = page.slice(page.indexOf('<section id="details"'));
  assert.ok(details.includes('<h4>Curvature</h4>') && details.includes('seconds: density'));
});

test('a curvature report alone: no overview, the section without a density chart when it has no density', async () => {
  const d = join(root, 'no-density');
  mkdirSync(d);
  writeFileSync(join(d, 'curvature.json'), JSON.stringify({ ...curvatureReport({ density: false }), model: XSS_NAME }));
  const page = await buildReport([d]);
  const ids = [...page.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['curvature', 'details']);
  assert.ok(page.includes('not computed (--density-steps 0)'));
  assert.equal(charts(page).length, 0);
  assert.doesNotMatch(page, /<script/i);
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
});

test('log axes: powers of ten from a floor relative to the largest value, values below it drawn at the floor', async () => {
  assert.deepEqual(logDomain(1.3), { floor: 1e-6, top: 10 });
  assert.deepEqual(logDomain(0.05, 1e-3), { floor: 1e-5, top: 0.1 });
  assert.equal(logDomain(0), undefined, 'nothing positive: no log axis');
  assert.equal(logDomain(Number.NaN), undefined);
  const d = logDomain(2)!;
  assert.equal(clampToFloor(0, d), d.floor);
  assert.equal(clampToFloor(1e-300, d), d.floor);
  assert.equal(clampToFloor(0.5, d), 0.5);
  // A density that underflows to 0 away from its nodes: every value drawn is finite and on the axis.
  const x = Array.from({ length: 50 }, (_, i) => i / 10 - 1);
  const spec = densitySpec([{ name: 'a', x, y: x.map((t) => 2 * Math.exp(-((t * 20) ** 2))), sigma: 0.05 }])!;
  const layer = (
    spec.layer as { data: { values: { value: number }[] }; encoding: { y: { scale: object; axis: { values: number[] } } } }[]
  )[0]!;
  assert.deepEqual(layer.encoding.y.scale, { type: 'log', domain: [1e-6, 10], nice: false });
  assert.deepEqual(layer.encoding.y.axis.values, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10]);
  const values = layer.data.values.map((r) => r.value);
  assert.ok(values.every((v) => Number.isFinite(v) && v >= 1e-6 && v <= 10));
  assert.ok(values.filter((v) => v === 1e-6).length > 30, 'the tails rest on the floor');
  const svg = await renderSvg(spec);
  assert.match(svg, />1e-6<\/text>/);
  assert.match(svg, />1e\+1<\/text>/);
  assert.doesNotMatch(svg, /NaN/);
  assert.equal(densitySpec([{ name: 'zero', x, y: x.map(() => 0), sigma: 1 }]), undefined);
});

test('self-contained: the gallery image is a data URI of the PNG, nothing refers to the network', () => {
  const png = readFileSync(join(runs.evalDir, 'fooled.png'));
  const m = /<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(html);
  assert.ok(m, 'an <img> with a data URI');
  assert.deepEqual(Buffer.from(m[1]!, 'base64'), png);
  const withoutXmlns = html.replace(/xmlns(:\w+)?="http:\/\/www\.w3\.org\/[^"]*"/g, '');
  assert.doesNotMatch(withoutXmlns, /https?:\/\//);
  assert.doesNotMatch(html, /<link\b|@import|<iframe|<object|<embed/i);
});

test('overview, evaluation and sanity-check tables carry the numbers', () => {
  const overview = html.slice(html.indexOf('<section id="overview"'), html.indexOf('<section id="curves"'));
  // CO run: last held-out line clean 82% / FGSM 53% / PGD 46%, test accuracy 80%, CO in epoch 4, 12.5 s per epoch.
  for (const s of ['82.0%', '53.0%', '46.0%', '80.0%', '<span class="badge co">4</span>', '13 s', 'fgsm', '6 / 6'])
    assert.ok(overview.includes(s), s);
  // demo evaluation: worst case 41% at ε = 0.1.
  assert.ok(overview.includes('41.0%'));
  const evals = html.slice(html.indexOf('<section id="evaluations"'), html.indexOf('<section id="frontier"'));
  for (const s of ['ε = 0.1', 'ε = 0.3', '<strong>12.0%</strong>', 'fgsm + pgd + apgd-ce + apgd-t']) assert.ok(evals.includes(s), s);
  const checks = html.slice(html.indexOf('<section id="checks"'), html.indexOf('<section id="gallery"'));
  assert.ok(checks.includes('<span class="badge failed">failed</span>'));
  assert.ok(checks.includes('<span class="badge skipped">skipped</span>'));
  assert.ok(checks.includes('<code>pgd-le-fgsm</code>'));
  assert.ok(checks.includes('1 failed'));
  const details = html.slice(html.indexOf('<section id="details"'));
  for (const s of ['<details', 'seed', 'backend.tfjs', '4.22.0', 'vega-lite']) assert.ok(details.includes(s), s);
  // The CO notes list the rules and the rollback message.
  assert.ok(html.includes('pgd-drop, fgsm-above-clean'));
  assert.ok(html.includes('rolled back to epoch 3'));
});

test('sections without data are left out', async () => {
  const only = await buildReport([runs.coRun]);
  const ids = [...only.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['overview', 'curves', 'details']);
  assert.equal(charts(only).length, 2);
});

test('writeReport writes atomically: the file, and no temp file left beside it', async () => {
  const out = join(root, 'out', 'report.html');
  assert.equal(await writeReport([runs.evalFile], out), out);
  const text = readFileSync(out, 'utf8');
  assert.match(text, /^<!DOCTYPE html>/);
  assert.ok(text.includes('trades-eval'));
  assert.deepEqual(readdirSync(join(root, 'out')), ['report.html']);
});

test('a missing directory or a malformed metrics line is a typed error naming the file', async () => {
  const missing = join(root, 'no-such-run');
  await assert.rejects(buildReport([missing]), (e: unknown) => {
    assert.ok(e instanceof AdvlabError);
    assert.equal(e.code, 'E_DATA_MISSING');
    assert.ok(e.message.includes(missing) && e.message.includes('expected a training run directory'), e.message);
    return true;
  });
  const bad = join(root, 'bad-run');
  mkdirSync(bad);
  writeFileSync(
    join(bad, 'metrics.jsonl'),
    `${JSON.stringify({ epoch: 1, step: 1, clean_acc: 0.5 })}\n{"epoch": 2, "step":\n${JSON.stringify({ epoch: 3, step: 3, clean_acc: 0.5 })}\n`,
  );
  await assert.rejects(buildReport([bad]), (e: unknown) => {
    assert.ok(e instanceof AdvlabError);
    assert.equal(e.code, 'E_DATA_FORMAT');
    assert.ok(e.message.startsWith(`${join(bad, 'metrics.jsonl')}:2: expected a metrics line`), e.message);
    assert.match(e.message, /found "\{\\"epoch\\": 2, \\"step\\":"/);
    return true;
  });
});
