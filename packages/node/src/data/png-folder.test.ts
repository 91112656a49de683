import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { ConfigError } from '@advlab/core';
import {
  hasPngClassFolders,
  isTestIndex,
  loadPngFolder,
  PNG_DECODED_BYTES_PER_PIXEL,
  PNG_MAX_BYTES,
  PNG_MAX_TOTAL_PIXELS,
  readPngHeader,
} from './png-folder.ts';
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

/** `count` grey 3×2 images named img0.png.. for one class folder. */
const greys = (count: number, base = 0) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`img${i}.png`, grey(base + i)]));

test('every class under 5 images leaves no test split: DataFormatError naming the folder and why, before tf.js sees it', () => {
  const dir = makeFolder({ a: greys(4), b: greys(1) });
  const e = throwsFormat(() => loadPngFolder(dir), dir);
  assert.equal(e.file, dir);
  assert.equal(e.expected, 'a non-empty test split');
  assert.equal(e.found, 'none: every class has fewer than 5 images, and every 5th image of a class is held out');
  // Another fraction, stated by its own rule.
  const dir3 = makeFolder({ a: greys(3), b: greys(1) });
  const e3 = throwsFormat(() => loadPngFolder(dir3, { testFraction: 0.3 }), dir3, /non-empty test split/);
  assert.equal(
    e3.found,
    'none: every class has fewer than 4 images, and the first image of a class held out is its 4th (testFraction 0.3)',
  );
  // A fraction so close to 1 that every image is held out empties the train split instead.
  const all = throwsFormat(() => loadPngFolder(makeFolder({ a: greys(1) }), { testFraction: 0.9999999999 }), 'folder-');
  assert.equal(all.expected, 'a non-empty train split');
  assert.match(all.found, /^none: testFraction 0\.9999999999 holds out every one of the 1 images/);
});

test('one class of 5 images is enough: its 5th image is the test split, as before', () => {
  const ds = loadPngFolder(makeFolder({ a: greys(4), b: greys(5, 100) }));
  assert.deepEqual([ds.train.n, ds.test.n], [8, 1]);
  assert.deepEqual([...ds.test.labels], [1]);
  assert.equal(ds.test.images[0], Math.fround(104 / 255)); // b/img4.png
});

test('the decoded size cap counts RGBA and float32 bytes of every image, before decoding', () => {
  const files = { a: greys(5) };
  // 5 images × 3×2 pixels × PNG_DECODED_BYTES_PER_PIXEL.
  const bytes = 5 * 6 * PNG_DECODED_BYTES_PER_PIXEL;
  assert.equal(loadPngFolder(makeFolder(files), { maxBytes: bytes }).train.n, 4);
  const dir = makeFolder(files);
  const e = throwsFormat(() => loadPngFolder(dir, { maxBytes: bytes - 1 }), dir, /decoded size cap/);
  assert.equal(e.found, `5 images of 3×2, ${bytes} bytes decoded (16 bytes a pixel: RGBA + float32)`);
  assert.equal(PNG_MAX_BYTES, PNG_MAX_TOTAL_PIXELS * PNG_DECODED_BYTES_PER_PIXEL, 'the default byte cap admits the default pixel cap');
});

/** An Adam7-interlaced 8-bit grey PNG, w×h, grey v(x, y); `idat` replaces the image data (pngjs cannot write interlaced PNGs). */
function interlacedGrey(w: number, h: number, v: (x: number, y: number) => number, idat?: Buffer): Buffer {
  const raw: number[] = [];
  for (const [x0, y0, dx, dy] of [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ] as const) {
    if (w <= x0 || h <= y0) continue;
    for (let y = y0; y < h; y += dy) {
      raw.push(0); // filter type None
      for (let x = x0; x < w; x += dx) raw.push(v(x, y));
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  ihdr[12] = 1; // Adam7
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', idat ?? deflateSync(Buffer.from(raw))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('interlaced PNGs decode as before, but one whose data inflates past its declared size is refused', () => {
  const value = (x: number, y: number) => 10 * y + x + 1;
  const ok = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`i${i}.png`, interlacedGrey(11, 9, value)]));
  const ds = loadPngFolder(makeFolder({ a: ok }));
  assert.deepEqual([ds.train.n, ds.train.width, ds.train.height, ds.train.channels], [4, 11, 9, 1]);
  assert.deepEqual(
    [...ds.test.images],
    Array.from({ length: 99 }, (_, p) => Math.fround(value(p % 11, Math.floor(p / 11)) / 255)),
  );
  // 3×2 grey interlaced holds 10 bytes of filtered data; this one inflates to 32 MiB.
  const bomb = interlacedGrey(3, 2, value, deflateSync(Buffer.alloc(32 * 1024 * 1024)));
  const dir = makeFolder({ a: { 'bomb.png': bomb } });
  const e = throwsFormat(() => loadPngFolder(dir), 'bomb.png');
  assert.equal(e.expected, 'at most 10 bytes of interlaced image data after inflating (3×2, 8 bits a pixel)');
});
