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
import { RunDirectory, writeFileAtomic } from '@advlab/node';
import { writeReport } from '@advlab/report';
import { assertSameConfig, parseTrainFlags, train } from '../commands/train.ts';
import { attack } from '../commands/attack.ts';
import { evaluate } from '../commands/eval.ts';
import { selectBackend } from '../context.ts';
import { evalArgs, experimentsOf, trainArgs, type Profile } from './suite.ts';
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

export async function reproduce(o: ReproduceOptions): Promise<{ results: SuiteResults; files: string[] }> {
  const log = o.log ?? (() => {});
  mkdirSync(o.out, { recursive: true });
  await selectBackend(o.backend); // the Danskin check and the environment record need one even when every run is reused
  const backendFlag = o.backend ? ['--backend', o.backend] : [];
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
    const recipe = trainArgs(e, o.profile);
    const tag = `[${i + 1}/${experiments.length}] ${e.name}`;
    if (existsSync(join(dir, 'summary.json'))) {
      assertSameConfig(new RunDirectory(dir), parseTrainFlags(recipe), `reproduce (${dir})`);
      log(`${tag}: trained (reused)`);
    } else if (existsSync(join(dir, 'config.json'))) {
      log(`${tag}: resuming`);
      await timed(`train:${e.name}`, () => train(['--resume', dir, ...recipe, ...backendFlag]));
    } else {
      log(`${tag}: training`);
      await timed(`train:${e.name}`, () => train([...recipe, '--out', dir, ...backendFlag]));
    }
    const evalFile = join(dir, 'eval.json');
    const settings = evalArgs(e, o.profile);
    const recorded = `${JSON.stringify(['--model', '<path>', ...settings, '--json', '<path>'])}\n`;
    // An evaluation is reused only when it was made with the same arguments (eval-args.json, written after it).
    const argsFile = join(dir, 'eval-args.json');
    const sameArgs = existsSync(argsFile) && readFileSync(argsFile, 'utf8') === recorded;
    if (!existsSync(evalFile) || !sameArgs) {
      log(`${tag}: evaluating`);
      await timed(`eval:${e.name}`, () => evaluate(['--model', join(dir, 'model'), ...settings, '--json', evalFile, ...backendFlag]));
      writeFileAtomic(argsFile, recorded);
    }
    // The report's gallery shows the trade-off models' adversarial examples (clean | perturbation | adversarial).
    const grid = join(dir, 'grid.png');
    if (e.findings.includes('tradeoff') && !existsSync(grid)) {
      await timed(`gallery:${e.name}`, () =>
        attack([
          '--model',
          join(dir, 'model'),
          '--attack',
          'pgd',
          '--eps',
          String(e.evalEps[0]),
          '--n',
          '12',
          '--out',
          join(dir, 'gallery'),
          ...backendFlag,
        ]),
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
