/** Builders for small data files, used by the data loaders' tests (not part of the public API). */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import assert from 'node:assert/strict';
import { DataFormatError } from '@advlab/core';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';

/** A fresh temp directory; call the returned cleanup in an `after` hook. */
export function makeTempDir(prefix = 'advlab-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const CODES = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e } as const;
const SIZES = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 } as const;

/** Bytes of an IDX file with the given dtype, dims and values (values.length should be prod(dims)). */
export function idxBytes(dtype: keyof typeof CODES, dims: number[], values: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = CODES[dtype];
  header[3] = dims.length;
  dims.forEach((d, i) => {
    header.writeUInt32BE(d >>> 0, 4 + 4 * i);
  });
  const body = Buffer.alloc(values.length * SIZES[dtype]);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (dtype === 'u8') body.writeUInt8(v, i);
    else if (dtype === 'i8') body.writeInt8(v, i);
    else if (dtype === 'i16') body.writeInt16BE(v, 2 * i);
    else if (dtype === 'i32') body.writeInt32BE(v, 4 * i);
    else if (dtype === 'f32') body.writeFloatBE(v, 4 * i);
    else body.writeDoubleBE(v, 8 * i);
  }
  return Buffer.concat([header, body]);
}

export interface IdxFixture {
  nTrain?: number;
  nTest?: number;
  height?: number;
  width?: number;
  numClasses?: number;
  gzip?: boolean;
  /** Override label count of the train labels file. */
  trainLabelCount?: number;
}

/** Writes the four MNIST-style IDX files into dir. Pixel j of image i is (i*7 + j*3) % 256; label i % numClasses. */
export function writeIdxDataset(dir: string, f: IdxFixture = {}): void {
  const { nTrain = 3, nTest = 2, height = 2, width = 2, numClasses = 3, gzip = false } = f;
  mkdirSync(dir, { recursive: true });
  const put = (name: string, buf: Buffer) => writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(buf) : buf);
  const images = (n: number) =>
    Array.from({ length: n * height * width }, (_, k) => (Math.floor(k / (height * width)) * 7 + (k % (height * width)) * 3) % 256);
  const labels = (n: number) => Array.from({ length: n }, (_, i) => i % numClasses);
  put('train-images-idx3-ubyte', idxBytes('u8', [nTrain, height, width], images(nTrain)));
  put('train-labels-idx1-ubyte', idxBytes('u8', [f.trainLabelCount ?? nTrain], labels(f.trainLabelCount ?? nTrain)));
  put('t10k-images-idx3-ubyte', idxBytes('u8', [nTest, height, width], images(nTest)));
  put('t10k-labels-idx1-ubyte', idxBytes('u8', [nTest], labels(nTest)));
}

/** One CIFAR-10 record: label byte, then R, G, B planes of 32×32, pixel value = f(channel, pixel index). */
export function cifarRecord(label: number, f: (c: number, p: number) => number = (c, p) => (c * 50 + p) % 256): Buffer {
  const rec = Buffer.alloc(3073);
  rec[0] = label;
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) rec[1 + c * 1024 + p] = f(c, p);
  return rec;
}

/** Writes data_batch_1.bin (labels = train) and test_batch.bin (labels = test). */
export function writeCifarDataset(dir: string, train: number[] = [0, 1, 2], test: number[] = [3, 9]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'data_batch_1.bin'), Buffer.concat(train.map((l) => cifarRecord(l))));
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat(test.map((l) => cifarRecord(l))));
}

/** PNG bytes of a width×height image whose RGBA at (x, y) is px(x, y). */
export function pngBytes(width: number, height: number, px: (x: number, y: number) => [number, number, number, number?]): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = px(x, y);
      const o = 4 * (y * width + x);
      png.data[o] = r;
      png.data[o + 1] = g;
      png.data[o + 2] = b;
      png.data[o + 3] = a;
    }
  }
  return PNG.sync.write(png);
}

/** Asserts fn throws a DataFormatError whose message names the file (and matches re, if given). */
export function throwsFormat(fn: () => unknown, file: string, re?: RegExp): DataFormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DataFormatError, `expected DataFormatError for ${file}, got ${String(err)}`);
  assert.equal(err.code, 'E_DATA_FORMAT');
  assert.ok(err.message.includes(basename(file)), `message should name the file: ${err.message}`);
  if (re) assert.match(err.message, re);
  return err;
}
