/**
 * Runs the reproduce suite: every experiment's training run and evaluation, the Danskin check, then the
 * summary (results.json, results.md) and the HTML report. Each step is skipped when its output exists,
 * so an interrupted suite continues where it stopped; a finished run is reused only when its config is
 * the one the suite asks for.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { backendInfo, danskinCheck } from '@advlab/core';
import { RunDirectory, acquireRunLock, writeFileAtomic } from '@advlab/node';
import { writeReport } from '@advlab/report';
import { assertSameConfig, trainRun } from '../commands/train.ts';
import { attackModel } from '../commands/attack.ts';
import { evaluateModel } from '../commands/eval.ts';
import { selectBackend } from '../context.ts';
import { evaluateGenerativeModel, attackGenerativeModel } from '../commands/generative.ts';
import {
  EVAL_EPS,
  GENERATIVE_EVAL,
  GENERATIVE_JUDGE,
  evalSettings,
  experimentsOf,
  trainConfig,
  type Experiment,
  type Profile,
} from './suite.ts';
import { summarize, type SuiteResults } from './summarize.ts';
import { renderMarkdown, reportSections } from './render.ts';

export interface ReproduceOptions {
  profile: Profile;
  out: string;
  backend?: string;
  log?: (message: string) => void;
}

interface Timing {
  started: string;
  /** Wall seconds of the steps this invocation ran (skipped steps cost nothing). */
  steps: Record<string, number>;
}

/** Runs the suite into `o.out`, holding its lock (a second reproduce of the same folder is refused with E_RUN_LOCKED). */
export async function reproduce(o: ReproduceOptions): Promise<{ results: SuiteResults; files: string[] }> {
  mkdirSync(o.out, { recursive: true });
  const lock = acquireRunLock(o.out, `advlab reproduce --${o.profile.name} --out ${o.out}`);
  try {
    return await reproduceLocked(o);
  } finally {
    lock.release();
  }
}

async function reproduceLocked(o: ReproduceOptions): Promise<{ results: SuiteResults; files: string[] }> {
  const log = o.log ?? (() => {});
  await selectBackend(o.backend); // the Danskin check and the environment record need one even when every run is reused
  const timingFile = join(o.out, 'timing.json');
  const timing: Timing = existsSync(timingFile)
    ? JSON.parse(readFileSync(timingFile, 'utf8'))
    : { started: new Date().toISOString(), steps: {} };
  const timed = async (key: string, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    timing.steps[key] = (timing.steps[key] ?? 0) + (performance.now() - t0) / 1000;
    writeFileAtomic(timingFile, `${JSON.stringify(timing, null, 2)}\n`);
  };

  const experiments = experimentsOf(o.profile);
  for (const [i, e] of experiments.entries()) {
    const dir = join(o.out, e.name);
    const recipe = trainConfig(e, o.profile);
    const tag = `[${i + 1}/${experiments.length}] ${e.name}`;
    if (existsSync(join(dir, 'summary.json'))) {
      assertSameConfig(new RunDirectory(dir), recipe, `reproduce (${dir})`);
      log(`${tag}: trained (reused)`);
    } else if (existsSync(join(dir, 'config.json'))) {
      log(`${tag}: resuming`);
      await timed(`train:${e.name}`, () => trainRun({ config: recipe, resume: dir, backend: o.backend }));
    } else {
      log(`${tag}: training`);
      await timed(`train:${e.name}`, () => trainRun({ config: recipe, out: dir, backend: o.backend }));
    }
    if (e.evaluation === 'generative') {
      await evaluateGenerativeRun(e, dir, o, tag, log, timed);
      continue;
    }
    const evalFile = join(dir, 'eval.json');
    const settings = evalSettings(e, o.profile);
    const recorded = `${JSON.stringify(settings)}\n`;
    // An evaluation is reused only when it was made with the same settings (eval-args.json, written after it).
    const argsFile = join(dir, 'eval-args.json');
    const sameArgs = existsSync(argsFile) && readFileSync(argsFile, 'utf8') === recorded;
    if (!existsSync(evalFile) || !sameArgs) {
      log(`${tag}: evaluating`);
      await timed(`eval:${e.name}`, () =>
        evaluateModel({ ...settings, model: join(dir, 'model'), json: evalFile, backend: o.backend, force: true }),
      );
      writeFileAtomic(argsFile, recorded);
    }
    // The report's gallery shows the trade-off models' adversarial examples (clean | perturbation | adversarial).
    const grid = join(dir, 'grid.png');
    if (e.findings.includes('tradeoff') && !existsSync(grid)) {
      await timed(`gallery:${e.name}`, () =>
        attackModel({
          model: join(dir, 'model'),
          attack: 'pgd',
          eps: e.evalEps[0]!,
          n: 12,
          out: join(dir, 'gallery'),
          backend: o.backend,
          force: true,
        }),
      );
      writeFileAtomic(grid, readFileSync(join(dir, 'gallery', 'grid.png')));
    }
  }

  const danskinFile = join(o.out, 'danskin.json');
  if (!existsSync(danskinFile)) {
    await timed('danskin', async () => writeFileAtomic(danskinFile, `${JSON.stringify(danskinCheck(), null, 2)}\n`));
  }

  const environment = {
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
    node: process.version,
    backend: backendInfo(),
    started: timing.started,
    finished: new Date().toISOString(),
    seconds: Object.values(timing.steps).reduce((a, b) => a + b, 0),
  };
  const results = summarize(o.out, o.profile, experiments, environment);
  const files = [join(o.out, 'results.json'), join(o.out, 'results.md'), join(o.out, 'report.html')];
  writeFileAtomic(files[0]!, `${JSON.stringify(results, null, 2)}\n`);
  writeFileAtomic(files[1]!, renderMarkdown(results));
  await writeReport(
    experiments.map((e) => join(o.out, e.name)),
    files[2]!,
    {
      title: `advlab reproduce --${o.profile.name}`,
      sections: reportSections(results),
      frontierEps: results.frontier.eps,
    },
  );
  return { results, files };
}

/** The files a generative experiment's evaluation leaves in its run directory. */
export const GENERATIVE_EVAL_FILE = 'eval-generative.json';

/**
 * A generative experiment's evaluation (eval-generative.json, judged by GENERATIVE_JUDGE's model) and its gallery
 * (generative.png: the output attack toward the first pair's target), each skipped when it exists with the same settings.
 */
async function evaluateGenerativeRun(
  e: Experiment,
  dir: string,
  o: ReproduceOptions,
  tag: string,
  log: (message: string) => void,
  timed: (key: string, fn: () => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const g = GENERATIVE_EVAL[o.profile.name];
  const judge = join(o.out, GENERATIVE_JUDGE, 'model');
  const settings = { ...g, norm: 'linf' as const, seed: 0, classifier: judge };
  const recorded = `${JSON.stringify(settings)}\n`;
  const evalFile = join(dir, GENERATIVE_EVAL_FILE);
  const argsFile = join(dir, 'eval-generative-args.json');
  if (!existsSync(evalFile) || !existsSync(argsFile) || readFileSync(argsFile, 'utf8') !== recorded) {
    log(`${tag}: evaluating (generative)`);
    await timed(`eval:${e.name}`, async () => {
      const report = await evaluateGenerativeModel({ ...settings, model: join(dir, 'model') });
      writeFileAtomic(evalFile, `${JSON.stringify(report, null, 2)}\n`);
    });
    writeFileAtomic(argsFile, recorded);
  }
  const png = join(dir, 'generative.png');
  if (!existsSync(png)) {
    const report = JSON.parse(readFileSync(evalFile, 'utf8')) as { pairs: { target: number }[] };
    await timed(`gallery:${e.name}`, () =>
      attackGenerativeModel(
        {
          model: join(dir, 'model'),
          attack: 'output',
          targetIndex: report.pairs[0]!.target,
          classifier: judge,
          eps: EVAL_EPS,
          norm: 'linf',
          n: 8,
          out: join(dir, 'gallery'),
          seed: 0,
          backend: o.backend,
        },
        true,
      ),
    );
    writeFileAtomic(png, readFileSync(join(dir, 'gallery', 'generative.png')));
  }
}
