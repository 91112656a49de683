/**
 * The Slurm executor: one job array per wave (`sbatch --array=I,J,…%P`, `$SLURM_ARRAY_TASK_ID` selects the task),
 * watched with `squeue` until it leaves the queue; each element's end state from `sacct`, or `scontrol` where
 * accounting is off. Tasks that ended unfinished (failed, cancelled, timed out, node lost) go into a new array, up
 * to `retries` times, and resume their runs. The manifest, run directories and logs must be on a filesystem every
 * node sees (the submitting folder: jobs start in it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '@advlab/core';
import { releaseEndedLock, writeFileAtomic } from '@advlab/node';
import { type ExecuteOptions, type Executor, type Failures, workerArgs } from './executor.ts';
import { type LoadedManifest, type Task, taskDir, taskState } from './manifest.ts';

export interface SlurmOptions {
  partition?: string;
  /** Per array element, as sbatch takes it (e.g. 2:00:00). */
  time?: string;
  cpusPerTask?: number;
  /** Per node, as sbatch takes it (e.g. 8G). */
  mem?: string;
  /** At most this many elements at once (the array's %P). */
  parallel?: number;
  /** Seconds between two looks at the queue. */
  poll?: number;
  /** Any other sbatch flags, passed as given (e.g. --account=…, --qos=…). */
  extra?: readonly string[];
}

/** POSIX single-quoting, so a path with spaces or quotes reaches the worker as one word. */
export const shellQuote = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The batch script every element runs: the worker for its array index, under an attempt name its locks record. */
export function batchScript(m: LoadedManifest, o: Pick<ExecuteOptions, 'command' | 'backend'>): string {
  const args = workerArgs(m, '$INDEX', o).map((a) => (a === '$INDEX' ? '"$SLURM_ARRAY_TASK_ID"' : shellQuote(a)));
  return [
    '#!/bin/bash',
    '# Written by advlab (--executor slurm): runs task $SLURM_ARRAY_TASK_ID of the manifest.',
    'set -euo pipefail',
    'export ADVLAB_JOB="slurm $SLURM_ARRAY_JOB_ID"_"$SLURM_ARRAY_TASK_ID"',
    `exec ${args.join(' ')}`,
    '',
  ].join('\n');
}

/** The sbatch command line for one array of `tasks` (without the script). */
export function sbatchArgs(m: LoadedManifest, tasks: readonly Task[], so: SlurmOptions, logs: string): string[] {
  const ids = tasks.map((t) => t.index).join(',');
  return [
    '--parsable',
    `--array=${ids}${so.parallel ? `%${so.parallel}` : ''}`,
    `--job-name=advlab-${m.manifest.suite.kind}`,
    `--output=${join(logs, '%A_%a.out')}`,
    `--chdir=${process.cwd()}`,
    ...(so.partition ? [`--partition=${so.partition}`] : []),
    ...(so.time ? [`--time=${so.time}`] : []),
    ...(so.cpusPerTask ? [`--cpus-per-task=${so.cpusPerTask}`] : []),
    ...(so.mem ? [`--mem=${so.mem}`] : []),
    ...(so.extra ?? []),
  ];
}

function slurm(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; status?: number };
    if (err.code === 'ENOENT') throw new ConfigError('executor', `Slurm's ${cmd} on PATH (--executor slurm)`, `no ${cmd}`);
    throw new ConfigError(
      'executor',
      `${cmd} to succeed`,
      `exit ${err.status}: ${String(err.stderr ?? err.message)
        .trim()
        .slice(0, 300)}`,
    );
  }
}

/** Array index → state of the elements of `job` still in the queue. */
export function parseSqueue(text: string): Map<number, string> {
  const states = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [id, state] = line.trim().split(/\s+/);
    if (id && state && /^\d+$/.test(id)) states.set(Number(id), state);
  }
  return states;
}

/** Array index → end state and exit code, from `scontrol show job -o` (one line per element). */
export function parseScontrol(text: string): Map<number, { state: string; exit: string }> {
  const out = new Map<number, { state: string; exit: string }>();
  for (const line of text.split('\n')) {
    const id = /\bArrayTaskId=(\d+)\b/.exec(line)?.[1];
    const state = /\bJobState=(\S+)/.exec(line)?.[1];
    const exit = /\bExitCode=(\S+)/.exec(line)?.[1];
    if (id && state) out.set(Number(id), { state, exit: exit ?? '?' });
  }
  return out;
}

/** Array index → end state and exit code, from `sacct -P -n -o JobID,State,ExitCode` (the steps' lines are skipped). */
export function parseSacct(text: string, job: string): Map<number, { state: string; exit: string }> {
  const out = new Map<number, { state: string; exit: string }>();
  for (const line of text.split('\n')) {
    const [id, state, exit] = line.trim().split('|');
    const m = id ? new RegExp(`^${job}_(\\d+)$`).exec(id) : null;
    if (m && state) out.set(Number(m[1]), { state: state.split(' ')[0]!, exit: exit ?? '?' });
  }
  return out;
}

/** How each element of `job` ended: sacct when accounting is on, else scontrol (which keeps ended jobs for MinJobAge). */
function endStates(job: string): Map<number, { state: string; exit: string }> {
  try {
    const viaSacct = parseSacct(slurm('sacct', ['-j', job, '-P', '-n', '-o', 'JobID,State,ExitCode']), job);
    if (viaSacct.size > 0) return viaSacct;
  } catch {
    // accounting storage disabled: "Slurm accounting storage is disabled"
  }
  try {
    return parseScontrol(slurm('scontrol', ['show', 'job', '-o', job]));
  } catch {
    return new Map();
  }
}

/** The elements of `job` still queued or running; none once Slurm has forgotten the job ("Invalid job id"). */
function queued(job: string): Map<number, string> {
  try {
    return parseSqueue(slurm('squeue', ['-h', '-r', '-j', job, '-o', '%K %T']));
  } catch (e) {
    if (e instanceof ConfigError && /Invalid job id/i.test(e.found)) return new Map();
    throw e;
  }
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

export function slurmExecutor(so: SlurmOptions, failures: Failures = new Map()): Executor {
  return {
    async run(m: LoadedManifest, tasks: readonly Task[], o: ExecuteOptions): Promise<void> {
      const logs = resolve(m.root, 'slurm');
      mkdirSync(logs, { recursive: true });
      const script = join(logs, 'task.sbatch');
      writeFileSync(script, batchScript(m, o), { mode: 0o755 });
      const total = m.manifest.tasks.length;
      // Arrays an earlier invocation submitted may still run (its coordinator was killed, not its jobs): wait for them,
      // rather than start a second writer of the same runs.
      const jobsFile = join(logs, 'jobs.json');
      const submitted: string[] = existsSync(jobsFile) ? JSON.parse(readFileSync(jobsFile, 'utf8')) : [];
      for (const earlier of submitted) {
        let said = false;
        while (queued(earlier).size > 0) {
          if (!said) o.log(`slurm: job array ${earlier}, submitted by an earlier invocation, is still queued or running: waiting for it`);
          said = true;
          await sleep(so.poll ?? 10);
        }
      }
      let pending = tasks.filter((t) => taskState(m, t) !== 'finished');
      for (let attempt = 1; pending.length > 0; attempt++) {
        const job = slurm('sbatch', [...sbatchArgs(m, pending, so, logs), script])
          .trim()
          .split(';')[0]!;
        submitted.push(job);
        writeFileAtomic(jobsFile, `${JSON.stringify(submitted)}\n`);
        o.log(
          `slurm: submitted job array ${job} (${pending.length} task${pending.length === 1 ? '' : 's'}${attempt > 1 ? `, attempt ${attempt}` : ''}); logs ${logs}/${job}_I.out`,
        );
        const seen = new Map<number, string>();
        for (;;) {
          const inQueue = queued(job);
          for (const t of pending) {
            const state = inQueue.get(t.index);
            if (state && seen.get(t.index) !== state) o.log(`[${t.index + 1}/${total}] ${t.name}: ${state} (${job}_${t.index})`);
            if (state) seen.set(t.index, state);
          }
          if (inQueue.size === 0) break;
          await sleep(so.poll ?? 10);
        }
        const ended = endStates(job);
        const again: Task[] = [];
        for (const t of pending) {
          const end = ended.get(t.index);
          const how = end ? `${end.state}, exit ${end.exit}` : 'left the queue';
          if (taskState(m, t) === 'finished') {
            o.log(`[${t.index + 1}/${total}] ${t.name}: ${end?.state ?? 'done'}`);
            continue;
          }
          failures.set(t.index, `${how} in ${job}_${t.index}; log ${logs}/${job}_${t.index}.out`);
          // A task that refused its work (exit 2: a typed error) would refuse again.
          const refused = end?.exit.startsWith('2:') === true;
          if (!refused && attempt <= o.retries) {
            // The attempt has left the queue: a lock it held on another node is known to be stale.
            releaseEndedLock(taskDir(m, t), `slurm ${job}_${t.index}`);
            o.log(`[${t.index + 1}/${total}] ${t.name}: ${how}; submitting it again (retry ${attempt} of ${o.retries}), it resumes`);
            again.push(t);
          } else {
            o.log(`[${t.index + 1}/${total}] ${t.name}: ${how}; see ${logs}/${job}_${t.index}.out`);
          }
        }
        pending = again;
      }
    },
  };
}
