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

test('a fresh path beside the inputs, or a file written before (a rerun), is accepted and resolved', () => {
  writeFileSync(join(dir, 'eval.json'), '{}');
  assert.equal(
    checkOutput({ path: join(dir, 'eval.json'), kind: 'file', key: 'json', inputs: [model] }),
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
