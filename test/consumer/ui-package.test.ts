// @advlab/ui as npm would publish it: the built server and the built web app (so `advlab ui` needs no build
// tool at run time), its README and LICENSE, and no TypeScript source, tests or source maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = resolve(import.meta.dirname, '../..');

test('the @advlab/ui tarball holds dist/ with the built app, and no source or tests', () => {
  assert.ok(
    existsSync(join(ROOT, 'packages/ui/dist/app/index.html')),
    'packages/ui/dist/app: expected a build, found none (npm run build)',
  );
  const r = spawnSync('npm', ['pack', '-w', '@advlab/ui', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  const [packed] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
  const files = packed!.files.map((f) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/server/server.js', 'dist/app/index.html', 'README.md', 'package.json'])
    assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  assert.ok(
    files.some((f) => /^dist\/app\/assets\/index-[\w-]+\.js$/.test(f)),
    'the dashboard bundle',
  );
  assert.ok(
    files.some((f) => /^dist\/app\/assets\/playground-[\w-]+\.js$/.test(f)),
    'the playground bundle',
  );
  assert.deepEqual(
    files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.map') || /test|^src\/|^app\//.test(f)),
    [],
  );
});
