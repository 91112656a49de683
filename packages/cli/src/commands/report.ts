import { ConfigError, option } from '@advlab/core';
import { checkOutput } from '@advlab/node';
import { writeReport } from '@advlab/report';
import { helpText, parseFlags } from '../flags.ts';

const USAGE = 'advlab report RUN_DIR|EVAL_JSON... [--out report.html] [--title TEXT] [--force]';

const ABOUT = `One self-contained HTML report (inline SVG charts, no script, no network) from training run directories
(config.json, metrics.jsonl, summary.json), folders with eval.json / curvature.json / fooled.png / grid.png, and
eval or curvature JSON files: overview, training curves with CO flags, evaluations per attack × ε and per class,
the clean–robust frontier, sanity checks, curvature (weight-Hessian eigenvalues, trace and density; input-space
measures), adversarial images, configuration and environment.`;

export const REPORT_OPTIONS = {
  out: option.string({ default: 'report.html', short: 'o', placeholder: 'FILE', expected: 'a file path', help: 'the HTML file to write' }),
  title: option.string({ optional: true, placeholder: 'TEXT', expected: 'a title', help: "the page's title" }),
  force: option.boolean({ help: 'replace existing output files' }),
};

export const reportHelp = helpText(USAGE, ABOUT, REPORT_OPTIONS);

export async function report(argv: string[]): Promise<string> {
  const { values: v, positionals: inputs } = parseFlags(argv, REPORT_OPTIONS, { positionals: true });
  if (inputs.length === 0) throw new ConfigError('RUN_DIR', 'at least one run directory or eval JSON file', 'none');
  checkOutput({ path: v.out, kind: 'file', key: 'out', inputs, force: v.force });
  await writeReport(inputs, v.out, v.title === undefined ? {} : { title: v.title });
  process.stdout.write(`wrote ${v.out}\n`);
  return v.out;
}
