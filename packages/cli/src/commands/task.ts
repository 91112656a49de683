import { ConfigError, option } from '@advlab/core';
import { releaseEndedLock } from '@advlab/node';
import { readManifest, taskAt, taskDir, waves } from '../cluster/manifest.ts';
import { runTask } from '../cluster/task.ts';
import { helpText, parseFlags } from '../flags.ts';
import { backendOption } from '../options.ts';

const USAGE = 'advlab task MANIFEST [--index I] [--wave W] [--backend ...]';

const ABOUT = `Runs one task of a suite's manifest (written by advlab reproduce or advlab sweep): trains its run directory,
or resumes it, or reuses it when finished; then evaluates it and makes its gallery, each step skipped when its output
exists with the task's settings. This is what every executor runs: a local worker, each element of a Slurm job array
(the index from $SLURM_ARRAY_TASK_ID), each pod of a Kubernetes Indexed Job ($JOB_COMPLETION_INDEX). Run it by
hand to redo one task. Paths in the manifest are relative to its folder; run it from the folder the suite was
started in.`;

export const TASK_OPTIONS = {
  index: option.integer({
    min: 0,
    optional: true,
    placeholder: 'I',
    help: 'the task (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX)',
  }),
  wave: option.integer({
    min: 0,
    optional: true,
    placeholder: 'W',
    help: "count the index within wave W (a Kubernetes Job runs one wave: tasks that read other tasks' results come in a later wave)",
  }),
  backend: backendOption,
};

export const taskHelp = helpText(USAGE, ABOUT, TASK_OPTIONS);

/** The task index: the flag, else the scheduler's variable; a bad variable is a ConfigError naming it. */
function indexOf(flag: number | undefined): { index: number; source: string } {
  if (flag !== undefined) return { index: flag, source: '--index' };
  for (const name of ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX']) {
    const raw = process.env[name];
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw)) throw new ConfigError(`$${name}`, 'a task index (a whole number)', JSON.stringify(raw));
    return { index: Number(raw), source: `$${name}` };
  }
  throw new ConfigError('--index', 'a task index (or $SLURM_ARRAY_TASK_ID / $JOB_COMPLETION_INDEX set by the scheduler)', 'none');
}

export async function task(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseFlags(argv, TASK_OPTIONS, { positionals: true });
  if (positionals.length !== 1) throw new ConfigError('MANIFEST', 'one manifest.json', positionals.length ? positionals.join(' ') : 'none');
  const m = readManifest(positionals[0]!);
  const { index, source } = indexOf(v.index);
  let t = taskAt(m, index, source);
  if (v.wave !== undefined) {
    const all = waves(m.manifest.tasks);
    const wave = all[v.wave];
    if (!wave) throw new ConfigError('--wave', `a wave 0…${all.length - 1} of ${m.file}`, String(v.wave));
    const inWave = wave[index];
    if (!inWave) throw new ConfigError(source, `an index 0…${wave.length - 1} within wave ${v.wave}`, String(index));
    t = inWave;
  }
  const k8sJob = process.env.ADVLAB_K8S_JOB;
  if (k8sJob && source === '$JOB_COMPLETION_INDEX') {
    // The Indexed Job starts a pod for an index only after the last one of that index has ended
    // (podReplacementPolicy: Failed), so a lock left by an earlier pod of this index is stale though its host differs.
    process.env.ADVLAB_JOB = `k8s ${k8sJob}/${index}`;
    if (releaseEndedLock(taskDir(m, t), process.env.ADVLAB_JOB))
      process.stderr.write(`task ${index}: cleared the lock of an earlier pod\n`);
  }
  await runTask(m, t, { backend: v.backend, log: (message) => process.stderr.write(`task ${t.index}: ${message}\n`) });
}
