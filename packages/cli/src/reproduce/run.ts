/**
 * Runs the reproduce suite: its experiments become a manifest of tasks (train, evaluate, gallery), run by an
 * executor (local worker processes by default, a Slurm job array, or Kubernetes Jobs written for kubectl); then the
 * Danskin check and the summary (results.json, results.md) and the HTML report. A task's work is skipped when its
 * output exists, so an interrupted suite continues where it stopped; a finished run is reused only when its config is
 * the one the suite asks for.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backendInfo, ConfigError, danskinCheck } from '@advlab/core';
import { acquireRunLock, writeFileAtomic } from '@advlab/node';
import { writeReport } from '@advlab/report';
import { MANIFEST_FILE, type Task, writeManifest } from '../cluster/manifest.ts';
import { type RunSuiteOptions, runTasks } from '../cluster/options.ts';
import { taskSeconds } from '../cluster/task.ts';
import { machineDescription, selectBackend } from '../context.ts';
import { EVAL_EPS, GENERATIVE_EVAL, GENERATIVE_JUDGE, evalSettings, experimentsOf, trainConfig, type Profile } from './suite.ts';
import { summarize, type SuiteResults } from './summarize.ts';
import { renderMarkdown, reportSections } from './render.ts';

export interface ReproduceOptions extends Omit<RunSuiteOptions, 'log'> {
  profile: Profile;
  out: string;
  log?: (message: string) => void;
}

/** The coordinator's own steps (the Danskin check) and when the suite was first started; tasks keep their own timing. */
interface Timing {
  started: string;
  /** Wall seconds of the steps this invocation ran (skipped steps cost nothing). */
  steps: Record<string, number>;
}

/** The tasks of a profile's experiments, in the suite's order; a generative task comes after its judge's. */
export function reproduceTasks(p: Profile): Task[] {
  const experiments = experimentsOf(p);
  return experiments.map((e, index): Task => {
    const base = { index, name: e.name, dir: e.name, train: trainConfig(e, p) };
    if (e.evaluation === 'generative') {
      const judge = experiments.findIndex((j) => j.name === GENERATIVE_JUDGE);
      if (judge < 0 || judge > index)
        throw new ConfigError(
          'only',
          `${GENERATIVE_JUDGE} in the suite before ${e.name} (its classifier judges the generative evaluation)`,
          'it missing',
        );
      return {
        ...base,
        evaluate: { kind: 'generative', settings: { ...GENERATIVE_EVAL[p.name], norm: 'linf', seed: 0 }, judge: GENERATIVE_JUDGE },
        gallery: { kind: 'generative', eps: EVAL_EPS },
        after: [judge],
      };
    }
    return {
      ...base,
      evaluate: { kind: 'classifier', settings: evalSettings(e, p) },
      // The report's gallery shows the trade-off models' adversarial examples (clean | perturbation | adversarial).
      ...(e.findings.includes('tradeoff') ? { gallery: { kind: 'classifier' as const, eps: e.evalEps[0]! } } : {}),
      after: [],
    };
  });
}

/**
 * Runs the suite into `o.out`, holding its lock (a second reproduce of the same folder is refused with E_RUN_LOCKED).
 * Returns `handedOff` (what to do next) when the tasks were handed to Kubernetes: the same call, once the Jobs complete, writes the summary.
 */
export async function reproduce(o: ReproduceOptions): Promise<{ results: SuiteResults; files: string[] } | { handedOff: string }> {
  mkdirSync(o.out, { recursive: true });
  const lock = acquireRunLock(o.out, `advlab reproduce --${o.profile.name} --out ${o.out}`);
  try {
    return await reproduceLocked(o);
  } finally {
    lock.release();
  }
}

async function reproduceLocked(o: ReproduceOptions): Promise<{ results: SuiteResults; files: string[] } | { handedOff: string }> {
  const log = o.log ?? (() => {});
  const timingFile = join(o.out, 'timing.json');
  const timing: Timing = existsSync(timingFile)
    ? JSON.parse(readFileSync(timingFile, 'utf8'))
    : { started: new Date().toISOString(), steps: {} };
  writeFileAtomic(timingFile, `${JSON.stringify(timing, null, 2)}\n`);

  const experiments = experimentsOf(o.profile);
  const m = writeManifest(join(o.out, MANIFEST_FILE), {
    format: 'advlab-manifest',
    version: 1,
    suite: { kind: 'reproduce', profile: { ...o.profile } },
    tasks: reproduceTasks(o.profile),
  });
  const outcome = await runTasks(m, { ...o, log });
  if (!outcome.finished) return { handedOff: outcome.message };

  await selectBackend(o.backend); // the Danskin check and the environment record need one
  const danskinFile = join(o.out, 'danskin.json');
  if (!existsSync(danskinFile)) {
    const t0 = performance.now();
    writeFileAtomic(danskinFile, `${JSON.stringify(danskinCheck(), null, 2)}\n`);
    timing.steps.danskin = (timing.steps.danskin ?? 0) + (performance.now() - t0) / 1000;
    writeFileAtomic(timingFile, `${JSON.stringify(timing, null, 2)}\n`);
  }

  const environment = {
    machine: machineDescription(),
    node: process.version,
    backend: backendInfo(),
    started: timing.started,
    finished: new Date().toISOString(),
    seconds: Object.values(timing.steps).reduce((a, b) => a + b, 0) + taskSeconds(m),
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
