// Fault injection, part 2: processes killed with SIGKILL — at random moments of a small training and at
// every step of a checkpoint or metrics write (ADVLAB_CRASH_AT) — then resumed (or started again, if the
// kill came before the run existed): the final metrics and weights are those of an uninterrupted run.
// And two writers on one run directory: the second is refused, the first finishes unharmed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Rng } from '@advlab/core';
import { withoutTimings } from '../e2e/figures.ts';
import { classify, count, faultSeed, newTally, saveTally } from './harness.ts';

const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');
const work = mkdtempSync(join(tmpdir(), 'advlab-faults-kill-'));
const seed = faultSeed();
const rng = new Rng(seed);
const random = () => rng.next();

const ARGS = ['--model', 'mlp', '--data', 'synthetic:tiny', '--method', 'fgsm-rs', '--eps', '0.1', '--epochs', '3'];
const SPEED = ['--limit', '128', '--batch-size', '32', '--held-out', '32', '--eval-every', '2', '--backend', 'cpu'];

// Timings differ between otherwise identical runs: compared as "same numbers" compares them.
const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.stringify(withoutTimings(JSON.parse(l))));
const weights = (dir: string, sub: string) => readFileSync(join(dir, sub, 'weights.bin'));

function advlab(argv: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

/** Runs the training to its end after a kill: resume if the run exists, else start it again (the kill came first). */
function finish(dir: string) {
  return existsSync(join(dir, 'config.json'))
    ? advlab(['train', '--resume', dir, '--backend', 'cpu'])
    : advlab(['train', ...ARGS, ...SPEED, '--out', dir]);
}

let reference = '';
let referenceSeconds = 0;

test('reference: an uninterrupted run', () => {
  reference = join(work, 'reference');
  const t0 = performance.now();
  const r = advlab(['train', ...ARGS, ...SPEED, '--out', reference]);
  referenceSeconds = (performance.now() - t0) / 1000;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(metrics(reference).length >= 6);
});

function assertSameAsReference(dir: string, label: string) {
  assert.deepEqual(metrics(dir), metrics(reference), `${label}: metrics`);
  assert.ok(weights(dir, 'model').equals(weights(reference, 'model')), `${label}: final weights`);
  assert.ok(weights(dir, 'best').equals(weights(reference, 'best')), `${label}: best weights`);
}

test('killed at every step of a checkpoint and of a metrics write, then resumed: the same final metrics and weights', () => {
  const tally = newTally('kill -9 at each write step, then resume');
  const points = [
    'checkpoint:model@1',
    'checkpoint:optimizer@2',
    'checkpoint:state@1',
    'checkpoint:pointer@2',
    'metrics:half-line@3',
    'metrics:half-line@1',
  ];
  for (const point of points) {
    const dir = join(work, `at-${point.replace(/[:@]/g, '-')}`);
    const killed = advlab(['train', ...ARGS, ...SPEED, '--out', dir], { ADVLAB_CRASH_AT: point });
    assert.equal(killed.signal, 'SIGKILL', `${point}: the process died there (${killed.stderr.slice(-300)})`);
    const r = finish(dir);
    count(tally, classify(r.status, r.stderr));
    assert.equal(r.status, 0, `${point}: ${r.stderr.slice(-500)}`);
    assertSameAsReference(dir, point);
  }
  // A resume killed while it sets superseded lines aside, resumed again.
  const dir = join(work, 'at-resume-superseded');
  assert.equal(advlab(['train', ...ARGS, ...SPEED, '--out', dir], { ADVLAB_CRASH_AT: 'metrics:half-line@3' }).signal, 'SIGKILL');
  assert.equal(advlab(['train', '--resume', dir, '--backend', 'cpu'], { ADVLAB_CRASH_AT: 'resume:superseded' }).signal, 'SIGKILL');
  const r = finish(dir);
  count(tally, classify(r.status, r.stderr));
  assert.equal(r.status, 0, r.stderr.slice(-500));
  assertSameAsReference(dir, 'resume killed while superseding');
  saveTally(tally);
});

test('killed at 20 random moments (sometimes twice), then resumed: the same final metrics and weights', async () => {
  const tally = newTally('kill -9 at 20 random moments, then resume');
  const moments: string[] = [];
  for (let trial = 0; trial < 20; trial++) {
    const dir = join(work, `random-${trial}`);
    const kills = random() < 0.3 ? 2 : 1;
    for (let k = 0; k < kills; k++) {
      const argv = existsSync(join(dir, 'config.json'))
        ? ['train', '--resume', dir, '--backend', 'cpu']
        : ['train', ...ARGS, ...SPEED, '--out', dir];
      const at = (0.05 + 0.9 * random()) * referenceSeconds;
      const child = spawn(process.execPath, [bin, ...argv], { stdio: 'ignore' });
      const exited = new Promise<void>((res) => child.on('exit', () => res()));
      await Promise.race([sleep(at * 1000), exited]);
      child.kill('SIGKILL');
      await exited;
      moments.push(`${trial}:${at.toFixed(2)}s`);
    }
    const r = finish(dir);
    count(tally, classify(r.status, r.stderr));
    assert.equal(r.status, 0, `trial ${trial} (seed ${seed}): ${r.stderr.slice(-500)}`);
    assertSameAsReference(dir, `trial ${trial} (seed ${seed}, kills at ${moments.filter((m) => m.startsWith(`${trial}:`)).join(', ')})`);
  }
  saveTally(tally);
});

test('two writers on one run directory: the second is refused, the first finishes unharmed', async () => {
  const tally = newTally('a second writer on a live run');
  const dir = join(work, 'contended');
  const first = spawn(process.execPath, [bin, 'train', ...ARGS, ...SPEED, '--out', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let firstErr = '';
  first.stderr.on('data', (d) => {
    firstErr += d;
  });
  const firstExit = new Promise<number | null>((res) => first.on('exit', (c) => res(c)));
  for (let i = 0; i < 3000 && !existsSync(join(dir, 'metrics.jsonl')); i++) await sleep(5);
  assert.ok(existsSync(join(dir, 'lock.json')), 'the first writer holds the lock');
  const seconds = [
    ['train', '--resume', dir, '--backend', 'cpu'],
    ['train', ...ARGS, ...SPEED, '--out', dir],
    ['reproduce', '--smoke', '--backend', 'cpu', '--out', dir],
  ];
  for (const argv of seconds) {
    const r = advlab(argv);
    const o = classify(r.status, r.stderr);
    count(tally, o);
    assert.equal(o.kind, 'typed', `${argv.join(' ')}: ${r.stderr}`);
    assert.ok(o.kind === 'typed' && ['E_RUN_LOCKED', 'E_CONFIG'].includes(o.code), r.stderr);
    if (argv[1] === '--resume' || argv[0] === 'reproduce') assert.match(r.stderr, /\[E_RUN_LOCKED\].*being written by advlab train --out/);
  }
  assert.equal(await firstExit, 0, firstErr);
  assertSameAsReference(dir, 'the first writer');
  assert.ok(!existsSync(join(dir, 'lock.json')), 'released at the end');
  saveTally(tally);
});
