/**
 * The local executor: a pool of `parallel` worker processes on this machine, each running one task
 * (`advlab task MANIFEST --index I`). A worker's output goes to the task's log beside the manifest; with one worker
 * it is also shown as it comes, as a suite run in one process always showed it. A worker that dies (killed, out of
 * memory) is started again up to `retries` times and resumes its run; one that refused its task (exit 2, a typed
 * error) is not, since it would refuse again. Killing the executor leaves its workers running (nothing can stop a
 * process from outliving a kill -9 of its parent); a rerun waits for them and then resumes what they left.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { formatSeconds } from '../progress.ts';
import { type ExecuteOptions, type Executor, type Failures, workerArgs } from './executor.ts';
import { type LoadedManifest, type Task, taskState } from './manifest.ts';
import { readTiming, timingFile } from './task.ts';

/**
 * The worker an earlier invocation started for `t` that still runs on this machine (its executor was killed, not its
 * workers), or undefined. Known by the task's last attempt: its pid, alive, still running `advlab task` on this manifest.
 */
export function orphanedWorker(m: LoadedManifest, t: Task): number | undefined {
  const last = readTiming(m, t).attempts.at(-1);
  if (!last || last.host !== hostname() || last.pid === process.pid) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${last.pid}/cmdline`, 'utf8').split('\0');
    return cmdline.includes('task') && cmdline.includes(m.file) ? last.pid : undefined;
  } catch {
    return undefined; // no such process (or no /proc: nothing to wait for that can be known)
  }
}

/** A task's log: its workers' output, every attempt appended. */
export const taskLog = (m: LoadedManifest, t: Task) => timingFile(m, t).replace(/\.json$/, '.log');

export interface LocalOptions {
  parallel: number;
}

export function localExecutor(lo: LocalOptions, failures: Failures = new Map()): Executor {
  return {
    async run(m: LoadedManifest, tasks: readonly Task[], o: ExecuteOptions): Promise<void> {
      // Workers of an earlier invocation whose executor was killed still write their runs: wait for them rather than
      // start second writers (which the run lock would refuse), then run what they left unfinished.
      for (const t of tasks) {
        const pid = orphanedWorker(m, t);
        if (pid === undefined) continue;
        o.log(
          `[${t.index + 1}/${m.manifest.tasks.length}] ${t.name}: waiting for worker pid ${pid}, left running by an earlier invocation`,
        );
        while (orphanedWorker(m, t) === pid) await new Promise((r) => setTimeout(r, 500));
      }
      const queue = tasks.filter((t) => taskState(m, t) !== 'finished');
      const total = m.manifest.tasks.length;
      const attempts = new Map<number, number>();
      const worker = async (): Promise<void> => {
        for (let t = queue.shift(); t; t = queue.shift()) {
          const tag = `[${t.index + 1}/${total}] ${t.name}`;
          const attempt = (attempts.get(t.index) ?? 0) + 1;
          attempts.set(t.index, attempt);
          const t0 = performance.now();
          const ended = await runWorker(m, t, o, lo, (pid) =>
            o.log(`${tag}: started (worker pid ${pid}${attempt > 1 ? `, attempt ${attempt}` : ''})`),
          );
          const seconds = formatSeconds((performance.now() - t0) / 1000);
          if (ended.code === 0) {
            o.log(`${tag}: worker done in ${seconds}`);
            continue;
          }
          const how = ended.signal ? `killed by ${ended.signal}` : `exit ${ended.code}`;
          failures.set(t.index, `${how}; log ${taskLog(m, t)}`);
          if (ended.code !== 2 && attempt <= o.retries) {
            o.log(`${tag}: worker ${how} after ${seconds}; starting it again (retry ${attempt} of ${o.retries}), it resumes`);
            queue.unshift(t);
          } else {
            o.log(`${tag}: worker ${how} after ${seconds}; see ${taskLog(m, t)}`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(lo.parallel, tasks.length)) }, worker));
    },
  };
}

function runWorker(
  m: LoadedManifest,
  t: Task,
  o: ExecuteOptions,
  lo: LocalOptions,
  started: (pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const [cmd, ...args] = workerArgs(m, t, o);
  const logFile = taskLog(m, t);
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const show = lo.parallel === 1;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('spawn', () => started(child.pid!));
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ] as const) {
      from.on('data', (chunk: Buffer) => {
        log.write(chunk);
        if (show) to.write(chunk);
      });
    }
    child.on('error', (e) => {
      log.end();
      reject(e);
    });
    child.on('close', (code, signal) => log.end(() => resolve({ code, signal })));
  });
}
