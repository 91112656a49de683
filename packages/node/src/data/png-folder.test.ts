import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { ConfigError } from '@advlab/core';
import { hasPngClassFolders, isTestIndex, loadPngFolder, readPngHeader } from './png-folder.ts';
import { makeTempDir, pngBytes, throwsFormat } from './testing.ts';

const tmp = makeTempDir();
after(tmp.cleanup);
let counter = 0;

/** Writes dir/<class>/<file>.png for each entry. */
function makeFolder(files: Record<string, Record<string, Buffer>>): string {
  const dir = join(tmp.dir, `folder-${counter++}`);
  for (const [cls, imgs] of Object.entries(files)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (const [name, bytes] of Object.entries(imgs)) writeFileSync(join(dir, cls, name), bytes);
  }
  return dir;
}

const grey = (v: number) => pngBytes(3, 2, (x, y) => [v + x + 10 * y, v + x + 10 * y, v + x + 10 * y]);

/** A PNG header (signature + IHDR with a correct CRC) claiming w×h, followed by junk instead of image data. */
function craftedPng(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const typeAndData = Buffer.concat([Buffer.from('IHDR'), ihdr]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  const idat = deflateSync(Buffer.alloc(1000));
  const idatChunk = Buffer.concat([Buffer.alloc(4), Buffer.from('IDAT'), idat, Buffer.alloc(4)]);
  idatChunk.writeUInt32BE(idat.length, 0);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), typeAndData, crc, idatChunk]);
}

test('grey folder: sorted classes, every 5th file to test, channels 1, values /255', () => {
  const files = (base: number) => Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`img${i}.png`, grey(base + i)]));
  const dir = makeFolder({ zebra: files(100), apple: files(0), '.hidden': files(50) });
  writeFileSync(join(dir, 'apple', 'README.txt'), 'not an image');
  assert.ok(hasPngClassFolders(dir));
  const ds = loadPngFolder(dir);
  assert.equal(ds.name, basename(dir));
  assert.deepEqual(ds.classNames, ['apple', 'zebra']);
  assert.equal(ds.numClasses, 2);
  assert.deepEqual([ds.train.n, ds.train.height, ds.train.width, ds.train.channels], [8, 2, 3, 1]);
  assert.deepEqual([...ds.train.labels], [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual([...ds.test.labels], [0, 1]);
  // test image 0 = apple/img4.png: value 4 + x + 10y
  assert.deepEqual(
    [...ds.test.images.subarray(0, 6)],
    [4, 5, 6, 14, 15, 16].map((v) => Math.fround(v / 255)),
  );
  // train image 4 = zebra/img0.png
  assert.equal(ds.train.images[4 * 6], Math.fround(100 / 255));
});

test('RGB folder: channels 3, alpha dropped', () => {
  const rgb = (r: number) => pngBytes(2, 2, (x) => [r, x * 100, 7, 0]);
  const dir = makeFolder({ a: { '1.png': rgb(10), '2.PNG': rgb(20) }, b: { 'x.png': pngBytes(2, 2, () => [9, 9, 9]) } });
  const ds = loadPngFolder(dir, { testFraction: 0 });
  assert.equal(ds.train.channels, 3);
  assert.equal(ds.test.n, 0);
  assert.equal(ds.train.n, 3);
  assert.deepEqual(
    [...ds.train.images.subarray(0, 6)],
    [10, 0, 7, 10, 100, 7].map((v) => Math.fround(v / 255)),
  );
});

test('isTestIndex spreads the fraction evenly and deterministically', () => {
  const pick = (f: number, n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => isTestIndex(i, f));
  assert.deepEqual(pick(0.2, 10), [4, 9]);
  assert.deepEqual(pick(0.5, 6), [1, 3, 5]);
  assert.deepEqual(pick(0, 6), []);
  assert.equal(pick(0.3, 100).length, 30);
  assert.throws(() => loadPngFolder(tmp.dir, { testFraction: 1 }), ConfigError);
});

test('a declared size over the cap is rejected from the header, before decoding', () => {
  const bad = craftedPng(100000, 100000);
  assert.deepEqual(readPngHeader(bad, 'x.png'), { width: 100000, height: 100000, bitDepth: 8, colorType: 6 });
  const dir = makeFolder({ a: { 'ok.png': grey(0) }, b: { 'huge.png': bad } });
  const e = throwsFormat(() => loadPngFolder(dir), 'huge.png', /pixels per image \(the size cap\)/);
  assert.match(e.found, /100000×100000/);
  // Also rejected when it is the first image.
  const dir2 = makeFolder({ a: { 'huge.png': bad } });
  throwsFormat(() => loadPngFolder(dir2), 'huge.png', /size cap/);
  // A small cap applies to ordinary images too.
  throwsFormat(() => loadPngFolder(makeFolder({ a: { 'six.png': grey(0) } }), { maxPixels: 5 }), 'six.png', /at most 5 pixels/);
});

test('mismatched image size names the file, expected and found WxH', () => {
  const dir = makeFolder({ a: { '1.png': grey(0), '2.png': pngBytes(4, 4, () => [1, 1, 1]) } });
  const e = throwsFormat(() => loadPngFolder(dir), '2.png', /3×2/);
  assert.equal(e.found, '4×4');
});

test('non-PNG file and truncated PNGs', () => {
  const dir = makeFolder({ a: { 'fake.png': Buffer.from('hello, I am text') } });
  throwsFormat(() => loadPngFolder(dir), 'fake.png', /PNG file \(signature/);
  const valid = grey(0);
  for (let cut = 0; cut < valid.length; cut++) {
    const d = makeFolder({ a: { 'cut.png': valid.subarray(0, cut) } });
    throwsFormat(() => loadPngFolder(d), 'cut.png');
  }
  const junk = makeFolder({ a: { 'junk.png': craftedPng(3, 2) } });
  throwsFormat(() => loadPngFolder(junk), 'junk.png', /valid PNG/);
});

test('file size cap, empty class folder, no class folders', () => {
  throwsFormat(() => loadPngFolder(makeFolder({ a: { 'big.png': grey(0) } }), { maxFileBytes: 10 }), 'big.png', /size cap/);
  const dir = makeFolder({ a: { '1.png': grey(0) } });
  mkdirSync(join(dir, 'empty-class'));
  throwsFormat(() => loadPngFolder(dir), 'empty-class', /at least one \.png/);
  const none = join(tmp.dir, 'no-classes');
  mkdirSync(none);
  throwsFormat(() => loadPngFolder(none), 'no-classes', /class subfolders/);
  assert.equal(hasPngClassFolders(none), false);
});
