import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataMissingError } from '@advlab/core';
import {
  CIFAR10_CLASSES,
  CIFAR10_DECODED_RECORD_BYTES,
  CIFAR10_RECORD_BYTES,
  hasCifarBatches,
  loadCifar10,
  readCifar10Batch,
} from './cifar10.ts';
import { cifarRecord, makeTempDir, writeCifarDataset, throwsFormat } from './testing.ts';

const tmp = makeTempDir();
after(tmp.cleanup);
let counter = 0;
const put = (name: string, bytes: Uint8Array) => {
  const p = join(tmp.dir, `${counter++}-${name}`);
  writeFileSync(p, bytes);
  return p;
};

test('records become NHWC floats: R, G, B planes interleaved per pixel', () => {
  const f = (c: number, p: number) => (c === 0 ? p % 256 : c === 1 ? 255 - (p % 256) : (p * 7) % 256);
  const p = put('data_batch_1.bin', Buffer.concat([cifarRecord(3, f), cifarRecord(9, () => 255)]));
  const s = readCifar10Batch(p);
  assert.deepEqual([s.n, s.height, s.width, s.channels], [2, 32, 32, 3]);
  assert.deepEqual([...s.labels], [3, 9]);
  // pixel (row 1, col 2) = index 34 of image 0
  const px = 34;
  assert.equal(s.images[px * 3 + 0], Math.fround(34 / 255));
  assert.equal(s.images[px * 3 + 1], Math.fround((255 - 34) / 255));
  assert.equal(s.images[px * 3 + 2], Math.fround(((34 * 7) % 256) / 255));
  // image 1 is all ones
  assert.ok(s.images.subarray(3072).every((v) => v === 1));
});

test('loadCifar10: all data batches in numeric order, test batch, standard class names', () => {
  const dir = join(tmp.dir, 'cifar');
  writeCifarDataset(dir, [0, 1, 2], [3, 9]);
  writeFileSync(join(dir, 'data_batch_2.bin'), Buffer.concat([cifarRecord(7)]));
  writeFileSync(join(dir, 'data_batch_10.bin'), Buffer.concat([cifarRecord(8)]));
  assert.ok(hasCifarBatches(dir));
  const ds = loadCifar10(dir);
  assert.equal(ds.name, 'cifar');
  assert.equal(ds.numClasses, 10);
  assert.deepEqual(ds.classNames, [...CIFAR10_CLASSES]);
  assert.deepEqual([...ds.train.labels], [0, 1, 2, 7, 8]);
  assert.equal(ds.train.images.length, 5 * 3072);
  assert.deepEqual([...ds.test.labels], [3, 9]);
});

test('batches.meta.txt supplies class names; a wrong count is rejected', () => {
  const dir = join(tmp.dir, 'cifar-meta');
  writeCifarDataset(dir);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
  writeFileSync(join(dir, 'batches.meta.txt'), `${names.join('\n')}\n\n`);
  assert.deepEqual(loadCifar10(dir).classNames, names);
  writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\n');
  throwsFormat(() => loadCifar10(dir), 'batches.meta.txt', /10 class names/);
});

test('truncated record: every length that is not a positive multiple of 3073', () => {
  const full = Buffer.concat([cifarRecord(1), cifarRecord(2)]);
  for (const cut of [0, 1, 100, 3072, 3074, 6145]) {
    const p = put('data_batch_1.bin', full.subarray(0, cut));
    const e = throwsFormat(() => readCifar10Batch(p), p, /multiple of 3073/);
    assert.ok(e.found.startsWith(`${cut} bytes`), e.found);
  }
  const dir = join(tmp.dir, 'cifar-trunc');
  writeCifarDataset(dir);
  writeFileSync(join(dir, 'test_batch.bin'), full.subarray(0, CIFAR10_RECORD_BYTES + 5));
  throwsFormat(() => loadCifar10(dir), 'test_batch.bin', /3073 whole records|1 whole records \+ 5 bytes/);
});

test('label 10 is rejected with the record number', () => {
  const p = put('data_batch_1.bin', Buffer.concat([cifarRecord(0), cifarRecord(10)]));
  const e = throwsFormat(() => readCifar10Batch(p), p, /labels in \[0, 10\)/);
  assert.match(e.found, /label 10 in record 1/);
});

test('file over the size cap is rejected before reading', () => {
  const p = put('data_batch_1.bin', Buffer.concat([cifarRecord(0), cifarRecord(1)]));
  throwsFormat(() => readCifar10Batch(p, { maxFileBytes: 4000 }), p, /size cap/);
});

test('missing folder / batches → DataMissingError', () => {
  assert.throws(
    () => loadCifar10(join(tmp.dir, 'no-cifar')),
    (e: unknown) => e instanceof DataMissingError && e.message.includes('no-cifar'),
  );
  const dir = join(tmp.dir, 'cifar-empty');
  mkdirSync(dir);
  assert.throws(
    () => loadCifar10(dir),
    (e: unknown) => e instanceof DataMissingError && e.message.includes('data_batch_1.bin'),
  );
  writeFileSync(join(dir, 'data_batch_1.bin'), cifarRecord(0));
  assert.throws(
    () => loadCifar10(dir),
    (e: unknown) => e instanceof DataMissingError && e.message.includes('test_batch.bin'),
  );
  assert.equal(hasCifarBatches(join(tmp.dir, 'no-cifar')), false);
});

test('the decoded size cap counts float32 pixels and int32 labels (12292 bytes a record), per file and per split', () => {
  assert.equal(CIFAR10_DECODED_RECORD_BYTES, 3072 * 4 + 4);
  const two = Buffer.concat([cifarRecord(0), cifarRecord(1)]);
  const p = put('data_batch_1.bin', two);
  assert.equal(readCifar10Batch(p, { maxBytes: 2 * 12292 }).n, 2);
  const e = throwsFormat(() => readCifar10Batch(p, { maxBytes: 2 * 12292 - 1 }), p, /CIFAR-10 size cap/);
  assert.match(e.found, /^2 records, 24584 bytes decoded/);
  // Two training files under the cap each, whose one training array is over it.
  const dir = join(tmp.dir, 'cifar-cap');
  writeCifarDataset(dir, [4], [5]);
  writeFileSync(join(dir, 'data_batch_2.bin'), cifarRecord(6));
  const s = throwsFormat(() => loadCifar10(dir, { maxBytes: 20000 }), dir, /CIFAR-10 size cap/);
  assert.equal(s.file, dir);
  assert.match(s.found, /^2 training records in 2 data_batch files, 24584 bytes decoded/);
  const ds = loadCifar10(dir, { maxBytes: 24584 });
  assert.deepEqual([...ds.train.labels], [4, 6]);
  assert.deepEqual([...ds.train.images.subarray(3072, 3075)], [...readCifar10Batch(join(dir, 'data_batch_2.bin')).images.subarray(0, 3)]);
});

test('an empty split is a DataFormatError naming the split, not a malformed file', () => {
  const dir = join(tmp.dir, 'cifar-empty-test');
  writeCifarDataset(dir);
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(0));
  const t = throwsFormat(() => loadCifar10(dir), 'test_batch.bin');
  assert.equal(t.expected, 'a non-empty test split');
  assert.equal(t.found, 'none: test_batch.bin is empty (0 records)');
  const dir2 = join(tmp.dir, 'cifar-empty-train');
  writeCifarDataset(dir2);
  writeFileSync(join(dir2, 'data_batch_1.bin'), Buffer.alloc(0));
  writeFileSync(join(dir2, 'data_batch_2.bin'), Buffer.alloc(0));
  const r = throwsFormat(() => loadCifar10(dir2), dir2);
  assert.equal(r.expected, 'a non-empty train split');
  assert.equal(r.found, 'none: every training batch file is empty (data_batch_1.bin, data_batch_2.bin)');
});
