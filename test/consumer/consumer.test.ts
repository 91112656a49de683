// advlab as other people get it: the packed tarballs of @advlab/core and @advlab/node, installed with tf.js
// from the registry into an empty project, used from plain Node (no tsx, no TypeScript), from TypeScript
// through the .d.ts, and from a browser bundle (esbuild --platform=browser) in headless Chromium.
// Needs the packages built (`npm test` builds first) and the npm registry (or npm's cache).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { withChromium } from '../../packages/report/src/browser.ts';
import { writeGraphModelFolder } from './graph-model-folder.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'node_modules', '.bin');
const work = mkdtempSync(join(tmpdir(), 'advlab-consumer-'));
const project = join(work, 'project');
const TFJS = '4.22.0';

function run(cmd: string, args: string[], cwd: string, timeout = 300_000): string {
  // A clean environment for the consumer: no loader or export condition of this repository's test run.
  const env = { ...process.env, NODE_OPTIONS: '' };
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The last line of a command's output, parsed as JSON. */
function lastJson(stdout: string): any {
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

let packed: { name: string; filename: string; files: { path: string }[] }[] = [];

before(() => {
  for (const p of ['core', 'node']) {
    assert.ok(
      existsSync(join(ROOT, 'packages', p, 'dist', 'index.js')),
      `packages/${p}/dist: expected a build, found none (npm run build)`,
    );
  }
  packed = JSON.parse(run('npm', ['pack', '-w', '@advlab/core', '-w', '@advlab/node', '--pack-destination', work, '--json'], ROOT));
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const tarballs = packed.map((p) => join(work, p.filename));
  // tf.js comes from the registry as the packages' peers; the converter and @types/node are the consumer's own.
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, `@tensorflow/tfjs-converter@${TFJS}`, '@types/node@20'],
    project,
  );
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the tarballs hold built JavaScript, declarations, README and LICENSE, and no TypeScript source or tests', () => {
  assert.deepEqual(packed.map((p) => p.name).sort(), ['@advlab/core', '@advlab/node']);
  for (const p of packed) {
    const files = p.files.map((f) => f.path);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'README.md', 'LICENSE', 'package.json'])
      assert.ok(files.includes(f), `${p.name}: ${f}`);
    assert.deepEqual(
      files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || /test|testing/.test(f)),
      [],
      p.name,
    );
  }
  const installed = JSON.parse(readFileSync(join(project, 'node_modules/@advlab/core/package.json'), 'utf8'));
  assert.match(installed.peerDependencies['@tensorflow/tfjs-core'], /^\^4\./, 'tf.js is a peer with a range');
  const tfCores = run('npm', ['ls', '@tensorflow/tfjs-core', '--all', '--parseable'], project).trim().split('\n');
  assert.equal(tfCores.length, 1, `one tfjs-core in the consumer's tree: ${tfCores.join(', ')}`);
  assert.ok(!existsSync(join(project, 'node_modules', 'tsx')), 'no TypeScript loader is installed with advlab');
});

test('plain Node: a tf.sequential trained on synthetic data loses accuracy under runAttack(pgd)', () => {
  copyFileSync(join(ROOT, 'examples/node/robust-accuracy.mjs'), join(project, 'robust-accuracy.mjs'));
  const r = lastJson(run(process.execPath, ['robust-accuracy.mjs', 'model'], project));
  assert.ok(r.clean >= 0.9, `clean accuracy ${r.clean}`);
  assert.ok(r.robust < r.clean - 0.2, `PGD robust accuracy ${r.robust} vs clean ${r.clean}`);
  assert.ok(existsSync(join(project, 'model', 'model.json')));
});

test("the Node quick start of @advlab/node's README runs as written with plain node", () => {
  const readme = readFileSync(join(ROOT, 'packages/node/README.md'), 'utf8');
  const block = /## Quick start[^\n]*\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'a ```js block under "## Quick start"');
  const code = block[1]!;
  assert.ok(code.trim().split('\n').length <= 8, `a short quick start:\n${code}`);
  writeFileSync(join(project, 'quickstart.mjs'), code);
  const out = run(process.execPath, ['quickstart.mjs', 'model', 'synthetic:tiny'], project);
  const m = /clean ([\d.]+).*robust ([\d.]+)/.exec(out);
  assert.ok(m, out);
  assert.ok(Number(m[2]) < Number(m[1]), out);
});

test('TypeScript: a consumer type-checks and compiles against the .d.ts with an ordinary tsconfig, and runs', () => {
  copyFileSync(join(import.meta.dirname, 'typed-consumer.ts'), join(project, 'typed-consumer.ts'));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        outDir: 'out',
        types: ['node'],
      },
      files: ['typed-consumer.ts'],
    }),
  );
  run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
  const r = lastJson(run(process.execPath, ['out/typed-consumer.js', 'model'], project));
  assert.ok(r.clean >= 0.9, JSON.stringify(r));
  assert.deepEqual(
    r.attacks.map((a: [string, number]) => a[0]),
    ['fgsm', 'pgd'],
  );
  for (const [name, acc] of r.attacks) assert.ok(acc < r.clean, `${name}: ${acc} vs clean ${r.clean}`);
});

function bundle(entry: string, outfile: string): string {
  const r = spawnSync(
    join(BIN, 'esbuild'),
    [entry, '--bundle', '--platform=browser', '--format=esm', `--outfile=${outfile}`, '--log-level=warning'],
    {
      cwd: project,
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, `esbuild ${entry}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /error/i, r.stderr);
  const code = readFileSync(join(project, outfile), 'utf8');
  assert.doesNotMatch(code, /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/, `${outfile} imports a node: module`);
  return code;
}

test('esbuild bundles the whole of @advlab/core for the browser with no error and no node: import', () => {
  writeFileSync(join(project, 'all-of-core.js'), "export * from '@advlab/core';\n");
  const code = bundle('all-of-core.js', 'all-of-core.bundle.js');
  assert.match(code, /function runAttack/);
});

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

test('in Chromium: PGD lowers the accuracy of a LayersModel and of a GraphModel loaded by URL', async () => {
  const site = join(project, 'site');
  mkdirSync(site);
  for (const f of ['index.html', 'main.js']) copyFileSync(join(ROOT, 'examples/browser', f), join(site, f));
  bundle('site/main.js', 'site/bundle.js');
  // The model the Node example trained, as a LayersModel folder and as a GraphModel folder (same function).
  run('cp', ['-r', join(project, 'model'), join(site, 'model')], project);
  await writeGraphModelFolder(join(site, 'model'), join(site, 'graph-model'));

  const result = await withChromium(async (context) => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The site is served from the folder by the test itself; nothing else is reachable.
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      const file = join(site, decodeURIComponent(url.pathname));
      if (url.host !== 'advlab.test' || !file.startsWith(`${site}/`) || !existsSync(file))
        return route.fulfill({ status: 404, body: 'not found' });
      return route.fulfill({ status: 200, body: readFileSync(file), contentType: TYPES[extname(file)] ?? 'application/octet-stream' });
    });
    await page.goto('http://advlab.test/index.html?backend=cpu');
    await page.waitForFunction(() => (window as unknown as { advlabResult?: unknown }).advlabResult !== undefined, undefined, {
      timeout: 240_000,
    });
    const r = await page.evaluate(() => (window as unknown as { advlabResult: unknown }).advlabResult);
    return { r: r as any, errors };
  });
  assert.deepEqual(result.errors, []);
  assert.equal(result.r.error, undefined, result.r.error);
  assert.equal(result.r.backend, 'cpu');
  for (const kind of ['layersModel', 'graphModel']) {
    const { clean, robust } = result.r[kind];
    assert.ok(clean >= 0.9, `${kind}: clean ${clean}`);
    assert.ok(robust < clean - 0.2, `${kind}: PGD robust ${robust} vs clean ${clean}`);
  }
  assert.deepEqual(result.r.graphModel, result.r.layersModel, 'the same network gives the same numbers in either format');
});
