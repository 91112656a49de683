import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeIdx } from './idx-write.ts';
import { readIdx } from './idx.ts';

test('writeIdx round-trips through readIdx (f32 and u8)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'advlab-idxw-'));
  const f = new Float32Array([0, 0.25, 1, 0.5, 0.125, 0.75]);
  writeIdx(join(dir, 'a.idx'), [2, 3], f);
  const a = readIdx(join(dir, 'a.idx'));
  assert.equal(a.dtype, 'f32');
  assert.deepEqual(a.dims, [2, 3]);
  assert.deepEqual(Array.from(a.data), Array.from(f));
  const u = new Uint8Array([1, 2, 255]);
  writeIdx(join(dir, 'b.idx'), [3], u);
  assert.deepEqual(Array.from(readIdx(join(dir, 'b.idx')).data), [1, 2, 255]);
  assert.throws(() => writeIdx(join(dir, 'c.idx'), [4], u), /hold 4 values, data has 3/);
});
