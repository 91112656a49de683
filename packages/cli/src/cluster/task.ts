/**
 * One task of a manifest, as `advlab task` runs it in a worker: train (or resume, or reuse) the run, evaluate it,
 * make its gallery. Each step is skipped when its output exists with the task's settings, so a task killed at any
 * point continues where it stopped, and a finished task costs nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RunDirectory, writeFileAtomic } from '@advlab/node';
import { attackModel } from '../commands/attack.ts';
import { evaluateModel } from '../commands/eval.ts';
import { attackGenerativeModel, evaluateGenerativeModel } from '../commands/generative.ts';
import { assertSameConfig, trainRun } from '../commands/train.ts';
import { EVAL_FILES, GALLERY_FILES, judgeModel, type LoadedManifest, recordedSettings, type Task, taskDir } from './manifest.ts';

/** What a task's attempts cost: wall seconds per step, summed over the attempts that ran it. */
export interface TaskTiming {
  steps: Record<string, number>;
  attempts: { host: string; pid: number; started: string; job?: string }[];
}

/** Where a task's timing is kept: beside the manifest, so the run directory holds only the run. */
export const timingFile = (m: LoadedManifest, t: Task) => join(m.root, 'tasks', `${String(t.index).padStart(4, '0')}-${t.name}.json`);

export function readTiming(m: LoadedManifest, t: Task): TaskTiming {
  const f = timingFile(m, t);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as TaskTiming) : { steps: {}, attempts: [] };
}

/** Wall seconds of every task's attempts (tasks/*.json beside the manifest). */
export function taskSeconds(m: LoadedManifest): number {
  const dir = join(m.root, 'tasks');
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    const t = JSON.parse(readFileSync(join(dir, f), 'utf8')) as TaskTiming;
    total += Object.values(t.steps).reduce((a, b) => a + b, 0);
  }
  return total;
}

export interface TaskOptions {
  backend?: string;
  log?: (message: string) => void;
}

/** Runs task `t` of `m` to the end (or resumes it); the caller holds nothing but the manifest. */
export async function runTask(m: LoadedManifest, t: Task, o: TaskOptions = {}): Promise<void> {
  const log = o.log ?? (() => {});
  const dir = taskDir(m, t);
  const timing = readTiming(m, t);
  // The scheduler attempt, as the batch script (slurm) or `advlab task` (k8s) named it for the run's lock.
  const job = process.env.ADVLAB_JOB || undefined;
  timing.attempts.push({ host: hostname(), pid: process.pid, started: new Date().toISOString(), ...(job ? { job } : {}) });
  const save = () => writeFileAtomic(timingFile(m, t), `${JSON.stringify(timing, null, 2)}\n`);
  save();
  const timed = async (key: string, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    timing.steps[key] = (timing.steps[key] ?? 0) + (performance.now() - t0) / 1000;
    save();
  };

  if (existsSync(join(dir, 'summary.json'))) {
    assertSameConfig(new RunDirectory(dir), t.train, `task ${t.name} (${dir})`);
    log(`${t.name}: trained (reused)`);
  } else if (existsSync(join(dir, 'config.json'))) {
    log(`${t.name}: resuming`);
    await timed('train', () => trainRun({ config: t.train, resume: dir, backend: o.backend }));
  } else {
    log(`${t.name}: training`);
    await timed('train', () => trainRun({ config: t.train, out: dir, backend: o.backend }));
  }

  const e = t.evaluate;
  if (e) {
    const files = EVAL_FILES[e.kind];
    const recorded = recordedSettings(m, e);
    const args = join(dir, files.args);
    const report = join(dir, files.report);
    // An evaluation is reused only when it was made with the same settings (the args file, written after it).
    if (!existsSync(report) || !existsSync(args) || readFileSync(args, 'utf8') !== recorded) {
      log(`${t.name}: evaluating${e.kind === 'generative' ? ' (generative)' : ''}`);
      await timed('eval', async () => {
        if (e.kind === 'classifier') {
          await evaluateModel({ ...e.settings, model: join(dir, 'model'), json: report, backend: o.backend, force: true });
        } else {
          const r = await evaluateGenerativeModel({
            ...(JSON.parse(recorded) as typeof e.settings & { classifier: string }),
            model: join(dir, 'model'),
          });
          writeFileAtomic(report, `${JSON.stringify(r, null, 2)}\n`);
        }
      });
      writeFileAtomic(args, recorded);
    }
  }

  const g = t.gallery;
  if (g && !existsSync(join(dir, GALLERY_FILES[g.kind]))) {
    const out = join(dir, 'gallery');
    await timed('gallery', async () => {
      if (g.kind === 'classifier') {
        await attackModel({ model: join(dir, 'model'), attack: 'pgd', eps: g.eps, n: 12, out, backend: o.backend, force: true });
      } else {
        // The output attack toward the first evaluated pair's target, judged by the evaluation's classifier.
        const report = JSON.parse(readFileSync(join(dir, EVAL_FILES.generative.report), 'utf8')) as { pairs: { target: number }[] };
        const judge = e?.kind === 'generative' ? judgeModel(m, e) : undefined;
        await attackGenerativeModel(
          {
            model: join(dir, 'model'),
            attack: 'output',
            targetIndex: report.pairs[0]!.target,
            ...(judge ? { classifier: judge } : {}),
            eps: g.eps,
            norm: 'linf',
            n: 8,
            out,
            seed: 0,
            backend: o.backend,
          },
          true,
        );
      }
    });
    writeFileAtomic(join(dir, GALLERY_FILES[g.kind]), readFileSync(join(out, GALLERY_FILES[g.kind])));
  }
}
