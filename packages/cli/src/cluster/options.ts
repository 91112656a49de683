/**
 * The executor flags `advlab reproduce` and `advlab sweep` share, and the one function both call: write the
 * manifest, run its unfinished tasks where the flags say, and tell the caller whether every task is finished (so it
 * can write the summary) or the tasks were handed to a scheduler that does not report back (Kubernetes).
 */
import { ConfigError, option } from '@advlab/core';
import { execute, thisCommand, type Executor, type Failures } from './executor.ts';
import { writeK8sJobs } from './k8s.ts';
import { localExecutor } from './local.ts';
import { type LoadedManifest, taskState } from './manifest.ts';
import { slurmExecutor } from './slurm.ts';

export const EXECUTORS = ['local', 'slurm', 'k8s'] as const;

export const EXECUTOR_OPTIONS = {
  executor: option.oneOf(EXECUTORS, {
    default: 'local',
    help: 'where the tasks run: local worker processes, a Slurm job array, or a Kubernetes Indexed Job (written for kubectl apply)',
  }),
  parallel: option.integer({
    min: 1,
    default: 1,
    placeholder: 'N',
    help: 'tasks at once: local workers, the job array’s %N, the Job’s parallelism (1 suits 2 cores)',
  }),
  retries: option.integer({
    min: 0,
    default: 2,
    placeholder: 'N',
    help: 'start a task that ended unfinished again up to N times; it resumes its run (a task that refused its work, exit 2, is not retried)',
  }),
  partition: option.string({ optional: true, placeholder: 'NAME', help: 'slurm: the partition (sbatch --partition)' }),
  time: option.string({ optional: true, placeholder: 'LIMIT', help: 'slurm: the time limit of each task (sbatch --time, e.g. 2:00:00)' }),
  cpusPerTask: option.integer({
    min: 1,
    optional: true,
    placeholder: 'N',
    help: 'slurm: CPUs per task (sbatch --cpus-per-task); k8s: the CPUs each pod requests',
  }),
  mem: option.string({
    optional: true,
    placeholder: 'SIZE',
    help: 'slurm: memory per task (sbatch --mem, e.g. 8G); k8s: each pod’s (8G → 8Gi)',
  }),
  poll: option.number({ above: 0, default: 10, placeholder: 'S', help: 'slurm: seconds between two looks at the queue (squeue)' }),
  image: option.string({
    optional: true,
    placeholder: 'IMAGE',
    help: 'k8s: the worker image, built from the Containerfile written beside the Jobs',
  }),
  claim: option.string({
    default: 'advlab-work',
    placeholder: 'PVC',
    help: 'k8s: the PersistentVolumeClaim that holds the folder the command runs in, mounted at /work in each pod',
  }),
  namespace: option.string({ optional: true, placeholder: 'NS', help: 'k8s: the namespace of the Jobs' }),
};

export interface ExecutorFlags {
  executor: (typeof EXECUTORS)[number];
  parallel: number;
  retries: number;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  poll: number;
  image?: string;
  claim: string;
  namespace?: string;
}

/** Flags that mean something only to one executor, refused with another (a typo would otherwise be silently ignored). */
const ONLY: Record<string, (typeof EXECUTORS)[number][]> = {
  partition: ['slurm'],
  time: ['slurm'],
  poll: ['slurm'],
  cpusPerTask: ['slurm', 'k8s'],
  mem: ['slurm', 'k8s'],
  image: ['k8s'],
  claim: ['k8s'],
  namespace: ['k8s'],
};

export function checkExecutorFlags(f: ExecutorFlags, given: readonly string[]): void {
  for (const [key, executors] of Object.entries(ONLY)) {
    if (given.includes(key) && !executors.includes(f.executor))
      throw new ConfigError(key, `it only with --executor ${executors.join(' or ')}`, `--executor ${f.executor}`);
  }
  if (f.executor === 'k8s' && f.image === undefined) throw new ConfigError('image', 'the worker image with --executor k8s', 'none');
}

export type SuiteOutcome = { finished: true } | { finished: false; message: string };

export interface RunSuiteOptions {
  flags: ExecutorFlags;
  backend?: string;
  log: (message: string) => void;
}

/** Runs `m`'s unfinished tasks on the executor the flags choose; throws TaskFailedError when some end unfinished. */
export async function runTasks(m: LoadedManifest, o: RunSuiteOptions): Promise<SuiteOutcome> {
  const f = o.flags;
  if (f.executor === 'k8s') {
    const tasks = m.manifest.tasks;
    const left = tasks.filter((t) => {
      const finished = taskState(m, t) === 'finished';
      if (finished) o.log(`[${t.index + 1}/${tasks.length}] ${t.name}: finished (reused)`);
      return !finished;
    });
    if (left.length === 0) return { finished: true };
    const { files, recipe, names } = writeK8sJobs(m, {
      image: f.image!,
      claim: f.claim,
      namespace: f.namespace,
      parallel: f.parallel,
      retries: f.retries,
      cpus: f.cpusPerTask,
      mem: f.mem,
      backend: o.backend,
    });
    const ns = f.namespace ? ` -n ${f.namespace}` : '';
    const steps = files.map(
      (file, i) => `  kubectl apply${ns} -f ${file} && kubectl wait${ns} --for=condition=complete --timeout=-1s job/${names[i]}`,
    );
    return {
      finished: false,
      message: `${left.length} of ${tasks.length} tasks to run. Wrote ${files.length} Indexed Job${files.length === 1 ? '' : 's'} (apply in order, each after the one before completes) and the image recipe ${recipe}:\n${steps.join('\n')}\nthen run this command again: it finds the tasks finished and writes the summary.`,
    };
  }
  const failures: Failures = new Map();
  const executor: Executor =
    f.executor === 'slurm'
      ? slurmExecutor(
          { partition: f.partition, time: f.time, cpusPerTask: f.cpusPerTask, mem: f.mem, parallel: f.parallel, poll: f.poll },
          failures,
        )
      : localExecutor({ parallel: f.parallel }, failures);
  await execute(m, executor, { log: o.log, backend: o.backend, command: thisCommand(), retries: f.retries }, failures);
  return { finished: true };
}
