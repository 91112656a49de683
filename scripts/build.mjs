// Builds every workspace package into its dist/: ESM JavaScript, .d.ts and source maps, with tsc, in
// dependency order (a package is compiled against the .d.ts of those it depends on).
// tsc rewrites relative `.ts` imports to `.js` in the JavaScript but keeps them in declaration files;
// TypeScript ≥ 5 reads those, older ones and other tools do not, so they are rewritten here too.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const ORDER = ['core', 'node', 'onednn', 'report', 'ui', 'cli'];
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const vite = join(require.resolve('vite/package.json'), '..', 'bin', 'vite.js');

function files(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

for (const pkg of ORDER) {
  const root = join('packages', pkg);
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: tsc failed for packages/${pkg}`);
    process.exit(r.status ?? 1);
  }
  for (const f of files(join(root, 'dist')).filter((f) => f.endsWith('.d.ts'))) {
    const s = readFileSync(f, 'utf8');
    const t = s.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3');
    if (t !== s) writeFileSync(f, t);
  }
  if (pkg === 'ui') {
    // The web app `advlab ui` serves, built once here so the command needs no build tool at run time.
    const v = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
    if (v.status !== 0) {
      console.error('build: vite build failed for packages/ui/app');
      process.exit(v.status ?? 1);
    }
  }
  console.log(`built packages/${pkg}/dist`);
}
