// A damaged run directory is refused with E_RUN_CORRUPT naming the file — before the model, the optimiser
// or any file of the run is changed — and resume never drops a metrics line without keeping it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { makeOptimizer, trainAdversarial } from '@advlab/core';
import { blobConfig, blobHeldOut, blobModel, blobTrain, cpu } from '@advlab/core/testing';
import { RunDirectory } from './run-dir.ts';

await cpu();
const tmp = mkdtempSync(join(tmpdir(), 'advlab-run-integrity-'));

// One trained run (2 epochs: a checkpoint of epoch 2, metrics of epochs 1–2), copied for each damage.
const pristine = new RunDirectory(join(tmp, 'pristine'));
pristine.create(blobConfig({ epochs: 2 }));
await trainAdversarial(blobModel(), blobTrain, blobHeldOut, blobConfig({ epochs: 2 }), pristine, {});

let copies = 0;
function damaged(damage: (dir: string) => void): RunDirectory {
  const dir = join(tmp, `copy-${copies++}`);
  cpSync(pristine.dir, dir, { recursive: true });
  damage(dir);
  return new RunDirectory(dir);
}
const ckpt = (dir: string, f = '') => join(dir, 'checkpoints', 'e-0002', f);
/** The pointer as runs made before checksums wrote it: what is left is the schema checks. */
const withoutChecksums = (dir: string) => writeFileSync(join(dir, 'checkpoint.json'), '{"latest":"e-0002","epoch":2}\n');
const edit = (file: string, fn: (v: any) => void) => {
  const v = JSON.parse(readFileSync(file, 'utf8'));
  fn(v);
  writeFileSync(file, JSON.stringify(v));
};

/** Restores `run`'s latest checkpoint into a fresh model, expecting E_RUN_CORRUPT matching `pattern`; the model must be untouched. */
async function assertRefused(run: RunDirectory, pattern: RegExp): Promise<void> {
  const model = blobModel();
  const optimizer = makeOptimizer('adam', 0.01);
  const before = model.getWeights().map((w) => Array.from(w.dataSync()));
  const tensors = tf.memory().numTensors;
  await assert.rejects((async () => run.restoreCheckpoint(run.latestCheckpoint()!, model, optimizer))(), (e: any) => {
    assert.equal(e.code, 'E_RUN_CORRUPT', e.message);
    assert.match(e.message, pattern);
    return true;
  });
  assert.deepEqual(
    model.getWeights().map((w) => Array.from(w.dataSync())),
    before,
    'a refused checkpoint leaves the model as it was',
  );
  assert.equal(tf.memory().numTensors, tensors, 'no tensor leaked on the error path');
  optimizer.dispose();
  model.dispose();
}

test('the pristine run restores', async () => {
  const state = await pristine.restoreCheckpoint(pristine.latestCheckpoint()!, blobModel(), makeOptimizer('adam', 0.01));
  assert.equal(state.epoch, 2);
  const pointer = JSON.parse(readFileSync(join(pristine.dir, 'checkpoint.json'), 'utf8'));
  assert.deepEqual(Object.keys(pointer.sha256).sort(), [
    'checkpoints/e-0002/model.json',
    'checkpoints/e-0002/optimizer.json',
    'checkpoints/e-0002/state.json',
    'checkpoints/e-0002/weights.bin',
    'config.json',
  ]);
});

test('a state.json with "epoch": "nine" is refused, naming the file and key (with and without checksums)', async () => {
  await assertRefused(
    damaged((d) => edit(ckpt(d, 'state.json'), (v) => (v.epoch = 'nine'))),
    /state\.json: expected the contents recorded in checkpoint\.json/,
  );
  await assertRefused(
    damaged((d) => {
      withoutChecksums(d);
      edit(ckpt(d, 'state.json'), (v) => (v.epoch = 'nine'));
    }),
    /state\.json: expected "epoch" .*found "nine"/,
  );
});

test('optimizer.json with a truncated array or garbage is refused, naming the file', async () => {
  await assertRefused(
    damaged((d) => {
      withoutChecksums(d);
      edit(ckpt(d, 'optimizer.json'), (v) => v.data[1].pop());
    }),
    /optimizer\.json: expected data\[1\] \d+ finite numbers, found \d+ values/,
  );
  await assertRefused(
    damaged((d) => {
      withoutChecksums(d);
      writeFileSync(ckpt(d, 'optimizer.json'), '{"specs": [1, 2');
    }),
    /optimizer\.json: expected the optimiser state .*found text that is not JSON/,
  );
});

test('weights changed after the checkpoint are refused by their checksum', async () => {
  await assertRefused(
    damaged((d) => {
      const w = readFileSync(ckpt(d, 'weights.bin'));
      w[10] = w[10]! ^ 0xff;
      writeFileSync(ckpt(d, 'weights.bin'), w);
    }),
    /weights\.bin: expected the contents recorded in checkpoint\.json .*changed after the checkpoint/,
  );
});

test('a model.json of another architecture is refused before its weights are set', async () => {
  // A checkpoint whose model has different weight shapes than the one being resumed.
  const damagedRun = damaged((d) => {
    withoutChecksums(d);
    edit(ckpt(d, 'model.json'), (v) => {
      v.weightsManifest[0].weights[0].shape = [8, 15];
    });
  });
  const model = blobModel();
  await assert.rejects(
    damagedRun.restoreCheckpoint(damagedRun.latestCheckpoint()!, model, makeOptimizer('adam', 0.01)),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /e-0002/.test(e.message),
  );
});

test('a checkpoint pointer naming a folder elsewhere is refused', () => {
  for (const latest of ['../../other-run/checkpoints/e-0002', 'e-0001', '/etc']) {
    const run = damaged((d) => writeFileSync(join(d, 'checkpoint.json'), JSON.stringify({ latest, epoch: 2 })));
    assert.throws(
      () => run.latestCheckpoint(),
      (e: any) => e.code === 'E_RUN_CORRUPT' && /checkpoint\.json: expected "latest" "e-0002"/.test(e.message),
    );
  }
  const garbage = damaged((d) => writeFileSync(join(d, 'checkpoint.json'), '\u0000\u0001garbage'));
  assert.throws(
    () => garbage.latestCheckpoint(),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /not JSON/.test(e.message),
  );
});

test("a checkpoints folder that is a symlink to another run's is refused", () => {
  const other = damaged(() => {});
  const run = damaged((d) => {
    rmSync(join(d, 'checkpoints'), { recursive: true });
    symlinkSync(join(other.dir, 'checkpoints'), join(d, 'checkpoints'));
  });
  assert.throws(
    () => run.latestCheckpoint(),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /expected a folder inside the run directory/.test(e.message),
  );
});

test('a deleted checkpoint is an error, not a silent restart', () => {
  const noFolder = damaged((d) => rmSync(join(d, 'checkpoints'), { recursive: true }));
  assert.throws(
    () => noFolder.latestCheckpoint(),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /no such folder/.test(e.message),
  );
  const noPointer = damaged((d) => rmSync(join(d, 'checkpoint.json')));
  assert.throws(
    () => noPointer.latestCheckpoint(),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /lines of epoch 2, so epoch 1 was checkpointed/.test(e.message),
  );
});

test('a resume of a damaged run changes no file of it', async () => {
  const run = damaged((d) => edit(ckpt(d, 'state.json'), (v) => (v.epoch = 'nine')));
  const files = ['metrics.jsonl', 'config.json', 'checkpoint.json'].map((f) => readFileSync(join(run.dir, f)));
  await assert.rejects(
    trainAdversarial(blobModel(), blobTrain, blobHeldOut, blobConfig({ epochs: 3 }), run, {}),
    (e: any) => e.code === 'E_RUN_CORRUPT',
  );
  for (const [i, f] of ['metrics.jsonl', 'config.json', 'checkpoint.json'].entries())
    assert.deepEqual(readFileSync(join(run.dir, f)), files[i], f);
  assert.ok(!existsSync(join(run.dir, 'metrics.superseded.jsonl')));
});

test('metrics.jsonl: a bad line in the middle is refused by number; a torn last line is kept aside on resume', () => {
  const middle = damaged((d) => {
    const lines = readFileSync(join(d, 'metrics.jsonl'), 'utf8').split('\n');
    lines[1] = '{"epoch": "nine", "step": 3}';
    writeFileSync(join(d, 'metrics.jsonl'), lines.join('\n'));
  });
  assert.throws(
    () => middle.readMetrics(),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /metrics\.jsonl: expected line 2 "epoch"/.test(e.message),
  );
  const torn = damaged((d) => writeFileSync(join(d, 'metrics.jsonl'), `${readFileSync(join(d, 'metrics.jsonl'), 'utf8')}{"epoch": 3, "st`));
  const lines = torn.readMetrics();
  assert.equal(lines.length, 4, 'the torn line is not a line');
  torn.truncateMetrics((l) => (l.epoch as number) <= 1);
  assert.equal(torn.readMetrics().length, 2);
  const kept = readFileSync(join(torn.dir, 'metrics.superseded.jsonl'), 'utf8').split('\n').filter(Boolean);
  assert.equal(kept.length, 3, "epoch 2's two lines and the torn one, kept aside");
  assert.equal(kept[2], '{"epoch": 3, "st');
});

test('config.json that is not JSON, or breaks the schema given, is E_RUN_CORRUPT naming it', () => {
  const notJson = damaged((d) => writeFileSync(join(d, 'config.json'), '{"method": '));
  assert.throws(
    () => notJson.readConfig(),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /config\.json: expected the JSON configuration/.test(e.message),
  );
  const array = damaged((d) => writeFileSync(join(d, 'config.json'), '[1,2]'));
  assert.throws(
    () => array.readConfig(),
    (e: any) => e.code === 'E_RUN_CORRUPT' && /expected a JSON object/.test(e.message),
  );
});
