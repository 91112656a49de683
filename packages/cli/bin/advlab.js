#!/usr/bin/env node
// The advlab command: the built JavaScript of @advlab/cli (`npm run build` makes dist/).
let main;
try {
  main = await import('../dist/main.js');
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/main.js')) {
    process.stderr.write('advlab: [E_BUILD] packages/cli/dist/main.js: expected the built CLI, found none (run `npm run build`)\n');
    process.exit(2);
  }
  throw e;
}
process.exitCode = await main.run(process.argv.slice(2));
