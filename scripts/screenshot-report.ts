// Opens a report in Chromium (network cut off), fails on any console/page error, an outside request,
// a chart without drawn marks or an image that did not load, and saves a full-page screenshot.
//   node --import tsx scripts/screenshot-report.ts out/reproduce-full/report.html docs/img/report-full.png [MAX_HEIGHT]
// MAX_HEIGHT (pixels) keeps the top of the page only; every check still covers the whole page.
import { inspectReport } from '../packages/report/src/browser.ts';

const [file, png, maxHeight] = process.argv.slice(2);
if (!file || !png) {
  process.stderr.write('usage: node --import tsx scripts/screenshot-report.ts REPORT.html OUT.png [MAX_HEIGHT]\n');
  process.exit(2);
}
const page = await inspectReport(file, png, { maxHeight: maxHeight ? Number(maxHeight) : undefined });
const problems = [
  ...page.errors,
  ...page.external.map((u) => `outside request: ${u}`),
  ...page.charts.filter((c) => c.marks === 0).map((c) => `chart ${c.kind} has no drawn marks`),
  ...page.images.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => `image not loaded: ${i.alt}`),
];
process.stdout.write(
  `${file}: sections ${page.sections.join(', ')}; ${page.charts.length} charts (${page.charts.reduce((a, c) => a + c.marks, 0)} marks), ${page.images.length} images; screenshot ${png}\n`,
);
for (const p of problems) process.stderr.write(`problem: ${p}\n`);
process.exit(problems.length ? 1 : 0);
