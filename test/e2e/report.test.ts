import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeReport } from '../../packages/report/src/index.ts';
import { makeFakeRuns } from '../../packages/report/src/fixtures.ts';

// Opens a generated report in Debian's Chromium (never a downloaded browser) with the network cut off,
// and checks that it renders: no console or page error, every chart has drawn marks, every image loaded.
const CHROMIUM = '/usr/bin/chromium';

test('the report opens from disk in Chromium: no errors, no network, charts drawn, images loaded', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: the browser test needs Debian's Chromium (apt-get install -y chromium; scripts/setup.sh installs it)`);
  const dir = mkdtempSync(join(tmpdir(), 'advlab-report-e2e-'));
  const runs = makeFakeRuns(join(dir, 'runs'), { xss: true });
  const file = join(dir, 'report.html');
  await writeReport([runs.coRun, runs.stdRun, runs.evalDir, runs.evalFile], file, { title: 'advlab report (browser test)' });
  const screenshot = process.env.ADVLAB_SCREENSHOT || join(dir, 'report.png');

  const userDataDir = mkdtempSync(join(tmpdir(), 'advlab-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const external: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // Self-contained: anything but the file itself and data: URIs is recorded and refused.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      external.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('figure.chart')].map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          kind: f.getAttribute('data-chart'),
          // Vega puts every drawn mark item inside a group with the role-mark class (axes and legends have their own roles).
          marks: svg ? svg.querySelectorAll('g.role-mark > path, g.role-mark > circle, g.role-mark > rect, g.role-mark > line, g.role-mark > text').length : 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
    );
    const images = await page.evaluate(() => [...document.images].map((i) => ({ alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth, shown: i.getBoundingClientRect().width })));
    const dom = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script').length,
      sections: [...document.querySelectorAll('section')].map((s) => s.id),
      title: document.title,
      h3: [...document.querySelectorAll('#overview td strong')].map((e) => e.textContent),
    }));
    await page.screenshot({ path: screenshot, fullPage: true });

    assert.deepEqual(errors, [], 'no console or page errors');
    assert.deepEqual(external, [], 'no request leaves the file');
    assert.deepEqual(dialogs, [], 'no script ran (the <script> run name is text)');
    assert.equal(dom.scripts, 0, 'no <script> element in the page');
    assert.deepEqual(dom.sections, ['overview', 'curves', 'evaluations', 'frontier', 'checks', 'gallery', 'details']);
    assert.ok(dom.h3.includes('<script>alert(1)<∕script>'), `the hostile run name is shown as text: ${dom.h3.join(' | ')}`);
    // 2 runs × (accuracy + alignment) + 3 evaluations × (ε curve + per class) + the frontier.
    assert.equal(charts.length, 11, JSON.stringify(charts.map((c) => c.kind)));
    for (const c of charts) {
      assert.ok(c.marks > 0, `chart ${c.kind} has drawn marks: ${JSON.stringify(c)}`);
      assert.ok(c.width > 100 && c.height > 100, `chart ${c.kind} is laid out: ${JSON.stringify(c)}`);
    }
    assert.equal(images.length, 1, 'the fooled.png of the eval folder');
    for (const i of images) assert.ok(i.complete && i.naturalWidth > 0 && i.shown > 0, `image loaded and shown: ${JSON.stringify(i)}`);
    assert.ok(existsSync(screenshot), screenshot);
    process.stderr.write(`report screenshot: ${screenshot}\n`);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
