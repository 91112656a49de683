import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');
const dir = mkdtempSync(join(tmpdir(), 'advlab-resume-'));
const args = [
  '--model',
  'wong-cnn',
  '--data',
  'synthetic:tiny',
  '--method',
  'fgsm-rs',
  '--eps',
  '0.1',
  '--epochs',
  '5',
  '--lr',
  '0.01',
  '--eval-every',
  '2',
  '--held-out',
  '64',
  '--backend',
  'cpu',
];
const metrics = (run: string) =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { seconds: _s, examples_per_s: _e, ...rest } = JSON.parse(l);
      return rest;
    });

test('advlab train --resume after kill -9 gives the same metrics as an uninterrupted run', async () => {
  const full = join(dir, 'full');
  const r = spawnSync(process.execPath, [bin, 'train', ...args, '--out', full], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);

  const killed = join(dir, 'killed');
  const child = spawn(process.execPath, [bin, 'train', ...args, '--out', killed], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  // Kill as soon as the first checkpoint exists: mid-way through epoch 2.
  for (let i = 0; i < 3000 && !existsSync(join(killed, 'checkpoint.json')); i++) await sleep(10);
  child.kill('SIGKILL');
  await exited;
  assert.ok(!existsSync(join(killed, 'summary.json')), 'the run was really interrupted');

  const resumed = spawnSync(process.execPath, [bin, 'train', '--resume', killed, '--backend', 'cpu'], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resumed from epoch \d/);
  assert.deepEqual(metrics(killed), metrics(full));
});

test('--resume refuses a changed configuration, naming what changed', () => {
  const r = spawnSync(process.execPath, [bin, 'train', '--resume', join(dir, 'full'), '--eps', '0.2', '--backend', 'cpu'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /\[E_CONFIG\] --resume: expected the configuration in .*config\.json, found changed eps: 0\.1 → 0\.2/);
});
