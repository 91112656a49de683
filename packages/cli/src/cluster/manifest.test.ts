import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataFormatError } from '@advlab/core';
import { reproduceTasks } from '../reproduce/run.ts';
import { evalSettings, experimentsOf, GENERATIVE_JUDGE, selectProfile, trainConfig } from '../reproduce/suite.ts';
import { type Manifest, readManifest, taskAt, taskState, waves, writeManifest } from './manifest.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'advlab-manifest-'));
const manifestOf = (tasks: Manifest['tasks']): Manifest => ({
  format: 'advlab-manifest',
  version: 1,
  suite: { kind: 'sweep', varying: ['seed'], title: 't' },
  tasks,
});
const task = (index: number, extra: Partial<Manifest['tasks'][number]> = {}) => ({
  index,
  name: `r${index}`,
  dir: `r${index}`,
  train: { model: 'mlp', seed: index },
  after: [],
  ...extra,
});

test('reproduce --quick becomes one task per experiment, each with its resolved training recipe and evaluation', () => {
  const p = selectProfile('quick');
  const tasks = reproduceTasks(p);
  const experiments = experimentsOf(p);
  assert.equal(tasks.length, experiments.length);
  for (const [i, t] of tasks.entries()) {
    const e = experiments[i]!;
    assert.equal(t.index, i);
    assert.equal(t.dir, e.name);
    assert.deepEqual(t.train, trainConfig(e, p));
    assert.deepEqual(t.evaluate, { kind: 'classifier', settings: evalSettings(e, p) });
    assert.deepEqual(t.after, []);
    // The trade-off models get a gallery at their evaluation ε, the others none.
    assert.equal(t.gallery !== undefined, e.findings.includes('tradeoff'));
  }
  assert.deepEqual(waves(tasks).length, 1);
});

test('a generative experiment reads its judge: it comes after it, in a later wave', () => {
  const p = selectProfile('smoke', ['generative']);
  const tasks = reproduceTasks(p);
  const judge = tasks.find((t) => t.name === GENERATIVE_JUDGE)!;
  const generative = tasks.filter((t) => t.evaluate?.kind === 'generative');
  assert.equal(generative.length, 3);
  for (const t of generative) {
    assert.deepEqual(t.after, [judge.index]);
    assert.equal(t.evaluate?.kind === 'generative' && t.evaluate.judge, GENERATIVE_JUDGE);
  }
  const w = waves(tasks);
  assert.deepEqual(
    w.map((wave) => wave.map((t) => t.name)),
    [[GENERATIVE_JUDGE], generative.map((t) => t.name)],
  );
  // Without its judge in the suite a generative task cannot be built.
  assert.throws(() => reproduceTasks({ ...p, only: generative.map((t) => t.name) }), ConfigError);
});

test('a manifest survives the write/read round trip, and every task index resolves', () => {
  const dir = tmp();
  const m = manifestOf([task(0), task(1), task(2, { after: [0, 1] })]);
  writeManifest(join(dir, 'manifest.json'), m);
  const back = readManifest(join(dir, 'manifest.json'));
  assert.deepEqual(back.manifest, m);
  assert.equal(back.root, dir);
  assert.equal(taskAt(back, 2, '--index').name, 'r2');
  assert.throws(() => taskAt(back, 3, '$SLURM_ARRAY_TASK_ID'), /\$SLURM_ARRAY_TASK_ID: expected a task index 0…2/);
  assert.deepEqual(
    waves(back.manifest.tasks).map((w) => w.map((t) => t.index)),
    [[0, 1], [2]],
  );
});

test('a bad manifest is refused, naming the file and the key', () => {
  const dir = tmp();
  const file = join(dir, 'manifest.json');
  const bad: [string, unknown, RegExp][] = [
    ['out of order', manifestOf([task(1)]), /tasks\[0\]\.index 0/],
    ['a name twice', manifestOf([task(0), { ...task(1), name: 'r0' }]), /name unique/],
    ['a folder twice', manifestOf([task(0), { ...task(1), dir: 'r0' }]), /dir unique/],
    ['after a later task', manifestOf([task(0, { after: [1] }), task(1)]), /after: earlier tasks only/],
    ['a folder outside', manifestOf([task(0, { dir: '../elsewhere' })]), /tasks\.0\.dir/],
    ['an absolute folder', manifestOf([task(0, { dir: '/etc' })]), /tasks\.0\.dir/],
    ['an unknown key', { ...manifestOf([task(0)]), extra: 1 }, /Unrecognized key/],
    ['another format', { ...manifestOf([task(0)]), format: 'x' }, /format/],
    ['no tasks', manifestOf([]), /tasks/],
    [
      'a judge not waited for',
      manifestOf([
        task(0),
        task(1, {
          evaluate: {
            kind: 'generative',
            settings: { pairs: 1, cs: 1, sweepSteps: 1, steps: 1, eps: 0.1, norm: 'linf', seed: 0 },
            judge: 'r0',
          },
        }),
      ]),
      /evaluate\.judge/,
    ],
  ];
  for (const [what, content, message] of bad) {
    writeFileSync(file, JSON.stringify(content));
    assert.throws(
      () => readManifest(file),
      (e: unknown) => e instanceof DataFormatError && e.message.startsWith(file) && message.test(e.message),
      what,
    );
  }
  writeFileSync(file, '{"format": ');
  assert.throws(() => readManifest(file), DataFormatError);
  assert.throws(() => readManifest(join(dir, 'none.json')), /manifest: expected a manifest\.json/);
});

test("a task's state is read off its run directory: new, partial while training or evaluating, refused with another config", () => {
  const dir = tmp();
  const m = writeManifest(join(dir, 'manifest.json'), manifestOf([task(0, { evaluate: { kind: 'classifier', settings: { n: 8 } } })]));
  const t = m.manifest.tasks[0]!;
  assert.equal(taskState(m, t), 'new');
  mkdirSync(join(dir, 'r0'));
  writeFileSync(join(dir, 'r0', 'config.json'), JSON.stringify({ model: 'mlp', seed: 0 }));
  assert.equal(taskState(m, t), 'partial'); // config.json but no summary: training was interrupted
});
