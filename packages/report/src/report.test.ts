import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdvlabError } from '@advlab/core';
import { buildReport, writeReport } from './index.ts';
import { makeFakeRuns, XSS_NAME } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'advlab-report-'));
const runs = makeFakeRuns(join(root, 'runs'), { xss: true });
const inputs = [runs.coRun, runs.stdRun, runs.evalDir, runs.evalFile];
const html = await buildReport(inputs, { title: `report of ${XSS_NAME}` });

/** The charts of the page, each with its drawn mark items counted per mark type (vega's role-mark groups). */
function charts(page: string): { kind: string; marks: Record<string, number>; svg: string }[] {
  return page
    .split('<figure class="chart"')
    .slice(1)
    .map((part) => {
      const svg = part.slice(0, part.indexOf('</figure>'));
      const marks: Record<string, number> = {};
      // A mark group holds leaf elements only (no nested group for these mark types): the lazy match is the whole group.
      for (const m of svg.matchAll(/<g class="mark-(\w+) role-mark[^"]*"[^>]*>(.*?)<\/g>/gs)) {
        marks[m[1]!] = (marks[m[1]!] ?? 0) + (m[2]!.match(/<(path|rect|line|circle|text)\b/g)?.length ?? 0);
      }
      return { kind: /data-chart="([^"]+)"/.exec(svg)![1]!, marks, svg };
    });
}

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
