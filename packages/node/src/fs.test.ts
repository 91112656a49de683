import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './fs.ts';

const tmpFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

test('a successful write replaces the file and leaves no temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'advlab-fs-'));
  const file = join(dir, 'out.json');
  writeFileAtomic(file, '{"a": 1}\n');
  writeFileAtomic(file, '{"a": 2}\n');
  assert.equal(readFileSync(file, 'utf8'), '{"a": 2}\n');
  writeFileAtomic(join(dir, 'sub', 'deep.bin'), Uint8Array.from([1, 2, 3]));
  assert.deepEqual([...readFileSync(join(dir, 'sub', 'deep.bin'))], [1, 2, 3]);
  assert.deepEqual(tmpFiles(dir), []);
  assert.deepEqual(tmpFiles(join(dir, 'sub')), []);
});

test('a failed rename (the target is a directory) throws and removes the temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'advlab-fs-'));
  const target = join(dir, 'eval.json');
  mkdirSync(target);
  writeFileSync(join(target, 'inside.txt'), 'kept');
  assert.throws(
    () => writeFileAtomic(target, '{}'),
    (e: NodeJS.ErrnoException) => typeof e.code === 'string',
  );
  assert.deepEqual(tmpFiles(dir), [], 'no temp file left beside the target');
  assert.equal(readFileSync(join(target, 'inside.txt'), 'utf8'), 'kept', 'the directory is untouched');
});

test('a failed write (the parent folder is a file) throws and leaves nothing behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'advlab-fs-'));
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(() => writeFileAtomic(join(dir, 'file', 'out.json'), '{}'));
  assert.deepEqual(readdirSync(dir), ['file']);
});
