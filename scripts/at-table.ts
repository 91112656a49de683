// Prints the table of scripts/at-experiments.sh's runs: final held-out metrics, PGD-20 on the first 1000
// test images (every iterate counts / final iterate only), CO epochs and time per epoch (from each run's
// summary.json, metrics.jsonl, pgd20.json and pgd20-final.json).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { printMarkdownTable } from './markdown-table.ts';

const out = process.argv[2] ?? 'runs/at';
const pct = (v: number) => `${(100 * v).toFixed(1)}`;
const rows: string[][] = [
  [
    'run',
    'method',
    'ε',
    'clean (10k)',
    'PGD-20 (1k)',
    'PGD-20 final iterate (1k)',
    'FGSM (held-out)',
    'align',
    'CO flagged in epochs',
    's/epoch',
    'PGD-10 per epoch',
  ],
];
for (const name of readdirSync(out).sort()) {
  const dir = join(out, name);
  if (!existsSync(join(dir, 'summary.json'))) continue;
  const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  const robust = (file: string) =>
    existsSync(join(dir, file)) ? JSON.parse(readFileSync(join(dir, file), 'utf8')).attacks[0].robust_accuracy : NaN;
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => !l.event);
  const perEpoch = new Map<number, number>();
  for (const l of lines) perEpoch.set(l.epoch, l.pgd_acc);
  const spe = s.seconds_per_epoch.reduce((a: number, b: number) => a + b, 0) / s.seconds_per_epoch.length;
  rows.push([
    name,
    s.method,
    String(s.eps),
    pct(s.test_accuracy),
    pct(robust('pgd20.json')),
    pct(robust('pgd20-final.json')),
    pct(s.final.fgsm_acc),
    s.final.grad_align.toFixed(3),
    s.co_epochs.join(',') || '-',
    spe.toFixed(1),
    [...perEpoch.values()].map(pct).join(' '),
  ]);
}
printMarkdownTable(rows);
