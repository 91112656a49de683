import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireRunLock, holderStatus, processStartTicks, type LockHolder } from './lock.ts';

const tmp = mkdtempSync(join(tmpdir(), 'advlab-lock-'));
let n = 0;
const fresh = () => {
  const d = join(tmp, `d${n++}`);
  spawnSync('mkdir', ['-p', d]);
  return d;
};
const holder = (over: Partial<LockHolder>): LockHolder => ({
  pid: 1,
  host: hostname(),
  started: '2026-01-01T00:00:00.000Z',
  procStart: null,
  command: 'advlab train --out x',
  ...over,
});
const plant = (dir: string, h: LockHolder) => writeFileSync(join(dir, 'lock.json'), JSON.stringify(h));

test('a held lock refuses a second writer, naming the holder; release lets the next one in', () => {
  const dir = fresh();
  const lock = acquireRunLock(dir, 'advlab train --out a');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'lock.json'), 'utf8')), lock.holder);
  assert.equal(lock.holder.pid, process.pid);
  assert.throws(
    () => acquireRunLock(dir, 'advlab train --resume a'),
    (e: any) => e.code === 'E_RUN_LOCKED' && e.message.includes(`advlab train --out a (pid ${process.pid} on ${hostname()}`),
  );
  lock.release();
  assert.ok(!existsSync(join(dir, 'lock.json')));
  acquireRunLock(dir, 'again').release();
});

test('a lock of a process that has ended is stale and taken over', () => {
  const dir = fresh();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  plant(dir, holder({ pid: dead }));
  assert.equal(holderStatus(holder({ pid: dead })), 'dead');
  const lock = acquireRunLock(dir, 'resume');
  assert.equal(lock.tookOverFrom?.pid, dead);
  lock.release();
});

test('a live pid is alive only if it started when the lock says: a reused pid is stale', async () => {
  const child = spawn('sleep', ['30']);
  await new Promise((r) => child.once('spawn', r));
  try {
    const pid = child.pid!;
    const ticks = processStartTicks(pid);
    assert.ok(ticks !== null && ticks > 0, '/proc gives a start time on Linux');
    assert.equal(holderStatus(holder({ pid, procStart: ticks })), 'alive');
    assert.equal(holderStatus(holder({ pid, procStart: ticks + 12345 })), 'dead');
    const dir = fresh();
    plant(dir, holder({ pid, procStart: ticks }));
    assert.throws(
      () => acquireRunLock(dir, 'second'),
      (e: any) => e.code === 'E_RUN_LOCKED' && /wait for it to finish/.test(e.message),
    );
    assert.equal(JSON.parse(readFileSync(join(dir, 'lock.json'), 'utf8')).pid, pid, "the live holder's lock is untouched");
    plant(dir, holder({ pid, procStart: ticks + 12345 }));
    acquireRunLock(dir, 'after reuse').release();
  } finally {
    child.kill('SIGKILL');
  }
});

test('a lock from another host cannot be checked: refused with how to clear it', () => {
  const dir = fresh();
  plant(dir, holder({ host: 'elsewhere.example', pid: 4242 }));
  assert.equal(holderStatus(holder({ host: 'elsewhere.example' })), 'unknown');
  assert.throws(
    () => acquireRunLock(dir, 'x'),
    (e: any) =>
      e.code === 'E_RUN_LOCKED' && e.message.includes('cannot be checked') && e.message.includes(`delete ${join(dir, 'lock.json')}`),
  );
});

test('a damaged lock.json is E_RUN_CORRUPT naming it, and is left in place', () => {
  const dir = fresh();
  writeFileSync(join(dir, 'lock.json'), '{"pid": "x"');
  assert.throws(
    () => acquireRunLock(dir, 'x'),
    (e: any) => e.code === 'E_RUN_CORRUPT' && e.message.startsWith(join(dir, 'lock.json')),
  );
  assert.equal(readFileSync(join(dir, 'lock.json'), 'utf8'), '{"pid": "x"');
});

test('release removes only its own lock', () => {
  const dir = fresh();
  const lock = acquireRunLock(dir, 'a');
  plant(dir, holder({ pid: 99999999 })); // someone replaced it (e.g. by hand): not ours to delete
  lock.release();
  assert.ok(existsSync(join(dir, 'lock.json')));
});
