// Screenshots of `advlab ui` over real runs, for the README: the dashboard with the runs matching SELECT
// selected, and the playground attacking its default pair with PGD at ε = 0.1 on test image IMAGE. Fails on
// any console or page error.
//   node --conditions=source --import tsx scripts/screenshot-ui.ts out/ [--select REGEX] [--image N] [--out docs/img]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { withChromium } from '../packages/report/src/browser.ts';
import { createUiServer } from '../packages/ui/src/server/server.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    select: { type: 'string', default: '' },
    image: { type: 'string', default: '0' },
    out: { type: 'string', default: 'docs/img' },
    'max-height': { type: 'string', default: '1500' },
  },
});
if (positionals.length === 0) {
  process.stderr.write('usage: scripts/screenshot-ui.ts ROOT... [--select REGEX] [--image N] [--out DIR]\n');
  process.exit(2);
}
const maxHeight = Number(values['max-height']);
const ui = await createUiServer({ roots: positionals, port: 0 });
const errors: string[] = [];

function watch(page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
}

async function shoot(page: Page, file: string): Promise<void> {
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.min(height, maxHeight) } });
  process.stdout.write(`wrote ${file}\n`);
}

try {
  await withChromium(async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    watch(page);
    await page.goto(ui.url);
    await page.waitForSelector('[data-testid=dash-runs] tbody tr');
    if (values.select) {
      const pattern = new RegExp(values.select);
      await page.$$eval(
        '[data-testid=dash-runs] tbody tr',
        (rows, source) => {
          const re = new RegExp(source);
          for (const row of rows) {
            const box = row.querySelector('input') as HTMLInputElement;
            const name = row.querySelector('td.name')?.textContent ?? '';
            if (box.checked !== re.test(name)) box.click();
          }
        },
        pattern.source,
      );
    }
    await page.waitForSelector('figure[data-metric=pgd_acc] svg');
    await page.waitForTimeout(500);
    await shoot(page, join(values.out, 'ui-dashboard.png'));

    await page.goto(`${ui.url}#/playground`);
    await page.waitForSelector('[data-testid=pg-status][data-ready]', { timeout: 120_000 });
    await page.getByTestId(`pg-sample-${values.image}`).click();
    await page.getByTestId('pg-attack').selectOption('pgd');
    await page.getByTestId('pg-eps').fill('0.1');
    await page.getByTestId('pg-run').click();
    await page.waitForSelector('[data-testid=pg-status][data-runs="1"]', { timeout: 120_000 });
    const verdicts = await page.$$eval('[data-testid=pg-verdict]', (els) => els.map((e) => e.textContent));
    process.stdout.write(`image ${values.image}: ${verdicts.join(' | ')}\n`);
    await shoot(page, join(values.out, 'ui-playground.png'));
  });
} finally {
  await ui.close();
}
for (const e of errors) process.stderr.write(`problem: ${e}\n`);
process.exit(errors.length ? 1 : 0);
