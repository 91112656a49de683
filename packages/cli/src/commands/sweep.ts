/**
 * `advlab sweep`: a grid of training runs — any of `advlab train`'s run options given as a comma list — each
 * trained and evaluated as one task of a manifest, run by an executor like reproduce's, then summarised
 * (results.json, results.md, report.html) in one table with a row per grid point.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backendInfo, ConfigError, option, optionInfo } from '@advlab/core';
import { acquireRunLock, checkOutput, datasetFolders, writeFileAtomic } from '@advlab/node';
import { writeReport } from '@advlab/report';
import { MANIFEST_FILE, type Task, writeManifest } from '../cluster/manifest.ts';
import { checkExecutorFlags, EXECUTOR_OPTIONS, runTasks } from '../cluster/options.ts';
import { flagOf, helpText, parseFlags } from '../flags.ts';
import { backendOption } from '../options.ts';
import { formatSeconds } from '../progress.ts';
import { taskSeconds } from '../cluster/task.ts';
import { machineDescription, selectBackend } from '../context.ts';
import { RUN_CONFIG_OPTIONS, resolveRunConfig } from './train.ts';
import type { EvalRequest } from './eval.ts';

const USAGE =
  'advlab sweep --out DIR [train options, each a comma list: --method pgd --eps 0.05,0.1 --seed 0,1,2 …] [--eval-eps E,…] [--executor …]';

const ABOUT = `Trains every point of a grid and evaluates it. Each of advlab train's run options (model, method, eps, seed,
epochs, limit, data, …; advlab train --help) may be a comma-separated list; the grid is their product, in the
order the flags are given (--minority takes one value: its syntax holds commas). Every point is a task of
DIR/manifest.json run by --executor (local worker processes by default; slurm; k8s) into DIR/NAME, NAME made of
the varying options (eps-0.05_seed-1). Each model is evaluated on the first --eval-n test images: clean, FGSM and
PGD at every --eval-eps, and the worst case with --eval-suite. Finished points are reused, interrupted ones
resumed; a point whose folder holds another config is refused. Writes DIR/results.json, results.md, report.html.`;

/** The train options a sweep cannot vary: their values contain commas. */
const ONE_VALUE = new Set(['minority']);

/**
 * Train's run options as sweep flags, under train's flag names (options without a flag in train have none here): the
 * text is split into the grid's values, each then parsed as train parses it.
 */
const runOptionFlags = Object.fromEntries(
  Object.entries(RUN_CONFIG_OPTIONS).flatMap(([k, schema]) => {
    const info = optionInfo(schema)!;
    if (info.flag === null) return [];
    const one = (info.placeholder ?? 'V').length > 24 ? 'NAME' : (info.placeholder ?? 'V');
    const shown = info.defaultValue !== undefined ? ` (train's default ${JSON.stringify(info.defaultValue)})` : '';
    return [
      [
        k,
        option.string({
          optional: true,
          ...(info.flag !== undefined ? { flag: info.flag } : {}),
          placeholder: ONE_VALUE.has(k) ? one : `${one},…`,
          expected: ONE_VALUE.has(k) ? info.expected : `comma-separated values, each ${info.expected}`,
          help: `${info.help}${shown}${ONE_VALUE.has(k) ? '' : '; a list sweeps it'}`,
        }),
      ],
    ];
  }),
) as Record<keyof typeof RUN_CONFIG_OPTIONS, ReturnType<typeof option.string<{ optional: true; help: string; expected: string }>>>;

export const SWEEP_OPTIONS = {
  out: option.string({ placeholder: 'DIR', expected: 'a folder', help: 'the suite folder: manifest, runs, results' }),
  evalEps: option.numbers({ min: 0, default: [0.1], placeholder: 'E,…', help: 'ε of the evaluation (clean, FGSM, PGD, worst case)' }),
  evalN: option.integer({ min: 1, default: 1000, placeholder: 'N', help: 'the first N test images' }),
  evalSteps: option.integer({ min: 1, default: 20, placeholder: 'K', help: "PGD's steps in the evaluation" }),
  evalSuite: option.oneOf(['apgd', 'autoattack', 'none'], {
    default: 'apgd',
    help: 'the worst case: APGD-CE + APGD-T, AutoAttack standard, or none (FGSM and PGD only)',
  }),
  backend: backendOption,
  ...EXECUTOR_OPTIONS,
  ...runOptionFlags,
};

export const sweepHelp = helpText(USAGE, ABOUT, SWEEP_OPTIONS);

/** The grid: for each point, the argv of `advlab train`'s run options; and which options vary. */
export function sweepGrid(values: Record<string, unknown>, given: readonly string[]): { points: string[][]; varying: string[] } {
  const axes = given
    .filter((k) => k in RUN_CONFIG_OPTIONS)
    .map((k) => {
      const raw = String(values[k]);
      const items = ONE_VALUE.has(k) ? [raw] : raw.split(',').map((s) => s.trim());
      if (items.some((s) => s === '')) throw new ConfigError(k, 'comma-separated values, none empty', JSON.stringify(raw));
      if (new Set(items).size !== items.length) throw new ConfigError(k, 'distinct values', JSON.stringify(raw));
      return { key: k, items };
    });
  let points: string[][] = [[]];
  for (const a of axes) points = points.flatMap((p) => a.items.map((v) => [...p, flagOf(RUN_CONFIG_OPTIONS, a.key)!, v]));
  return { points, varying: axes.filter((a) => a.items.length > 1).map((a) => a.key) };
}

/** A point's folder name: its varying options and values (eps-0.05_seed-1), or "run" when nothing varies. */
export function pointName(argv: readonly string[], varying: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    if (varying.some((v) => flagOf(RUN_CONFIG_OPTIONS, v) === flag))
      parts.push(`${flag.slice(2)}-${argv[i + 1]!.replace(/[^A-Za-z0-9.-]+/g, '-')}`);
  }
  return parts.join('_') || 'run';
}

export interface SweepRow {
  name: string;
  /** The varying options' values. */
  point: Record<string, unknown>;
  clean: number;
  attacks: { name: string; eps: number; robust: number }[];
  worstCase: { eps: number; robust: number; attacks: string[] }[];
}

export interface SweepResults {
  suite: 'sweep';
  varying: string[];
  evaluation: { eps: number[]; n: number; steps: number; suite: string };
  rows: SweepRow[];
  environment: { machine: string; node: string; backend: unknown; finished: string; seconds: number };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function renderSweep(r: SweepResults): string {
  const cols = r.rows[0]
    ? [...r.rows[0].attacks.map((a) => `${a.name} ε=${a.eps}`), ...r.rows[0].worstCase.map((w) => `worst case ε=${w.eps}`)]
    : [];
  const lines = [
    '# advlab sweep',
    '',
    `Each run evaluated on the first ${r.evaluation.n} test images (PGD-${r.evaluation.steps}; worst case: ${r.evaluation.suite}). ${r.environment.machine}; ${formatSeconds(r.environment.seconds)} of work.`,
    '',
    `| run | ${r.varying.join(' | ')}${r.varying.length ? ' | ' : ''}clean | ${cols.join(' | ')} |`,
    `|---|${r.varying.map(() => '---|').join('')}---|${cols.map(() => '---|').join('')}`,
    ...r.rows.map(
      (row) =>
        `| ${row.name} | ${r.varying.map((k) => String(row.point[k])).join(' | ')}${r.varying.length ? ' | ' : ''}${pct(row.clean)} | ${[...row.attacks.map((a) => pct(a.robust)), ...row.worstCase.map((w) => pct(w.robust))].join(' | ')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

export async function sweep(argv: string[]): Promise<SweepResults | undefined> {
  const { values: v, given } = parseFlags(argv, SWEEP_OPTIONS);
  checkExecutorFlags(v, given);
  const { points, varying } = sweepGrid(v, given);
  // Every point is checked as advlab train would check it, before anything runs.
  const configs = points.map((p) => {
    const parsed = parseFlags(p, RUN_CONFIG_OPTIONS);
    const config = Object.fromEntries(parsed.given.map((k) => [k, parsed.values[k]]));
    resolveRunConfig(config);
    return config;
  });
  const out = v.out;
  checkOutput({
    path: out,
    kind: 'directory',
    key: 'out',
    inputs: datasetFolders(typeof configs[0]?.data === 'string' ? configs[0].data : undefined),
  });
  const settings: Omit<EvalRequest, 'model'> = {
    attacks: ['fgsm', 'pgd'],
    eps: v.evalEps,
    n: v.evalN,
    steps: v.evalSteps,
    ...(v.evalSuite === 'none' ? { noWorstCase: true } : v.evalSuite === 'apgd' ? {} : { suite: v.evalSuite }),
  };
  const tasks: Task[] = points.map((p, index) => {
    const name = pointName(p, varying);
    return { index, name, dir: name, train: configs[index]!, evaluate: { kind: 'classifier', settings }, after: [] };
  });
  mkdirSync(out, { recursive: true });
  const lock = acquireRunLock(out, `advlab sweep --out ${out}`);
  try {
    const m = writeManifest(join(out, MANIFEST_FILE), {
      format: 'advlab-manifest',
      version: 1,
      suite: { kind: 'sweep', varying, title: `advlab sweep (${varying.join(' × ') || 'one run'})` },
      tasks,
    });
    const log = (message: string) => process.stderr.write(`sweep: ${message}\n`);
    const t0 = performance.now();
    const outcome = await runTasks(m, { flags: v, backend: v.backend, log });
    if (!outcome.finished) {
      process.stdout.write(`sweep: ${outcome.message}\n`);
      return undefined;
    }
    await selectBackend(v.backend);
    const rows = tasks.map((t): SweepRow => {
      const report = JSON.parse(readFileSync(join(out, t.dir, 'eval.json'), 'utf8')) as {
        clean_accuracy: number;
        attacks: { name: string; eps: number; robust_accuracy: number }[];
        worst_case_by_eps?: { eps: number; robust_accuracy: number; attacks: string[] }[];
      };
      return {
        name: t.name,
        point: Object.fromEntries(varying.map((k) => [k, t.train[k]])),
        clean: report.clean_accuracy,
        attacks: report.attacks.map((a) => ({ name: a.name, eps: a.eps, robust: a.robust_accuracy })),
        worstCase:
          v.evalSuite === 'none'
            ? []
            : (report.worst_case_by_eps ?? []).map((w) => ({ eps: w.eps, robust: w.robust_accuracy, attacks: w.attacks })),
      };
    });
    const results: SweepResults = {
      suite: 'sweep',
      varying,
      evaluation: { eps: v.evalEps, n: v.evalN, steps: v.evalSteps, suite: v.evalSuite },
      rows,
      environment: {
        machine: machineDescription(),
        node: process.version,
        backend: backendInfo(),
        finished: new Date().toISOString(),
        seconds: taskSeconds(m),
      },
    };
    const files = [join(out, 'results.json'), join(out, 'results.md'), join(out, 'report.html')];
    writeFileAtomic(files[0]!, `${JSON.stringify(results, null, 2)}\n`);
    writeFileAtomic(files[1]!, renderSweep(results));
    await writeReport(
      tasks.map((t) => join(out, t.dir)),
      files[2]!,
      { title: `advlab sweep: ${varying.join(' × ') || 'one run'}` },
    );
    process.stdout.write(
      `\nsweep: ${tasks.length} run(s), ${formatSeconds((performance.now() - t0) / 1000)}\n${files.map((f) => `wrote ${f}`).join('\n')}\n`,
    );
    return results;
  } finally {
    lock.release();
  }
}
