import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@advlab/core';
import { checkOutput, realPathOf } from './outputs.ts';

const dir = mkdtempSync(join(tmpdir(), 'advlab-outputs-'));
const model = join(dir, 'model');
mkdirSync(model);
writeFileSync(join(model, 'model.json'), '{}');
const link = join(dir, 'model-link');
symlinkSync(model, link);

function refused(plan: Parameters<typeof checkOutput>[0], re: RegExp): void {
  assert.throws(
    () => checkOutput(plan),
    (e: unknown) => e instanceof ConfigError && e.option === plan.key && re.test(e.message),
    `${plan.path}`,
  );
}

test('an output that is an input, inside one, or reaches one through a symlink is refused', () => {
  refused({ path: join(model, 'model.json'), kind: 'file', key: 'json', inputs: [model] }, /inside it/);
  refused({ path: model, kind: 'directory', key: 'out', inputs: [model] }, /is that input/);
  refused({ path: join(link, 'model.json'), kind: 'file', key: 'json', inputs: [model] }, /inside it/);
  refused({ path: join(dir, 'eval.json'), kind: 'file', key: 'out', inputs: [join(dir, 'eval.json')] }, /is that input/);
  refused({ path: join(model, 'new', 'deep.json'), kind: 'file', key: 'json', inputs: [model] }, /inside it/);
});

test('a directory where a file is meant, a file where a folder is meant, a file as a parent: refused before any work', () => {
  refused({ path: model, kind: 'file', key: 'json', inputs: [] }, /expected a file path, found .*a directory/);
  refused({ path: join(model, 'model.json'), kind: 'directory', key: 'out', inputs: [] }, /expected a folder/);
  refused({ path: join(model, 'model.json', 'x.json'), kind: 'file', key: 'json', inputs: [] }, /is a file/);
});

test('a fresh path beside the inputs is accepted and resolved; a file written before only with force', () => {
  writeFileSync(join(dir, 'eval.json'), '{}');
  refused(
    { path: join(dir, 'eval.json'), kind: 'file', key: 'json', inputs: [model] },
    /expected a path that does not exist yet \(or --force to replace it\), found .*eval\.json, an existing file/,
  );
  assert.equal(
    checkOutput({ path: join(dir, 'eval.json'), kind: 'file', key: 'json', inputs: [model], force: true }),
    join(realPathOf(dir), 'eval.json'),
  );
  assert.equal(
    checkOutput({ path: join(dir, 'out', 'eval.json'), kind: 'file', key: 'json', inputs: [model] }),
    join(realPathOf(dir), 'out', 'eval.json'),
  );
  assert.equal(
    checkOutput({ path: join(dir, 'model-2'), kind: 'directory', key: 'out', inputs: [model] }),
    join(realPathOf(dir), 'model-2'),
  );
});

test('force never makes an input, a directory where a file goes, or a file where a folder goes acceptable', () => {
  refused({ path: join(model, 'model.json'), kind: 'file', key: 'json', inputs: [model], force: true }, /inside it/);
  refused({ path: model, kind: 'file', key: 'json', inputs: [], force: true }, /a directory/);
  refused({ path: join(model, 'model.json'), kind: 'directory', key: 'out', inputs: [], force: true }, /expected a folder/);
});

test('a folder output: refused when it holds any of the files the command writes, unless force; one that is a directory always', () => {
  const files = ['adversarial.idx', 'labels.idx', 'result.json', 'grid.png'];
  const out = join(dir, 'attack');
  const plan = { path: out, kind: 'directory' as const, key: 'out', inputs: [model], files };
  assert.equal(checkOutput(plan), join(realPathOf(dir), 'attack'), 'a folder that does not exist yet');
  mkdirSync(out);
  writeFileSync(join(out, 'notes.txt'), 'mine');
  assert.equal(checkOutput(plan), join(realPathOf(dir), 'attack'), 'other files in the folder do not matter');
  writeFileSync(join(out, 'result.json'), '{}');
  writeFileSync(join(out, 'grid.png'), '');
  refused(
    plan,
    /^out: expected a folder without adversarial\.idx, labels\.idx, result\.json, grid\.png \(or --force to replace them\), found .*attack, which holds result\.json, grid\.png/,
  );
  assert.equal(checkOutput({ ...plan, force: true }), join(realPathOf(dir), 'attack'));
  // Without a list of files, an existing folder is accepted as before (train --out resumes into one).
  assert.equal(checkOutput({ ...plan, files: undefined }), join(realPathOf(dir), 'attack'));
  mkdirSync(join(out, 'labels.idx'));
  refused({ ...plan, force: true }, /expected a folder where .* can be written, found .*attack, in which labels\.idx is a directory/);
});
