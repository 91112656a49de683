import { ConfigError } from '@advlab/core';
import { writeReport } from '@advlab/report';
import { parse } from '../args.ts';

export const reportHelp = `advlab report RUN_DIR|EVAL_JSON... [--out report.html] [--title TEXT]
  One self-contained HTML report (inline SVG charts, no script, no network) from training run directories
  (config.json, metrics.jsonl, summary.json), folders with eval.json / fooled.png / grid.png, and eval JSON
  files: overview, training curves with CO flags, evaluations per attack × ε and per class, the clean–robust
  frontier, sanity checks, adversarial images, configuration and environment.`;

const VALUE_FLAGS = new Set(['--out', '-o', '--title']);

export async function report(argv: string[]): Promise<string> {
  // Run directories are positionals; the shared parser takes flags only.
  const inputs: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) inputs.push(a);
    else {
      flags.push(a);
      if (VALUE_FLAGS.has(a) && i + 1 < argv.length) flags.push(argv[++i]!);
    }
  }
  const v = parse(flags, { out: { type: 'string', short: 'o' }, title: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (inputs.length === 0) throw new ConfigError('RUN_DIR', 'at least one run directory or eval JSON file', 'none');
  const out = String(v.out ?? 'report.html');
  await writeReport(inputs, out, v.title === undefined ? {} : { title: String(v.title) });
  process.stdout.write(`wrote ${out}\n`);
  return out;
}
