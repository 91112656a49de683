/**
 * Opens a report file in Debian's Chromium (never a downloaded browser) with the network cut off and
 * returns what a reader would see: errors, outside requests, dialogs, charts with their drawn marks,
 * images, sections; and saves a full-page screenshot. Used by the browser test and by
 * scripts/screenshot-report.ts (the screenshot docs/RESULTS.md links).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface PageInspection {
  errors: string[];
  external: string[];
  dialogs: string[];
  scripts: number;
  sections: string[];
  title: string;
  overviewNames: (string | null)[];
  charts: { kind: string | null; marks: number; width: number; height: number }[];
  images: { alt: string; complete: boolean; naturalWidth: number; shown: number }[];
}

/**
 * Runs `use` with a fresh headless Chromium context (its own empty profile, removed afterwards). The flags
 * keep Chromium off the network it would otherwise try to reach at start.
 */
export async function withChromium<T>(use: (context: BrowserContext) => Promise<T>): Promise<T> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'advlab-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  try {
    return await use(context);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** `maxHeight` clips the full-page screenshot to its top (a long report is tens of thousands of pixels tall). */
export async function inspectReport(file: string, screenshot: string, opts: { maxHeight?: number } = {}): Promise<PageInspection> {
  return withChromium(async (context) => {
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
          marks: svg
            ? svg.querySelectorAll('g.role-mark > path, g.role-mark > circle, g.role-mark > rect, g.role-mark > line, g.role-mark > text')
                .length
            : 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
    );
    const images = await page.evaluate(() =>
      [...document.images].map((i) => ({
        alt: i.alt,
        complete: i.complete,
        naturalWidth: i.naturalWidth,
        shown: i.getBoundingClientRect().width,
      })),
    );
    const dom = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script').length,
      sections: [...document.querySelectorAll('section')].map((s) => s.id),
      title: document.title,
      overviewNames: [...document.querySelectorAll('#overview td strong')].map((e) => e.textContent),
    }));
    await page.screenshot({
      path: screenshot,
      fullPage: true,
      ...(opts.maxHeight ? { clip: { x: 0, y: 0, width: 1280, height: opts.maxHeight } } : {}),
    });
    return { errors, external, dialogs, charts, images, ...dom };
  });
}
