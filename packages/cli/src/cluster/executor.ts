/**
 * Executors run a manifest's unfinished tasks somewhere — worker processes here, a Slurm job array, a Kubernetes
 * Indexed Job — and all share this loop: wave by wave (a task runs after the tasks it reads), only the tasks whose
 * run directories are not finished, and the verdict read off the directories afterwards, never off exit codes.
 */
import { AdvlabError } from '@advlab/core';
import { type LoadedManifest, type Task, taskState, waves } from './manifest.ts';

export interface ExecuteOptions {
  /** Progress for a person: a line per task event. */
  log: (message: string) => void;
  /** The tf.js backend workers select (`--backend`). */
  backend?: string;
  /** The command that runs advlab in a worker: node, its flags and the CLI's entry point. */
  command: readonly string[];
  /** How many times a task that ended unfinished is started again (0: never). */
  retries: number;
}

export interface Executor {
  /** Runs `tasks` (one wave, none finished) until each has ended; what ended unfinished is `execute`'s to judge. */
  run(m: LoadedManifest, tasks: readonly Task[], o: ExecuteOptions): Promise<void>;
}

/** Some tasks of a suite ended unfinished after their retries; each names its log. */
export class TaskFailedError extends AdvlabError {
  constructor(
    readonly manifest: string,
    readonly failed: readonly { task: string; detail: string }[],
  ) {
    super('E_TASK', `${manifest}: ${failed.length} task(s) did not finish: ${failed.map((f) => `${f.task} (${f.detail})`).join('; ')}`);
  }
}

/** Why a task ended unfinished, as the executor saw it (exit code, signal, scheduler state); kept for the error. */
export type Failures = Map<number, string>;

/**
 * Runs every unfinished task of `m` on `executor`; returns when all are finished, or throws TaskFailedError naming
 * the ones that are not (and the ones skipped because a task they read did not finish).
 */
export async function execute(m: LoadedManifest, executor: Executor, o: ExecuteOptions, failures: Failures = new Map()): Promise<void> {
  const tasks = m.manifest.tasks;
  const unfinished = new Set<number>();
  for (const wave of waves(tasks)) {
    const todo: Task[] = [];
    for (const t of wave) {
      const blockedBy = t.after.find((a) => unfinished.has(a));
      if (blockedBy !== undefined) {
        unfinished.add(t.index);
        failures.set(t.index, `not started: ${tasks[blockedBy]!.name} did not finish`);
        continue;
      }
      if (taskState(m, t) === 'finished') o.log(`[${t.index + 1}/${tasks.length}] ${t.name}: finished (reused)`);
      else todo.push(t);
    }
    if (todo.length > 0) await executor.run(m, todo, o);
    for (const t of todo) if (taskState(m, t) !== 'finished') unfinished.add(t.index);
  }
  if (unfinished.size > 0) {
    throw new TaskFailedError(
      m.file,
      [...unfinished].map((i) => ({ task: tasks[i]!.name, detail: failures.get(i) ?? 'ended unfinished' })),
    );
  }
}

/** The worker's command line for task `t`. */
export function workerArgs(m: LoadedManifest, t: Task | '$INDEX', o: Pick<ExecuteOptions, 'command' | 'backend'>): string[] {
  return [
    ...o.command,
    'task',
    m.file,
    '--index',
    t === '$INDEX' ? t : String(t.index),
    ...(o.backend !== undefined ? ['--backend', o.backend] : []),
  ];
}

/** The command that runs this advlab: the same node, flags (e.g. a TypeScript loader) and entry point as this process. */
export function thisCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!];
}
