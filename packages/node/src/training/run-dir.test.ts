import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeOptimizer, trainAdversarial } from '@advlab/core';
import { assertResumeReproduces, blobConfig, blobHeldOut, blobModel, blobTrain, cpu } from '@advlab/core/testing';
import { RunDirectory } from './run-dir.ts';

await cpu();
const tmp = mkdtempSync(join(tmpdir(), 'advlab-run-dir-'));

function created(name: string, config = blobConfig()): RunDirectory {
  const run = new RunDirectory(join(tmp, name));
  run.create(config);
  return run;
}

test('resume from disk after a crash mid-epoch produces the same metrics as an uninterrupted run', async () => {
  const brokenDir = created('broken').dir;
  await assertResumeReproduces(created('full'), () => new RunDirectory(brokenDir));
  assert.ok(existsSync(join(brokenDir, 'model', 'model.json')) && existsSync(join(brokenDir, 'best', 'model.json')));
});

test('Sophia and ELLE-A runs resume from disk to the same metrics: their optimiser slots and adaptive weight are checkpointed', async () => {
  for (const over of [
    { optimizer: 'sophia' as const, method: 'standard' as const, lr: 0.03, hessianEvery: 3 },
    { method: 'elle-a' as const, lambda: 20, lr: 0.05 },
  ]) {
    const name = `${over.method}-${over.optimizer ?? 'adam'}`;
    const brokenDir = created(`${name}-broken`, blobConfig(over)).dir;
    await assertResumeReproduces(created(`${name}-full`, blobConfig(over)), () => new RunDirectory(brokenDir), over);
  }
});

test('a checkpoint write interrupted mid-way leaves the previous checkpoint in force', async () => {
  const run = created('atomic', blobConfig({ epochs: 1 }));
  await trainAdversarial(blobModel(), blobTrain, blobHeldOut, blobConfig({ epochs: 1 }), run, {});
  const before = readFileSync(join(run.dir, 'checkpoint.json'), 'utf8');
  // A crash while writing epoch 2's folder: half a model.json, no weights, pointer not yet replaced.
  mkdirSync(join(run.dir, 'checkpoints', 'e-0002'), { recursive: true });
  writeFileSync(join(run.dir, 'checkpoints', 'e-0002', 'model.json'), '{"modelTopology": {"cla');
  assert.equal(readFileSync(join(run.dir, 'checkpoint.json'), 'utf8'), before);
  const ck = run.latestCheckpoint()!;
  assert.equal(ck.epoch, 1);
  const state = await run.restoreCheckpoint(ck, blobModel(), makeOptimizer('adam', 0.01));
  assert.equal(state.epoch, 1);
});

test('a run directory refuses to be created twice', () => {
  created('twice');
  assert.throws(
    () => created('twice'),
    (e: any) => e.code === 'E_CONFIG' && /already holds a run/.test(e.message),
  );
});
