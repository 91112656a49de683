// The fault-injection suite (test/faults) with its counts: runs it (npm test runs it too) and prints the
// table of docs/reliability.md — cases tried, correct results, typed errors (by code), crashes, data-loss
// cases. ADVLAB_FAULT_SEED=N replays the random faults of an earlier run.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tally = join(mkdtempSync(join(tmpdir(), 'advlab-faults-')), 'tally.jsonl');
const seed = process.env.ADVLAB_FAULT_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
const r = spawnSync(process.execPath, ['scripts/test.mjs', 'test/faults'], {
  stdio: 'inherit',
  env: { ...process.env, ADVLAB_FAULT_TALLY: tally, ADVLAB_FAULT_SEED: seed },
});
const parts = existsSync(tally)
  ? readFileSync(tally, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const sum = (k) => parts.reduce((a, p) => a + p[k], 0);
const codes = {};
for (const p of parts) for (const [c, n] of Object.entries(p.codes)) codes[c] = (codes[c] ?? 0) + n;
const row = (p) => `| ${p.part} | ${p.cases} | ${p.ok} | ${p.typed} | ${p.crashes} | ${p.dataLoss} |`;
console.log(`\nfault-injection suite, seed ${seed}, ${new Date().toISOString()}\n`);
console.log('| part | cases | correct result | typed error | crashes | data-loss cases |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const p of parts) console.log(row(p));
console.log(
  row({ part: '**total**', cases: sum('cases'), ok: sum('ok'), typed: sum('typed'), crashes: sum('crashes'), dataLoss: sum('dataLoss') }),
);
console.log(
  `\ntyped errors by code: ${Object.entries(codes)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ')}`,
);
process.exit(r.status ?? 1);
