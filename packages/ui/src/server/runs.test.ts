import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTicks } from '@advlab/node';
import { makeFakeRuns } from '../../../report/src/fixtures.ts';
import { filesUrl, findRunDirs, parseMetricsText, readMetricsFrom, readRunConfig, readRunMetrics, RunIndex, runId } from './runs.ts';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'advlab-ui-runs-')));
after(() => rmSync(base, { recursive: true, force: true }));
const root = join(base, 'root');
const fake = makeFakeRuns(root);

const line = (epoch: number, extra: object = {}) =>
  JSON.stringify({ epoch, step: epoch * 10, clean_acc: 0.5, fgsm_acc: 0.3, pgd_acc: 0.2, method: 'fgsm', ...extra });

function run(rel: string, files: Record<string, string>): string {
  const d = join(root, rel);
  mkdirSync(d, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(d, f), content);
  return d;
}

const config = (method: string) => JSON.stringify({ method, eps: 0.1 });

test('run folders are found a bounded depth down, without following links or entering run internals', () => {
  run('deep/a/b/c', { 'config.json': config('pgd') }); // depth 4: found
  run('deep/a/b/c/d', { 'config.json': config('pgd') }); // depth 5: not
  run('nested/checkpoints/e-0001', { 'config.json': config('pgd') });
  writeFileSync(join(root, 'nested', 'metrics.jsonl'), `${line(1)}\n`);
  run('.hidden', { 'config.json': config('pgd') });
  const outside = run('../outside-run', { 'config.json': config('pgd') });
  symlinkSync(outside, join(root, 'linked'));
  const found = findRunDirs(root);
  for (const rel of ['deep/a/b/c', 'fgsm-co', 'standard', 'nested', 'demo']) assert.ok(found.includes(rel), `${rel} in ${found}`);
  for (const rel of ['deep/a/b/c/d', 'nested/checkpoints/e-0001', '.hidden', 'linked', 'curvature-only']) {
    assert.ok(!found.includes(rel), `${rel} not in ${found}`);
  }
  assert.deepEqual(findRunDirs(fake.coRun), ['.'], 'a root that is itself a run');
});

test('ids are stable, URL-safe keys; file URLs are percent-encoded', () => {
  const id = runId(3, 'a/<img src=x>');
  assert.match(id, /^3\.[A-Za-z0-9_-]+$/);
  assert.equal(runId(3, 'a/<img src=x>'), id);
  assert.notEqual(runId(2, 'a/<img src=x>'), id);
  assert.equal(filesUrl(0, '.'), '/files/0/');
  assert.equal(filesUrl(1, 'a b/<x>'), '/files/1/a%20b/%3Cx%3E/');
});

test('status: running under a live lock, finished with summary.json, interrupted otherwise; CO flagged from metrics', () => {
  const live = run('status/live', {
    'config.json': config('trades'),
    'metrics.jsonl': `${line(1)}\n`,
    'lock.json': JSON.stringify({
      pid: process.pid,
      host: hostname(),
      started: new Date().toISOString(),
      procStart: processStartTicks(process.pid),
      command: 'train',
    }),
  });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  run('status/stale', {
    'config.json': config('pgd'),
    'lock.json': JSON.stringify({ pid: dead, host: hostname(), started: '2026-01-01T00:00:00Z', procStart: null, command: 'train' }),
  });
  run('status/remote', { 'metrics.jsonl': '', 'lock.json': JSON.stringify({ pid: 1, host: 'elsewhere.example', started: 'x' }) });
  run('status/garbage-lock', { 'config.json': config('pgd'), 'summary.json': '{}', 'lock.json': 'not json' });
  const index = new RunIndex([root]);
  const runs = new Map(index.scan().map((r) => [r.path, r]));
  assert.equal(runs.get('status/live')?.status, 'running');
  assert.equal(runs.get('status/live')?.method, 'trades');
  assert.equal(runs.get('status/live')?.lockHost, null);
  assert.equal(runs.get('status/stale')?.status, 'interrupted');
  assert.equal(runs.get('status/remote')?.status, 'running', 'a lock from another host cannot be checked: shown as running');
  assert.equal(runs.get('status/remote')?.lockHost, 'elsewhere.example');
  assert.equal(runs.get('status/remote')?.method, null);
  assert.equal(runs.get('status/garbage-lock')?.status, 'finished');
  const co = runs.get('fgsm-co')!;
  assert.equal(co.status, 'finished');
  assert.equal(co.co, true);
  assert.equal(co.lines, 8);
  assert.equal(co.epoch, 6);
  assert.equal(co.method, 'fgsm');
  assert.equal(co.files, '/files/0/fgsm-co/');
  const std = runs.get('standard')!;
  assert.equal(std.co, false);
  assert.equal(std.status, 'interrupted');
  assert.equal(std.eval, true);
  assert.equal(index.get(co.id)?.dir, fake.coRun);
  assert.equal(live.startsWith(root), true);
});

test('a half-written last line, garbage lines and NaN are skipped with notes, never thrown', () => {
  const text = [
    line(1),
    'garbage',
    line(2, { pgd_acc: null, loss: null }),
    '{"epoch": 3, "step": 30, "clean_acc": NaN}',
    '',
    line(4, { co: true }),
    '{"epo',
  ].join('\n');
  const dir = run('damaged', { 'config.json': '{not json', 'metrics.jsonl': text });
  const m = readRunMetrics([root], dir);
  assert.deepEqual(
    m.lines.map((l) => l.epoch),
    [1, 2, 4],
  );
  assert.equal((m.lines[1] as { pgd_acc?: number }).pgd_acc, undefined, 'null (NaN as JSON writes it) reads as missing');
  assert.equal(m.notes.length, 3, m.notes.join('\n'));
  assert.match(m.notes[0]!, /^metrics\.jsonl:2: skipped: expected a metrics line/);
  assert.match(m.notes[1]!, /^metrics\.jsonl:4: skipped/);
  assert.match(m.notes[2]!, /^metrics\.jsonl:7: an incomplete last line/);
  assert.equal(m.offset, Buffer.byteLength(text) - '{"epo'.length);
  assert.equal(m.lineCount, 6);

  const c = readRunConfig([root], dir);
  assert.equal(c.config, null);
  assert.match(c.notes[0]!, /config\.json: expected a JSON object, found invalid JSON/);
  const info = new RunIndex([root]).scan().find((r) => r.path === 'damaged')!;
  assert.equal(info.co, true);
  assert.equal(info.lines, 3);
  assert.equal(info.method, null);
});

test('reading on from an offset returns only the lines appended since, numbered in the whole file', () => {
  const dir = run('growing', { 'metrics.jsonl': `${line(1)}\n` });
  const file = join(dir, 'metrics.jsonl');
  const first = readMetricsFrom(file, 'metrics.jsonl');
  appendFileSync(file, `${line(2)}\nbad\n${line(3).slice(0, 10)}`);
  const next = readMetricsFrom(file, 'metrics.jsonl', first.offset, first.lineCount);
  assert.deepEqual(
    next.lines.map((l) => l.epoch),
    [2],
  );
  assert.match(next.notes[0]!, /^metrics\.jsonl:3: skipped/);
  assert.match(next.notes[1]!, /^metrics\.jsonl:4: an incomplete last line/);
  appendFileSync(file, `${line(3).slice(10)}\n`);
  const last = readMetricsFrom(file, 'metrics.jsonl', next.offset, next.lineCount);
  assert.deepEqual(
    last.lines.map((l) => l.epoch),
    [3],
  );
  assert.deepEqual(last.notes, []);
});

test('a file of nothing but garbage stops after a bounded number of skipped lines', () => {
  const { lines, notes } = parseMetricsText(`${Array.from({ length: 250 }, (_, i) => `x${i}`).join('\n')}\n`, 'm');
  assert.equal(lines.length, 0);
  assert.equal(notes.length, 201);
  assert.match(notes.at(-1)!, /50 further lines not read/);
});

test('a run file that is a link leading out of the roots is not read', () => {
  const outside = run('../outside-metrics', { 'metrics.jsonl': `${line(9)}\n`, 'config.json': config('SECRET') });
  const dir = run('linked-files', { 'summary.json': '{}' });
  symlinkSync(join(outside, 'metrics.jsonl'), join(dir, 'metrics.jsonl'));
  symlinkSync(join(outside, 'config.json'), join(dir, 'config.json'));
  assert.deepEqual(readRunMetrics([root], dir).lines, []);
  assert.equal(readRunConfig([root], dir).config, null);
  assert.ok(!findRunDirs(root).includes('linked-files'), 'links do not make a folder a run');
});
