// `advlab ui` through the real binary: it prints the 127.0.0.1 URL, serves the runs and the built app,
// refuses another host without a token, and stops cleanly on SIGINT.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { makeFakeRuns } from '../../packages/report/src/fixtures.ts';

const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');
const root = mkdtempSync(join(tmpdir(), 'advlab-e2e-ui-'));
makeFakeRuns(root);
after(() => rmSync(root, { recursive: true, force: true }));

test('advlab ui ROOT --port 0: prints the loopback URL, serves runs and the app, exits 0 on SIGINT', async () => {
  const child = spawn(process.execPath, [bin, 'ui', root, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  try {
    while (!/open (http:\S+)/.test(out)) {
      await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => assert.fail(`exited early: ${out}`))]);
    }
    const url = /open (http:\S+)/.exec(out)![1]!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(out, /advlab ui: \d+ runs under /);
    const runs = (await (await fetch(`${url}api/runs`)).json()) as { runs: { name: string }[] };
    assert.ok(runs.runs.some((r) => r.name === 'standard'));
    const page = await fetch(url);
    assert.equal(page.status, 200, 'the built app is served (npm run build)');
    assert.match(await page.text(), /<title>advlab ui<\/title>/);
  } finally {
    child.kill('SIGINT');
  }
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('advlab ui refuses another host without --token, naming the flag', () => {
  const r = spawnSync(process.execPath, [bin, 'ui', root, '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /\[E_CONFIG\] --host: expected 127\.0\.0\.1, localhost or ::1 unless --token is given/);
});
