/**
 * A suite as a manifest of indexed tasks (issue 16). Each task trains one run directory and evaluates it; its
 * result is that directory. Any executor — a local pool, a Slurm job array, a Kubernetes Indexed Job — runs task
 * I as `advlab task MANIFEST --index I`, so the manifest is the whole interface between a suite and where it runs.
 *
 * A task's state is read off its run directory, never off the executor: finished when every output exists and was
 * made with the task's settings (the same rule the suite always used to reuse work), partial when training has
 * started (resume continues it), new otherwise. So an executor can be killed and restarted, or swapped for another,
 * without losing or repeating work.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, DataFormatError } from '@advlab/core';
import { RunDirectory, writeFileAtomic } from '@advlab/node';
import { z } from 'zod';
import type { EvalRequest } from '../commands/eval.ts';
import { assertSameConfig } from '../commands/train.ts';

export const MANIFEST_FORMAT = 'advlab-manifest';
export const MANIFEST_VERSION = 1;
/** The manifest's file name inside a suite's folder (its root: every task directory is relative to it). */
export const MANIFEST_FILE = 'manifest.json';

/** A classifier's evaluation: `advlab eval` with these settings, written to eval.json with eval-args.json beside it. */
export interface ClassifierEvaluation {
  kind: 'classifier';
  settings: Omit<EvalRequest, 'model'>;
}

/** A generative model's evaluation (eval-generative.json); `judge` is a task directory whose model judges it. */
export interface GenerativeEvaluation {
  kind: 'generative';
  settings: { pairs: number; cs: number; sweepSteps: number; steps: number; eps: number; norm: 'linf'; seed: number };
  judge: string;
}

/** The adversarial examples a report shows: PGD at `eps` on 12 images (grid.png), or a generative output attack (generative.png). */
export interface Gallery {
  kind: 'classifier' | 'generative';
  eps: number;
}

export interface Task {
  index: number;
  /** The run's name (unique in the manifest): its directory's name and what progress and logs call it. */
  name: string;
  /** The run directory, relative to the manifest's folder. */
  dir: string;
  /** The training options (`advlab train`'s, resolved by the suite): config.json holds them once training starts. */
  train: Record<string, unknown>;
  evaluate?: ClassifierEvaluation | GenerativeEvaluation;
  gallery?: Gallery;
  /** Tasks whose results this one reads (a generative evaluation's judge): they finish first. */
  after: number[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** What the summary is: reproduce's (profile) or a sweep's (the grid's varying options). */
  suite: { kind: 'reproduce'; profile: Record<string, unknown> } | { kind: 'sweep'; varying: string[]; title: string };
  tasks: Task[];
}

const number = z.number().finite();
const taskSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._=,-]*$/, 'a name of letters, digits and . _ = , -'),
  dir: z
    .string()
    .min(1)
    .refine((d) => !d.startsWith('/') && !d.split(/[\\/]/).includes('..'), 'a folder inside the manifest’s folder'),
  train: z.record(z.string(), z.unknown()),
  evaluate: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('classifier'), settings: z.record(z.string(), z.unknown()) }),
      z.strictObject({
        kind: z.literal('generative'),
        settings: z.strictObject({
          pairs: number,
          cs: number,
          sweepSteps: number,
          steps: number,
          eps: number,
          norm: z.literal('linf'),
          seed: number,
        }),
        judge: z.string().min(1),
      }),
    ])
    .optional(),
  gallery: z.strictObject({ kind: z.enum(['classifier', 'generative']), eps: number }).optional(),
  after: z.array(z.number().int().nonnegative()),
});
const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  suite: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('reproduce'), profile: z.record(z.string(), z.unknown()) }),
    z.strictObject({ kind: z.literal('sweep'), varying: z.array(z.string()), title: z.string() }),
  ]),
  tasks: z.array(taskSchema).min(1),
});

/** A manifest with the file it came from; `root` is the folder task directories are relative to. */
export interface LoadedManifest {
  file: string;
  root: string;
  manifest: Manifest;
}

/** Checks what the schema cannot: indices 0…K−1 in order, unique names and folders, dependencies on earlier tasks only. */
function checkTasks(file: string, tasks: readonly Task[]): void {
  const names = new Set<string>();
  const dirs = new Set<string>();
  for (const [i, t] of tasks.entries()) {
    const at = `tasks[${i}]`;
    if (t.index !== i) throw new DataFormatError(file, `${at}.index ${i} (tasks in index order)`, String(t.index));
    if (names.has(t.name)) throw new DataFormatError(file, `${at}.name unique`, `"${t.name}" twice`);
    if (dirs.has(t.dir)) throw new DataFormatError(file, `${at}.dir unique`, `"${t.dir}" twice`);
    names.add(t.name);
    dirs.add(t.dir);
    for (const a of t.after) if (a >= i) throw new DataFormatError(file, `${at}.after: earlier tasks only`, String(a));
    const e = t.evaluate;
    if (e?.kind === 'generative' && !tasks.some((o) => o.dir === e.judge && t.after.includes(o.index)))
      throw new DataFormatError(file, `${at}.evaluate.judge: the folder of a task in its "after"`, e.judge);
  }
}

/** Writes the manifest atomically (checked first, so a bad one is never written). */
export function writeManifest(file: string, manifest: Manifest): LoadedManifest {
  checkTasks(file, manifest.tasks);
  writeFileAtomic(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return { file, root: dirname(file), manifest };
}

/** Reads and checks a manifest; every problem is a DataFormatError naming the file and the key. */
export function readManifest(file: string): LoadedManifest {
  if (!existsSync(file))
    throw new ConfigError('manifest', 'a manifest.json written by advlab reproduce or advlab sweep', `no file ${file}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataFormatError(file, 'JSON', (e as Error).message);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new DataFormatError(file, `${issue.path.join('.') || 'the manifest'}: ${issue.message}`, 'something else');
  }
  const manifest = r.data as Manifest;
  checkTasks(file, manifest.tasks);
  return { file, root: dirname(file), manifest };
}

/** A task's run directory as a path the current process can open. */
export const taskDir = (m: LoadedManifest, t: Task): string => join(m.root, t.dir);

/** The evaluation's output and the record of its settings, by kind. */
export const EVAL_FILES = {
  classifier: { report: 'eval.json', args: 'eval-args.json' },
  generative: { report: 'eval-generative.json', args: 'eval-generative-args.json' },
} as const;
export const GALLERY_FILES = { classifier: 'grid.png', generative: 'generative.png' } as const;

/** The model folder of a generative evaluation's judge (a task directory's model/). */
export const judgeModel = (m: LoadedManifest, e: GenerativeEvaluation): string => join(m.root, e.judge, 'model');

/** The settings an evaluation records in its args file: what decides whether an existing evaluation is reused. */
export function recordedSettings(m: LoadedManifest, e: NonNullable<Task['evaluate']>): string {
  const settings = e.kind === 'classifier' ? e.settings : { ...e.settings, classifier: judgeModel(m, e) };
  return `${JSON.stringify(settings)}\n`;
}

export type TaskState = 'finished' | 'partial' | 'new';

/**
 * Where a task stands, read off its directory. A finished run whose config differs from the task's is refused
 * (ConfigError naming the folder), as reproduce always did: the manifest never silently reuses another recipe.
 */
export function taskState(m: LoadedManifest, t: Task): TaskState {
  const dir = taskDir(m, t);
  if (!existsSync(join(dir, 'config.json'))) return 'new';
  if (!existsSync(join(dir, 'summary.json'))) return 'partial';
  assertSameConfig(new RunDirectory(dir), t.train, `task ${t.name} (${dir})`);
  if (t.evaluate) {
    const f = EVAL_FILES[t.evaluate.kind];
    const args = join(dir, f.args);
    if (!existsSync(join(dir, f.report)) || !existsSync(args) || readFileSync(args, 'utf8') !== recordedSettings(m, t.evaluate))
      return 'partial';
  }
  if (t.gallery && !existsSync(join(dir, GALLERY_FILES[t.gallery.kind]))) return 'partial';
  return 'finished';
}

/** The tasks in waves: a task's wave is one past the latest of its `after`, so each wave only reads earlier ones. */
export function waves(tasks: readonly Task[]): Task[][] {
  const depth: number[] = [];
  for (const t of tasks) depth[t.index] = t.after.length ? Math.max(...t.after.map((a) => depth[a]!)) + 1 : 0;
  const out: Task[][] = [];
  for (const t of tasks) {
    const d = depth[t.index]!;
    out[d] = [...(out[d] ?? []), t];
  }
  return out;
}

/** The task of an index given on the command line or by a scheduler's environment variable. */
export function taskAt(m: LoadedManifest, index: number, source: string): Task {
  const t = m.manifest.tasks[index];
  if (!Number.isInteger(index) || !t)
    throw new ConfigError(source, `a task index 0…${m.manifest.tasks.length - 1} of ${m.file}`, String(index));
  return t;
}
