// The dashboard in Debian's Chromium (headless), against the built app (packages/ui/dist/app, `npm run build`)
// served by the real server over fake runs: it lists them, draws their curves without a console error, shows
// a line appended to metrics.jsonl within 2 s (server-sent events, no reload), and renders hostile run names
// as text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { processStartTicks } from '@advlab/node';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { withChromium } from '../../report/src/browser.ts';
import { makeFakeRuns } from '../../report/src/fixtures.ts';
import { createUiServer, defaultAppDir, type UiServer } from '../src/server/server.ts';
import { runId } from '../src/server/runs.ts';

const XSS = '<img src=x onerror=alert(1)>';
const base = realpathSync(mkdtempSync(join(tmpdir(), 'advlab-ui-dashboard-')));
const root = join(base, 'runs');
const live = join(root, 'live-pgd');
const line = (step: number, pgd: number) =>
  `${JSON.stringify({ epoch: Math.ceil(step / 10), step, loss: 1 - pgd, clean_acc: 0.8, fgsm_acc: pgd + 0.1, pgd_acc: pgd, grad_align: 0.9, fgsm_pgd_cos: 0.8, eps: 0.1, lr: 0.001, method: 'pgd', seconds: 1, examples_per_s: 100 })}\n`;

let ui: UiServer;
before(async () => {
  assert.ok(existsSync(join(defaultAppDir(), 'index.html')), `${defaultAppDir()}: expected the built app, found none (npm run build)`);
  makeFakeRuns(root, { xss: true });
  mkdirSync(live, { recursive: true });
  writeFileSync(
    join(live, 'config.json'),
    JSON.stringify({ model: 'wong-cnn', method: 'pgd', eps: 0.1, epochs: 5, note: '<script>alert(2)</script>' }),
  );
  writeFileSync(join(live, 'metrics.jsonl'), [10, 20, 30].map((s, i) => line(s, 0.3 + 0.05 * i)).join(''));
  const xssRun = join(root, XSS);
  mkdirSync(xssRun);
  writeFileSync(join(xssRun, 'config.json'), JSON.stringify({ method: 'fgsm', [XSS]: XSS }));
  writeFileSync(
    join(xssRun, 'metrics.jsonl'),
    `${line(10, 0.2)}garbage\n{"epoch": 2, "step": 20, "clean_acc": NaN}\n${line(30, 0.1)}{"epoch": 4, "st`,
  );
  ui = await createUiServer({ roots: [root], port: 0 });
});
after(async () => {
  await ui?.close();
  rmSync(base, { recursive: true, force: true });
});

/** Opens the dashboard, recording console errors, page errors and dialogs. */
async function open(page: Page): Promise<{ errors: string[]; dialogs: string[] }> {
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(ui.url);
  await page.waitForSelector('[data-testid=dash-runs] tbody tr');
  return { errors, dialogs };
}

const points = (page: Page, run: string, metric: string) =>
  page.evaluate(([m]) => Number(document.querySelector(`figure[data-metric="${m}"]`)?.getAttribute('data-points') ?? -1), [
    metric,
    run,
  ] as const);

test('the dashboard lists the runs, draws their curves, escapes hostile names and shows an appended line within 2 s', async () => {
  await withChromium(async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    const { errors, dialogs } = await open(page);

    const names = await page.$$eval('[data-testid=dash-runs] tbody td.name', (tds) => tds.map((td) => td.textContent));
    assert.equal(names.length, ui.runs().length, names.join(', '));
    for (const n of ['live-pgd', 'standard', XSS, '<script>alert(1)<∕script>']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    assert.equal(await page.$$eval('img[src="x"], main script', (els) => els.length), 0, 'no element made from a run name');

    // Runs with lines are selected at start (up to four): every measure present is drawn.
    await page.waitForSelector('figure[data-metric=pgd_acc] svg');
    for (const m of ['clean_acc', 'fgsm_acc', 'pgd_acc', 'loss', 'grad_align', 'fgsm_pgd_cos']) {
      const drawn = await page.$$eval(`figure[data-metric=${m}] svg path, figure[data-metric=${m}] svg circle`, (els) => els.length);
      assert.ok(drawn > 0, `${m}: ${drawn} marks`);
    }
    // The CO-flagged run is marked in the table.
    assert.ok((await page.$$eval('tr.co', (rows) => rows.length)) >= 1);

    // Select the live run alone, then append a line: the point appears without a reload.
    await page.$$eval('[data-testid=dash-runs] tbody input:checked', (boxes) => {
      for (const b of boxes as HTMLInputElement[]) b.click();
    });
    await page.click(`tr[data-run="${runId(0, 'live-pgd')}"] input`);
    await page.waitForFunction(() => document.querySelector('figure[data-metric="pgd_acc"]')?.getAttribute('data-points') === '3');
    await page.waitForSelector('#connection.live');
    const started = Date.now();
    appendFileSync(join(live, 'metrics.jsonl'), line(40, 0.45));
    await page.waitForFunction(() => document.querySelector('figure[data-metric="pgd_acc"]')?.getAttribute('data-points') === '4', null, {
      timeout: 2000,
    });
    const ms = Date.now() - started;
    assert.ok(ms < 2000, `the new point showed after ${ms} ms`);
    assert.equal(await points(page, 'live-pgd', 'pgd_acc'), 4);

    // Config side by side: the hostile string is text.
    const config = await page.textContent('[data-testid=dash-config]');
    assert.ok(config?.includes('<script>alert(2)</script>'));

    // Filter by regex and by method.
    await page.fill('[data-testid=dash-filter]', '^live');
    assert.deepEqual(await page.$$eval('[data-testid=dash-runs] tbody td.name', (tds) => tds.map((td) => td.textContent)), ['live-pgd']);
    await page.fill('[data-testid=dash-filter]', '');
    await page.selectOption('[data-testid=dash-method]', 'fgsm');
    const fgsm = await page.$$eval('[data-testid=dash-runs] tbody td.name', (tds) => tds.map((td) => td.textContent));
    assert.ok(fgsm.length >= 2 && fgsm.includes(XSS), fgsm.join(', '));

    // Smoothing redraws the curves.
    await page.fill('[data-testid=dash-smoothing]', '0.9');
    await page.waitForSelector('figure[data-metric=pgd_acc] svg');

    assert.deepEqual(dialogs, [], 'no script from the data ran');
    assert.deepEqual(errors, []);
  });
});

test('a run started while the page is open appears, is selected and its curves grow', async () => {
  await withChromium(async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    const { errors } = await open(page);
    await page.waitForSelector('#connection.live');
    const fresh = join(root, 'started-later');
    mkdirSync(fresh);
    writeFileSync(
      join(fresh, 'lock.json'),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        started: new Date().toISOString(),
        procStart: processStartTicks(process.pid),
        command: 'train',
      }),
    );
    writeFileSync(join(fresh, 'config.json'), JSON.stringify({ model: 'wong-cnn', method: 'fgsm', eps: 0.2 }));
    writeFileSync(join(fresh, 'metrics.jsonl'), line(10, 0.3));
    // The rescan (every 2 s) finds the run; the page selects it because it is running.
    await page.waitForSelector(`tr[data-run="${runId(0, 'started-later')}"] input:checked`, { timeout: 6000 });
    assert.match((await page.textContent(`tr[data-run="${runId(0, 'started-later')}"]`)) ?? '', /running/);
    // Its curves are drawn (it is in the charts' legend) before the next line is appended.
    await page.waitForFunction(() => document.querySelector('.charts .legend')?.textContent?.includes('started-later'));
    const before = await points(page, 'started-later', 'pgd_acc');
    appendFileSync(join(fresh, 'metrics.jsonl'), line(20, 0.05));
    await page.waitForFunction(
      (n) => Number(document.querySelector('figure[data-metric="pgd_acc"]')?.getAttribute('data-points')) === n + 1,
      before,
      { timeout: 2000 },
    );
    assert.deepEqual(errors, []);
  });
});

test('evaluations: per attack × ε, per class, the frontier and the gallery of the selected runs; the report link works', async () => {
  await withChromium(async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    const { errors } = await open(page);
    // The evaluation-only folder (eval.json + fooled.png) and the standard run (with an eval.json).
    for (const rel of ['demo', 'standard']) {
      const box = `tr[data-run="${runId(0, rel)}"] input`;
      if (!(await page.isChecked(box))) await page.click(box);
    }
    await page.waitForSelector('[data-testid=dash-eval] table.numbers');
    const tables = await page.$$eval('[data-testid=dash-eval] table.numbers', (ts) => ts.map((t) => t.textContent ?? ''));
    assert.ok(
      tables.some((t) => /worst case/.test(t) && /ε = 0\.1/.test(t) && /pgd/.test(t)),
      tables.join('\n'),
    );
    assert.ok((await page.$$eval('figure[data-chart=frontier] svg circle, figure[data-chart=frontier] svg path', (e) => e.length)) > 0);
    await page.waitForFunction(() => [...document.querySelectorAll('img.gallery')].some((i) => (i as HTMLImageElement).naturalWidth > 0));
    const report = await page.request.get(`${ui.url}runs/${runId(0, 'standard')}/report.html`);
    assert.equal(report.status(), 200);
    assert.match(await report.text(), /advlab report: standard/);
    assert.deepEqual(errors, []);
  });
});
