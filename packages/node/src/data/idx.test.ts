import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { DataFormatError, DataMissingError } from '@advlab/core';
import { IDX_MAX_BYTES, loadIdxDataset, readIdx, readIdxImages, readIdxLabels } from './idx.ts';
import { idxBytes, makeTempDir, writeIdxDataset, throwsFormat } from './testing.ts';

const tmp = makeTempDir();
after(tmp.cleanup);
let counter = 0;
function put(name: string, bytes: Uint8Array): string {
  const p = join(tmp.dir, `${counter++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}

// 3 images of 2×2 u8.
const PIXELS = [0, 1, 2, 255, 10, 20, 30, 40, 128, 64, 32, 16];
const VALID = idxBytes('u8', [3, 2, 2], PIXELS);

describe('readIdx: valid files', () => {
  test('u8 images, raw and gzip, give the same dims and data', () => {
    for (const bytes of [VALID, gzipSync(VALID)]) {
      const p = put('img.idx', bytes);
      const r = readIdx(p);
      assert.equal(r.dtype, 'u8');
      assert.deepEqual(r.dims, [3, 2, 2]);
      assert.ok(r.data instanceof Uint8Array);
      assert.deepEqual([...r.data], PIXELS);
    }
  });

  test('multi-byte dtypes are big-endian', () => {
    const cases = [
      ['i8', [-128, -1, 0, 127], Int8Array],
      ['i16', [-32768, -2, 258, 32767], Int16Array],
      ['i32', [-2147483648, -3, 16909060, 2147483647], Int32Array],
      ['f32', [-1.5, 0, 3.25, 1e10], Float32Array],
      ['f64', [-1e-300, Math.PI, 0, 1e300], Float64Array],
    ] as const;
    for (const [dtype, values, Ctor] of cases) {
      const bytes = idxBytes(dtype, [2, 2], values);
      for (const b of [bytes, gzipSync(bytes)]) {
        const r = readIdx(put(`${dtype}.idx`, b));
        assert.equal(r.dtype, dtype);
        assert.deepEqual(r.dims, [2, 2]);
        assert.ok(r.data instanceof Ctor, `${dtype} → ${Ctor.name}`);
        assert.deepEqual([...r.data], [...new Ctor(values)]);
      }
    }
  });

  test('readIdxImages scales to [0,1] with channels 1; readIdxLabels returns Int32Array', () => {
    const img = readIdxImages(put('img.idx', VALID));
    assert.deepEqual([img.n, img.height, img.width, img.channels], [3, 2, 2, 1]);
    assert.ok(img.images instanceof Float32Array);
    assert.deepEqual(
      [...img.images],
      PIXELS.map((v) => Math.fround(v / 255)),
    );
    const labels = readIdxLabels(put('lab.idx', gzipSync(idxBytes('u8', [4], [0, 9, 3, 9]))), 10);
    assert.ok(labels instanceof Int32Array);
    assert.deepEqual([...labels], [0, 9, 3, 9]);
  });

  test('a gzip file with a long stored file name still has its header found', () => {
    // FNAME pushes the deflate data ~60 KiB into the file, past the probe's first steps.
    const name = Buffer.alloc(60000, 0x61);
    const head = Buffer.from([0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 0xff]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(VALID), 0);
    trailer.writeUInt32LE(VALID.length, 4);
    const gz = Buffer.concat([head, name, Buffer.from([0]), deflateRawSync(VALID), trailer]);
    const r = readIdx(put('fname.idx.gz', gz));
    assert.deepEqual(r.dims, [3, 2, 2]);
    assert.deepEqual([...r.data], PIXELS);
  });

  test('an exactly-full gzip stream is accepted (no off-by-one in the output cap)', () => {
    const big = idxBytes('u8', [5000], new Uint8Array(5000).fill(7));
    assert.equal(readIdx(put('exact.gz', gzipSync(big))).data.length, 5000);
  });
});

describe('readIdx: malformed input', () => {
  test('truncation at every offset (raw) throws DataFormatError naming the file', () => {
    for (let cut = 0; cut < VALID.length; cut++) {
      const p = put('trunc-raw.idx', VALID.subarray(0, cut));
      throwsFormat(() => readIdx(p), p);
      throwsFormat(() => readIdxImages(p), p);
    }
  });

  test('truncation at every offset (gzip) throws DataFormatError naming the file', () => {
    const gz = gzipSync(VALID);
    for (let cut = 0; cut < gz.length; cut++) {
      const p = put('trunc.idx.gz', gz.subarray(0, cut));
      throwsFormat(() => readIdx(p), p);
    }
    // A labels file too, with a multi-byte dtype for good measure.
    const lab = gzipSync(idxBytes('i32', [3], [1, 2, 3]));
    for (let cut = 0; cut < lab.length; cut++) {
      const p = put('trunc-i32.idx.gz', lab.subarray(0, cut));
      throwsFormat(() => readIdx(p), p);
    }
  });

  test('truncating the decompressed content inside a complete gzip stream is caught', () => {
    for (let cut = 0; cut < VALID.length; cut++) {
      const p = put('short-content.gz', gzipSync(VALID.subarray(0, cut)));
      throwsFormat(() => readIdx(p), p);
    }
  });

  test('wrong magic', () => {
    const bad = Buffer.from(VALID);
    bad[0] = 0x01;
    const p = put('magic.idx', bad);
    throwsFormat(() => readIdx(p), p, /magic/);
    bad[0] = 0;
    bad[1] = 0x08;
    const q = put('magic2.idx.gz', gzipSync(bad));
    throwsFormat(() => readIdx(q), q, /magic.*after gunzip/);
  });

  test('unknown dtype byte', () => {
    for (const code of [0x00, 0x0a, 0x0f, 0xff]) {
      const bad = Buffer.from(VALID);
      bad[2] = code;
      const p = put('dtype.idx', bad);
      const e = throwsFormat(() => readIdx(p), p, /dtype/);
      assert.ok(e.found.includes(code.toString(16).toUpperCase().padStart(2, '0')), e.message);
    }
  });

  test('ndims 0 or above the limit', () => {
    for (const nd of [0, 5, 255]) {
      const bad = Buffer.from(VALID);
      bad[3] = nd;
      const p = put('ndims.idx', bad);
      throwsFormat(() => readIdx(p), p, /dimensions/);
    }
  });

  test('absurd declared size is rejected with the cap named, without allocating', () => {
    const header = idxBytes('u8', [2 ** 31, 2 ** 31], []);
    const raw = put('absurd.idx', Buffer.concat([header, Buffer.alloc(10)]));
    const gz = put('absurd.idx.gz', gzipSync(Buffer.concat([header, Buffer.alloc(10)])));
    const huge = put('absurd-f64.idx', idxBytes('f64', [2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1], []));
    const before = process.memoryUsage().arrayBuffers;
    for (const p of [raw, gz, huge]) {
      const e = throwsFormat(() => readIdx(p), p, /size cap/);
      assert.ok(e.expected.includes(String(IDX_MAX_BYTES)), e.message);
    }
    assert.match(throwsFormat(() => readIdx(raw), raw).found, /4611686018427387916 bytes/); // 2^62 + 12, exact (BigInt)
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
  });

  test('the size cap counts the float32 images and int32 labels a reader builds, checked on the header before allocating', () => {
    // 60000×28×28 u8 is 47 MB on disk but 188 MB as float32: a 100 MB cap refuses it from the header alone,
    // though the body is missing (the files hold nothing but the header).
    const header = idxBytes('u8', [60000, 28, 28], []);
    const raw = put('declared-images-idx3-ubyte', header);
    const gz = put('declared-images-idx3-ubyte.gz', gzipSync(header));
    const before = process.memoryUsage().arrayBuffers;
    for (const p of [raw, gz]) {
      const e = throwsFormat(() => readIdxImages(p, { maxBytes: 100_000_000 }), p, /IDX size cap/);
      assert.match(e.found, /^a header declaring 188160000 bytes \(179\.4 MiB\) decoded \(header 16 \+ 60000×28×28 u8 as float32/);
      assert.ok(e.expected.includes('100000000 bytes'), e.message);
      // readIdx keeps u8, so the same cap passes the header and the missing body is what is reported.
      throwsFormat(() => readIdx(p, { maxBytes: 100_000_000 }), p, /47040016 bytes/);
    }
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
    const labels = put('declared-labels-idx1-ubyte.gz', gzipSync(idxBytes('u8', [300000], [])));
    const e = throwsFormat(() => readIdxLabels(labels, 10, { maxBytes: 1_000_000 }), labels, /IDX size cap/);
    assert.match(e.found, /1200000 bytes .*300000 u8 as int32/);
    // The boundary is exact: 3 images of 2×2 are 12 floats = 48 bytes.
    const img = put('img.idx.gz', gzipSync(VALID));
    assert.equal(readIdxImages(img, { maxBytes: 48 }).images.length, 12);
    throwsFormat(() => readIdxImages(img, { maxBytes: 47 }), img, /found a header declaring 48 bytes decoded/);
  });

  test('trailing extra bytes (raw and gzip)', () => {
    const extra = Buffer.concat([VALID, Buffer.from([1, 2, 3])]);
    const p = put('trailing.idx', extra);
    throwsFormat(() => readIdx(p), p, /expected 28 bytes.*found 31 bytes/);
    const q = put('trailing.idx.gz', gzipSync(extra));
    throwsFormat(() => readIdx(q), q, /more than 28 bytes/);
  });

  test('gzip bomb: decoded size over the cap is refused, and extra decoded data is capped', () => {
    // A valid IDX whose decoded size (2 MiB) exceeds a 1 MiB cap.
    const body = new Uint8Array(2 * 1024 * 1024);
    const p = put('bomb.idx.gz', gzipSync(idxBytes('u8', [2, 1024, 1024], body)));
    const e = throwsFormat(() => readIdx(p, { maxBytes: 1024 * 1024 }), p, /size cap/);
    assert.match(e.found, /2097168 bytes/);
    // Header declares 4 bytes; stream inflates to 32 MiB of zeros: refused with output capped at the declared size.
    const bomb = gzipSync(Buffer.concat([idxBytes('u8', [4], [1, 2, 3, 4]), Buffer.alloc(32 * 1024 * 1024)]));
    const q = put('bomb2.idx.gz', bomb);
    throwsFormat(() => readIdx(q), q, /more than 12 bytes/);
  });

  test('corrupt gzip (bad CRC, garbage after the magic)', () => {
    const gz = Buffer.from(gzipSync(VALID));
    gz[gz.length - 6]! ^= 0xff; // CRC32
    const p = put('crc.gz', gz);
    throwsFormat(() => readIdx(p), p, /gzip/);
    const q = put('garbage.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]));
    throwsFormat(() => readIdx(q), q, /gzip/);
  });

  test('missing file → DataMissingError; directory → DataFormatError', () => {
    const missing = join(tmp.dir, 'nope-idx3-ubyte');
    assert.throws(
      () => readIdx(missing),
      (e: unknown) => e instanceof DataMissingError && e.message.includes('nope-idx3-ubyte'),
    );
    const d = join(tmp.dir, 'a-dir.idx');
    mkdirSync(d);
    throwsFormat(() => readIdx(d), d, /regular file/);
  });

  test('readIdxImages / readIdxLabels check dtype, ndims and emptiness', () => {
    const i16 = put('i16-images.idx', idxBytes('i16', [1, 2, 2], [1, 2, 3, 4]));
    throwsFormat(() => readIdxImages(i16), i16, /u8/);
    const twoD = put('2d-images.idx', idxBytes('u8', [2, 2], [1, 2, 3, 4]));
    throwsFormat(() => readIdxImages(twoD), twoD, /3 dimensions/);
    const empty = put('empty-images.idx', idxBytes('u8', [0, 28, 28], []));
    throwsFormat(() => readIdxImages(empty), empty, /at least one image/);
    const lab2d = put('2d-labels.idx', idxBytes('u8', [2, 1], [1, 2]));
    throwsFormat(() => readIdxLabels(lab2d, 10), lab2d, /1 dimensions/);
  });

  test('label out of range', () => {
    const p = put('labels-idx1-ubyte', idxBytes('u8', [4], [0, 1, 10, 2]));
    const e = throwsFormat(() => readIdxLabels(p, 10), p, /labels in \[0, 10\)/);
    assert.match(e.found, /label 10 at index 2/);
  });
});

describe('loadIdxDataset', () => {
  test('loads raw and gzip folders; infers numClasses; names the classes', () => {
    for (const gzip of [false, true]) {
      const dir = join(tmp.dir, `ds-${gzip}`);
      writeIdxDataset(dir, { nTrain: 5, nTest: 4, height: 3, width: 2, numClasses: 4, gzip });
      const ds = loadIdxDataset(dir, 'tiny');
      assert.equal(ds.name, 'tiny');
      assert.equal(ds.numClasses, 4);
      assert.deepEqual(ds.classNames, ['0', '1', '2', '3']);
      assert.deepEqual([ds.train.n, ds.train.height, ds.train.width, ds.train.channels], [5, 3, 2, 1]);
      assert.equal(ds.test.n, 4);
      assert.deepEqual([...ds.train.labels], [0, 1, 2, 3, 0]);
      assert.equal(ds.train.images.length, 5 * 6);
      assert.equal(ds.train.images[6 + 1], Math.fround(10 / 255)); // image 1, pixel 1: (7 + 3) % 256
    }
  });

  test('explicit classNames set numClasses and validate labels', () => {
    const dir = join(tmp.dir, 'ds-names');
    writeIdxDataset(dir, { numClasses: 3 });
    const ds = loadIdxDataset(dir, 'x', { classNames: ['a', 'b', 'c', 'd'] });
    assert.equal(ds.numClasses, 4);
    assert.deepEqual(ds.classNames, ['a', 'b', 'c', 'd']);
    assert.throws(
      () => loadIdxDataset(dir, 'x', { numClasses: 2 }),
      (e: unknown) => e instanceof DataFormatError && /train-labels-idx1-ubyte/.test(e.message),
    );
  });

  test('label count ≠ image count: the error names both files', () => {
    const dir = join(tmp.dir, 'ds-count');
    writeIdxDataset(dir, { nTrain: 3, trainLabelCount: 2, gzip: true });
    const e = throwsFormat(() => loadIdxDataset(dir, 'x'), 'train-labels-idx1-ubyte.gz', /3 labels/);
    assert.ok(e.message.includes('train-images-idx3-ubyte.gz'), e.message);
    assert.match(e.found, /2 labels/);
  });

  test('missing dir or file → DataMissingError with the hint', () => {
    assert.throws(
      () => loadIdxDataset(join(tmp.dir, 'no-such-dir'), 'x', { hint: 'install it' }),
      (e: unknown) => e instanceof DataMissingError && e.message.includes('no-such-dir') && e.message.includes('install it'),
    );
    const dir = join(tmp.dir, 'ds-partial');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), VALID);
    assert.throws(
      () => loadIdxDataset(dir, 'x'),
      (e: unknown) => e instanceof DataMissingError && e.message.includes('train-labels-idx1-ubyte'),
    );
  });

  test('test images of another size than train', () => {
    const dir = join(tmp.dir, 'ds-size');
    writeIdxDataset(dir, { height: 2, width: 2 });
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes('u8', [2, 3, 3], new Uint8Array(18)));
    throwsFormat(() => loadIdxDataset(dir, 'x'), 't10k-images-idx3-ubyte', /2×2 images/);
  });
});

/** Writes a 3-class-or-so IDX folder whose train labels are `train` (one 2×2 image each) and test labels `test`. */
function labelledFolder(name: string, train: number[], test: number[] = [0, 1]): string {
  const dir = join(tmp.dir, name);
  writeIdxDataset(dir, { nTrain: train.length, nTest: test.length });
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes('u8', [train.length], train));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes('u8', [test.length], test));
  return dir;
}

/** Labels 0..9 repeated to 20, with a stray 200 at index 17. */
const STRAY = Array.from({ length: 20 }, (_, i) => (i === 17 ? 200 : i % 10));

describe('loadIdxDataset: the class count', () => {
  test('without a declaration, a stray label is refused: the error names the file, the label and the missing classes', () => {
    const dir = labelledFolder('stray', STRAY);
    const e = throwsFormat(() => loadIdxDataset(dir), join(dir, 'train-labels-idx1-ubyte'));
    assert.ok(e.file.endsWith('train-labels-idx1-ubyte'), e.file);
    assert.match(e.expected, /every label 0\.\.200 to occur in the training labels/);
    assert.match(e.found, /^label 200 at index 17 while labels 10\.\.199 never occur in train-labels-idx1-ubyte/);
    assert.ok(e.found.includes(join(dir, 'classes.txt')), e.found);
  });

  test('a class seen only in the test labels is refused, naming the test labels file', () => {
    const dir = labelledFolder('test-only', [0, 1, 3, 0], [4, 1]);
    const e = throwsFormat(() => loadIdxDataset(dir), 't10k-labels-idx1-ubyte');
    assert.match(e.found, /^label 4 at index 0 while labels 2, 4 never occur in train-labels-idx1-ubyte/);
  });

  test('classes.txt declares the count and the names; labels beyond it are refused naming both files', () => {
    const dir = labelledFolder('declared', [0, 1, 0, 1], [1, 0]);
    writeFileSync(join(dir, 'classes.txt'), 'cat\r\ndog\r\n  bird  \n\n\n');
    const ds = loadIdxDataset(dir);
    assert.equal(ds.numClasses, 3); // 'bird' never occurs, and need not: it is declared
    assert.deepEqual(ds.classNames, ['cat', 'dog', 'bird']);
    assert.deepEqual([...ds.train.labels], [0, 1, 0, 1]);
    writeFileSync(join(dir, 'classes.txt'), 'cat\n');
    const e = throwsFormat(() => loadIdxDataset(dir), 'train-labels-idx1-ubyte');
    assert.equal(e.expected, `labels in [0, 1) (1 class declared in ${join(dir, 'classes.txt')})`);
    assert.equal(e.found, 'label 1 at index 1');
    // An explicit declaration by the caller wins over the file.
    assert.equal(loadIdxDataset(dir, 'x', { numClasses: 2 }).numClasses, 2);
  });

  test('classes.txt lets a dataset with a large label through, as declared', () => {
    const dir = labelledFolder('stray-declared', STRAY);
    writeFileSync(join(dir, 'classes.txt'), Array.from({ length: 201 }, (_, i) => `c${i}`).join('\n'));
    const ds = loadIdxDataset(dir);
    assert.equal(ds.numClasses, 201);
    assert.equal(ds.train.labels[17], 200);
  });

  test('a malformed classes.txt names itself: blank line inside, duplicate, empty, too many', () => {
    const dir = labelledFolder('bad-classes', [0, 1], [0]);
    const file = join(dir, 'classes.txt');
    const cases: [string, RegExp][] = [
      ['a\n\nb\n', /blank lines only at the end.*found an empty line 2/],
      ['a\nb\na\n', /distinct class names, found "a" on lines 1 and 3/],
      ['\n \n', /one class name per line, found no class names/],
      [Array.from({ length: 257 }, (_, i) => `c${i}`).join('\n'), /at most 256 class names.*found 257 names/],
    ];
    for (const [text, re] of cases) {
      writeFileSync(file, text);
      throwsFormat(() => loadIdxDataset(dir), file, re);
    }
  });
});

describe('loadIdxDataset: empty splits', () => {
  test('an images file declaring 0 images is an empty split, named with its file', () => {
    for (const [split, base] of [
      ['test', 't10k-images-idx3-ubyte'],
      ['train', 'train-images-idx3-ubyte'],
    ] as const) {
      const dir = join(tmp.dir, `empty-${split}`);
      writeIdxDataset(dir, { gzip: true });
      writeFileSync(join(dir, `${base}.gz`), gzipSync(idxBytes('u8', [0, 2, 2], [])));
      const e = throwsFormat(() => loadIdxDataset(dir, 'x', { numClasses: 3 }), `${base}.gz`);
      assert.equal(e.file, join(dir, `${base}.gz`));
      assert.equal(e.expected, `a non-empty ${split} split`);
      assert.equal(e.found, 'none: the file declares 0 images (dims [0, 2, 2])');
    }
  });
});
