/**
 * The local executor: a pool of `parallel` worker processes on this machine, each running one task
 * (`advlab task MANIFEST --index I`). A worker's output goes to the task's log beside the manifest; with one worker
 * it is also shown as it comes, as a suite run in one process always showed it. A worker that dies (killed, out of
 * memory) is started again up to `retries` times and resumes its run; one that refused its task (exit 2, a typed
 * error) is not, since it would refuse again.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatSeconds } from '../progress.ts';
import { type ExecuteOptions, type Executor, type Failures, workerArgs } from './executor.ts';
import type { LoadedManifest, Task } from './manifest.ts';
import { timingFile } from './task.ts';

/** A task's log: its workers' output, every attempt appended. */
export const taskLog = (m: LoadedManifest, t: Task) => timingFile(m, t).replace(/\.json$/, '.log');

export interface LocalOptions {
  parallel: number;
  /** Called with each worker's pid when it starts (tests kill workers through it). */
  onWorker?: (t: Task, pid: number) => void;
}

export function localExecutor(lo: LocalOptions, failures: Failures = new Map()): Executor {
  return {
    name: 'local',
    async run(m: LoadedManifest, tasks: readonly Task[], o: ExecuteOptions): Promise<void> {
      const queue = [...tasks];
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
    child.on('spawn', () => {
      started(child.pid!);
      lo.onWorker?.(t, child.pid!);
    });
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
