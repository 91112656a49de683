/**
 * One writer per run directory. A writer (train, train --resume, reproduce) takes `lock.json` — pid, host,
 * start time — before it reads or writes anything; a second writer is refused with E_RUN_LOCKED while the
 * first lives. A lock left by a process that died (kill -9, power loss) is stale: on the same host, a pid
 * that no longer runs, or that now belongs to a process started at another time (a reused pid), is taken
 * over. A lock from another host cannot be checked from here, so it is refused with the way to clear it.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RunCorruptError, RunLockedError } from '@advlab/core';

/** What lock.json holds. */
export interface LockHolder {
  pid: number;
  host: string;
  /** When the holder took the lock (ISO 8601). */
  started: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22), to tell a reused pid; null off Linux. */
  procStart: number | null;
  /** What the holder is doing, for the message a second writer sees. */
  command: string;
  /**
   * The scheduler attempt the holder ran in (ADVLAB_JOB, set by `advlab task`, e.g. "slurm 41_3"): an executor that
   * knows the attempt has ended may clear its lock from another host (releaseEndedLock), which no pid check can.
   */
  job?: string;
}

/** A held lock; release() removes lock.json if it is still this process's. */
export interface RunLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** When the lock replaced a stale one: who held it. */
  readonly tookOverFrom?: LockHolder;
  /** Removes lock.json if it is still this process's (a lock replaced by hand is left alone); idempotent. */
  release(): void;
}

/** The start time of process `pid` in clock ticks since boot, or null when it cannot be read. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command name) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** Whether `holder` still runs: 'alive', 'dead', or 'unknown' (another host). */
export function holderStatus(holder: LockHolder): 'alive' | 'dead' | 'unknown' {
  if (holder.host !== hostname()) return 'unknown';
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return 'dead';
  }
  if (holder.procStart !== null) {
    const now = processStartTicks(holder.pid);
    if (now !== null && now !== holder.procStart) return 'dead'; // the pid was reused by a later process
  }
  return 'alive';
}

/**
 * The holder a lock file names: undefined when there is no file, RunCorruptError when it is not a lock advlab
 * wrote ({"pid", "host", "started"}).
 */
export function readLockHolder(file: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const h = v as Partial<LockHolder> | undefined;
  if (
    !h ||
    typeof h.pid !== 'number' ||
    !Number.isInteger(h.pid) ||
    h.pid <= 0 ||
    typeof h.host !== 'string' ||
    typeof h.started !== 'string'
  ) {
    throw new RunCorruptError(
      file,
      'a lock {"pid", "host", "started"} written by advlab',
      `${JSON.stringify(text.slice(0, 80))} (delete the file if no advlab process is using this run)`,
    );
  }
  return { procStart: null, command: '?', ...h } as LockHolder;
}

const sameHolder = (a: LockHolder, b: LockHolder) => a.pid === b.pid && a.host === b.host && a.started === b.started;

function describe(h: LockHolder): string {
  return `${h.command} (pid ${h.pid} on ${h.host}, since ${h.started})`;
}

/**
 * Takes `dir`/lock.json for `command`, or throws RunLockedError naming the live holder. The lock file is
 * written whole to a temp file and hard-linked into place, so it never exists half-written and only one
 * of two racing writers can create it.
 */
export function acquireRunLock(dir: string, command: string): RunLock {
  const file = join(dir, 'lock.json');
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    procStart: processStartTicks(process.pid),
    command,
    ...(process.env.ADVLAB_JOB ? { job: process.env.ADVLAB_JOB } : {}),
  };
  const tmp = `${file}.${process.pid}.tmp`;
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
    try {
      linkSync(tmp, file);
      unlinkSync(tmp);
      return lockOf(file, holder, tookOverFrom);
    } catch (e) {
      unlinkSync(tmp);
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const other = readLockHolder(file);
    if (!other) continue; // released between our link and our read
    const status = holderStatus(other);
    if (status === 'alive' || other.pid === process.pid) {
      throw new RunLockedError(file, `the run is being written by ${describe(other)}; wait for it to finish`);
    }
    if (status === 'unknown') {
      throw new RunLockedError(
        file,
        `the run is held by ${describe(other)}, which cannot be checked from ${hostname()}; if that process has ended, delete ${file}`,
      );
    }
    // Stale: move it aside (atomic; of two racing takers one wins) and check that what moved is what was judged.
    const aside = `${file}.stale.${process.pid}`;
    try {
      renameSync(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = readLockHolder(aside);
    if (moved && !sameHolder(moved, other)) {
      // Another taker replaced the stale lock first and we moved its live one: put it back.
      try {
        linkSync(aside, file);
      } finally {
        unlinkSync(aside);
      }
      throw new RunLockedError(file, `the run is being written by ${describe(moved)}; wait for it to finish`);
    }
    unlinkSync(aside);
    tookOverFrom = other;
  }
  throw new RunLockedError(file, 'could not take the lock after 5 attempts (other writers keep taking it)');
}

/**
 * Removes `dir`/lock.json when its holder ran in scheduler attempt `job`, which the caller knows has ended (it left
 * the queue): the lock of a task killed on another node, which acquireRunLock must otherwise refuse. Returns whether
 * a lock was removed; a lock of any other holder is left alone.
 */
export function releaseEndedLock(dir: string, job: string): boolean {
  const file = join(dir, 'lock.json');
  const holder = readLockHolder(file);
  if (!holder || holder.job !== job) return false;
  unlinkSync(file);
  return true;
}

function lockOf(file: string, holder: LockHolder, tookOverFrom: LockHolder | undefined): RunLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    try {
      const now = readLockHolder(file);
      if (now && sameHolder(now, holder)) unlinkSync(file);
    } catch {
      // a damaged lock.json is not ours to remove
    }
  };
  // An uncaught error ends the process without reaching the caller's finally: release on exit too.
  process.on('exit', release);
  return { file, holder, tookOverFrom, release };
}
