import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../../packages/report/src/index.ts';
import { CHROMIUM, inspectReport } from '../../packages/report/src/browser.ts';
import { makeFakeRuns } from '../../packages/report/src/fixtures.ts';

// Opens a generated report in Debian's Chromium (never a downloaded browser) with the network cut off,
// and checks that it renders: no console or page error, every chart has drawn marks, every image loaded.

test('the report opens from disk in Chromium: no errors, no network, charts drawn, images loaded', { timeout: 120_000 }, async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} not found: the browser test needs Debian's Chromium (apt-get install -y chromium; scripts/setup.sh installs it)`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'advlab-report-e2e-'));
  const runs = makeFakeRuns(join(dir, 'runs'), { xss: true });
  const file = join(dir, 'report.html');
  await writeReport([runs.coRun, runs.stdRun, runs.evalDir, runs.evalFile], file, { title: 'advlab report (browser test)' });
  const screenshot = process.env.ADVLAB_SCREENSHOT || join(dir, 'report.png');

  const { errors, external, dialogs, charts, images, ...dom } = await inspectReport(file, screenshot);
  assert.deepEqual(errors, [], 'no console or page errors');
  assert.deepEqual(external, [], 'no request leaves the file');
  assert.deepEqual(dialogs, [], 'no script ran (the <script> run name is text)');
  assert.equal(dom.scripts, 0, 'no <script> element in the page');
  assert.deepEqual(dom.sections, ['overview', 'curves', 'evaluations', 'frontier', 'checks', 'gallery', 'details']);
  assert.ok(
    dom.overviewNames.includes('<script>alert(1)<∕script>'),
    `the hostile run name is shown as text: ${dom.overviewNames.join(' | ')}`,
  );
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
});
