// The playground in Debian's headless Chromium, against the real server and two models trained by the CLI: PGD
// at ε = 0.1 fools the standard model on a fixed test image and not the PGD-trained one, computed in the page
// by @advlab/core on tf.js. ADVLAB_SCREENSHOTS=1 also writes docs/img/ui-playground.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { withChromium } from '../../report/src/browser.ts';
import { createUiServer, defaultAppDir, type UiServer } from '../src/server/server.ts';
import { ensureTestModels } from './fixtures-models.ts';

const SCREENSHOT = join(import.meta.dirname, '../../../docs/img/ui-playground.png');
/**
 * Fashion-MNIST test image #19, a T-shirt/top: found by running PGD in the page on the first 100 test images. Both
 * models are right on it; PGD fools the standard model (into Shirt) and not the PGD-trained one at ε = 0.07, 0.1
 * and 0.13, on the WebGL backend and on the CPU, so float differences between backends do not flip it.
 */
const IMAGE = 19;
const TRUE_LABEL = 0;
// WebGL in headless Chromium is software-rendered (several seconds a run); nothing here should come near these.
const LOAD_TIMEOUT = 120_000;
const RUN_TIMEOUT = 180_000;

const modelsDir = mkdtempSync(join(tmpdir(), 'advlab-ui-playground-'));
let server: UiServer;

before(async () => {
  // Built by `npm run build` (or `cd packages/ui && npx vite build`); a missing build is a failure, not a skip.
  const app = defaultAppDir();
  assert.ok(
    existsSync(join(app, 'index.html')),
    `${app}: expected the built app, found none (npm run build, or cd packages/ui && npx vite build)`,
  );
  const seconds = await ensureTestModels(modelsDir);
  process.stderr.write(`playground test: trained the two models in ${seconds.toFixed(1)} s\n`);
  server = await createUiServer({ roots: [modelsDir], port: 0 });
});

after(async () => {
  await server?.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

interface PanelResult {
  state: string | undefined;
  label: number;
  cleanPred: number;
  advPred: number;
  verdict: string;
}

async function panel(page: Page, key: 'a' | 'b'): Promise<PanelResult> {
  return page.getByTestId(`pg-result-${key}`).evaluate((p: HTMLElement) => ({
    state: p.dataset.state,
    label: Number(p.dataset.label),
    cleanPred: Number(p.dataset.cleanPred),
    advPred: Number(p.dataset.advPred),
    verdict: p.querySelector('[data-testid=pg-verdict]')?.textContent ?? '',
  }));
}

/** Opens the playground with both models loaded; `errors` collects console errors and uncaught exceptions. */
async function openPlayground(page: Page, errors: string[]): Promise<void> {
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  await page.goto(`${server.url}#/playground`, { waitUntil: 'load' });
  await page.locator('[data-testid=pg-status][data-ready]').waitFor({ timeout: LOAD_TIMEOUT });
  for (const key of ['a', 'b'] as const) assert.equal(await page.getByTestId(`pg-result-${key}`).getAttribute('data-state'), 'ready');
}

/** Clicks Run and waits for the run numbered `run` (from 1) to finish. */
async function run(page: Page, runNumber: number): Promise<void> {
  await page.getByTestId('pg-run').click();
  await page.locator(`[data-testid=pg-status][data-runs="${runNumber}"]`).waitFor({ timeout: RUN_TIMEOUT });
  for (const key of ['a', 'b'] as const) assert.equal(await page.getByTestId(`pg-result-${key}`).getAttribute('data-state'), 'done');
}

/** Picks the fixed image, runs PGD at ε = 0.1 (run number `runNumber`) and checks the two verdicts. */
async function pgdOnFixedImage(page: Page, runNumber: number): Promise<[PanelResult, PanelResult]> {
  await page.getByTestId(`pg-sample-${IMAGE}`).click();
  await page.getByTestId('pg-attack').selectOption('pgd');
  await page.getByTestId('pg-eps').fill('0.1');
  await run(page, runNumber);
  const [standard, robust] = [await panel(page, 'a'), await panel(page, 'b')];
  assert.deepEqual(
    { label: standard.label, clean: standard.cleanPred },
    { label: TRUE_LABEL, clean: TRUE_LABEL },
    'the standard model is right on the clean image',
  );
  assert.notEqual(standard.advPred, standard.cleanPred, `the standard model is fooled (${standard.verdict})`);
  assert.match(standard.verdict, /^fooled: T-shirt\/top → /);
  assert.deepEqual(
    { label: robust.label, clean: robust.cleanPred, adv: robust.advPred },
    { label: TRUE_LABEL, clean: TRUE_LABEL, adv: TRUE_LABEL },
    `the PGD-trained model holds (${robust.verdict})`,
  );
  assert.equal(robust.verdict, 'holds: T-shirt/top');
  return [standard, robust];
}

test('PGD at ε = 0.1 fools the standard model and not the PGD-trained one, in the browser, without leaking tensors', async () => {
  const errors: string[] = [];
  await withChromium(async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    await openPlayground(page, errors);
    const backend = await page.getByTestId('pg-status').getAttribute('data-backend');
    assert.ok(backend === 'webgl' || backend === 'cpu', `backend ${backend}`);
    assert.match(
      (await page.getByTestId('pg-status').textContent()) ?? '',
      new RegExp(`^tf\\.js backend: ${backend}( \\(no WebGL here\\))? · `),
    );
    // The server's default pair: the run trained without attacks as A, the PGD-trained one as B.
    assert.equal(await page.getByTestId('pg-model-a').locator('option:checked').textContent(), 'standard · standard · standard/model');
    assert.equal(await page.getByTestId('pg-model-b').locator('option:checked').textContent(), 'pgd · pgd ε=0.1 · pgd/model');

    const first = await pgdOnFixedImage(page, 1);
    // Each column shows the three images and two top-5 lists.
    for (const key of ['a', 'b'] as const) {
      const result = page.getByTestId(`pg-result-${key}`);
      assert.equal(await result.locator('canvas').count(), 3);
      assert.equal(await result.locator('ol.pg-top > li').count(), 10);
    }
    if (process.env.ADVLAB_SCREENSHOTS === '1') {
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }

    // The same run again: the same verdicts (the attack is seeded), and every tensor of the first run was freed.
    const tensorsAfterFirst = Number(await page.getByTestId('pg-status').getAttribute('data-tensors'));
    assert.deepEqual(await pgdOnFixedImage(page, 2), first);
    const tensorsAfterSecond = Number(await page.getByTestId('pg-status').getAttribute('data-tensors'));
    assert.ok(tensorsAfterFirst > 0, `tf.memory().numTensors is reported (${tensorsAfterFirst})`);
    assert.equal(tensorsAfterSecond, tensorsAfterFirst, 'no tensor is left behind by a run');
  });
  assert.deepEqual(errors, []);
});

test('without WebGL the playground computes on the CPU backend, with the same verdicts', async () => {
  const errors: string[] = [];
  await withChromium(async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    // A browser that gives no WebGL context (tf.js asks canvases and offscreen canvases for one).
    await page.addInitScript(() => {
      for (const Canvas of [HTMLCanvasElement, OffscreenCanvas]) {
        const getContext = Canvas.prototype.getContext as (this: unknown, kind: string, ...rest: unknown[]) => unknown;
        Object.defineProperty(Canvas.prototype, 'getContext', {
          value(this: unknown, kind: string, ...rest: unknown[]) {
            return kind.includes('webgl') ? null : getContext.call(this, kind, ...rest);
          },
        });
      }
    });
    await openPlayground(page, errors);
    assert.equal(await page.getByTestId('pg-status').getAttribute('data-backend'), 'cpu');
    assert.match((await page.getByTestId('pg-status').textContent()) ?? '', /^tf\.js backend: cpu \(no WebGL here\) · /);
    await pgdOnFixedImage(page, 1);
  });
  assert.deepEqual(errors, []);
});
