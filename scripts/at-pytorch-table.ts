// Prints the table of scripts/at-pytorch.sh's PyTorch runs: final clean and PGD-20 accuracy on the first
// 1000 test images (final iterate / any iterate), the peak held-out PGD-10 and its epoch, PGD-10 per epoch.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printMarkdownTable } from './markdown-table.ts';

const dir = process.argv[2] ?? 'runs/at-pytorch';
if (!existsSync(dir)) throw new Error(`${dir}: no such folder (run scripts/at-pytorch.sh first)`);
const rows: string[][] = [
  ['run', 'clean (1k)', 'PGD-20 final iterate (1k)', 'PGD-20 any iterate (1k)', 'peak PGD-10 (epoch)', 'PGD-10 per epoch (final iterate)'],
];
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.jsonl'))
  .sort()) {
  const lines = readFileSync(join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const fin = lines.find((l) => l.final);
  const measured = lines.filter((l) => !l.final);
  const perEpoch = new Map<number, number>();
  for (const l of measured) perEpoch.set(l.epoch, l.pgd10_acc);
  const peak = measured.reduce((a, b) => (b.pgd10_acc > a.pgd10_acc ? b : a), measured[0]);
  rows.push([
    file.replace(/\.jsonl$/, ''),
    fin ? fin.clean_acc.toFixed(1) : '(running)',
    fin ? fin.pgd20_acc.toFixed(1) : '-',
    fin?.pgd20_any_acc !== undefined ? fin.pgd20_any_acc.toFixed(1) : '-',
    peak ? `${peak.pgd10_acc.toFixed(1)} (${peak.epoch})` : '-',
    [...perEpoch.values()].map((v) => v.toFixed(1)).join(' '),
  ]);
}
printMarkdownTable(rows);
