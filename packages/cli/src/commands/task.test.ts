import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, RunLockedError } from '@advlab/core';
import { writeManifest } from '../cluster/manifest.ts';
import { task } from './task.ts';

const root = mkdtempSync(join(tmpdir(), 'advlab-task-'));
const train = (seed: number) => ({ model: 'mlp', data: 'synthetic:tiny', epochs: 1, limit: 64, heldOut: 16, seed });
// Two waves: r0 and r1, then r2 (which reads r0).
const file = join(root, 'manifest.json');
writeManifest(file, {
  format: 'advlab-manifest',
  version: 1,
  suite: { kind: 'sweep', varying: ['seed'], title: 't' },
  tasks: [0, 1, 2].map((index) => ({ index, name: `r${index}`, dir: `r${index}`, train: train(index), after: index === 2 ? [0] : [] })),
});

/** Runs `advlab task` with these scheduler variables set (and restored after). */
async function withEnv(env: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('the index comes from --index, else $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX; a bad one is named', async () => {
  await assert.rejects(task([file]), (e: unknown) => e instanceof ConfigError && e.option === '--index');
  await assert.rejects(task([file, '--index', '3']), /--index: expected a task index 0…2/);
  await withEnv({ SLURM_ARRAY_TASK_ID: 'x1' }, () =>
    assert.rejects(task([file]), (e: unknown) => e instanceof ConfigError && e.option === '$SLURM_ARRAY_TASK_ID'),
  );
  await withEnv({ JOB_COMPLETION_INDEX: '1' }, () =>
    assert.rejects(task([file, '--wave', '1']), /\$JOB_COMPLETION_INDEX: expected an index 0…0 within wave 1/),
  );
  await assert.rejects(task([file, '--index', '0', '--wave', '2']), /--wave: expected a wave 0…1/);
  await assert.rejects(task([]), /MANIFEST: expected one manifest\.json/);
});

test("a Kubernetes pod runs its wave's task, clearing the lock an earlier pod of the same index left on another host", async () => {
  await task([file, '--index', '2', '--backend', 'cpu']);
  const dir = join(root, 'r2');
  // As if the pod had died after its last checkpoint, holding the run's lock, on a node this pod cannot check.
  rmSync(join(dir, 'summary.json'));
  const lock = {
    pid: 1,
    host: 'advlab-pod-a',
    started: '2026-01-01T00:00:00Z',
    procStart: null,
    command: 'x',
    job: 'k8s advlab-suite-w1/0',
  };
  writeFileSync(join(dir, 'lock.json'), JSON.stringify(lock));
  // A lock of another Job is not this index's to clear: refused, as on any other host.
  await withEnv({ JOB_COMPLETION_INDEX: '0', ADVLAB_K8S_JOB: 'another-job-w1', ADVLAB_JOB: '' }, () =>
    assert.rejects(task([file, '--wave', '1', '--backend', 'cpu']), RunLockedError),
  );
  assert.ok(existsSync(join(dir, 'lock.json')));
  await withEnv({ JOB_COMPLETION_INDEX: '0', ADVLAB_K8S_JOB: 'advlab-suite-w1', ADVLAB_JOB: '' }, () =>
    task([file, '--wave', '1', '--backend', 'cpu']),
  );
  assert.ok(existsSync(join(dir, 'summary.json')), 'wave 1, index 0 is r2: resumed to the end');
  assert.ok(!existsSync(join(dir, 'lock.json')));
  assert.ok(!existsSync(join(root, 'r1', 'config.json')), 'r1 untouched');
});
