/**
 * CIFAR-10, binary version: data_batch_1.bin .. data_batch_5.bin and test_batch.bin, each a sequence of
 * 3073-byte records (1 label byte 0..9, then the 1024 R, 1024 G and 1024 B bytes of a 32×32 image,
 * row-major), and an optional batches.meta.txt with one class name per line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataFormatError, DataMissingError, type Dataset, type ImageSet } from '@advlab/core';
import { errText, fmtBytes, GiB, readFileCapped, statFile, statPath } from './files.ts';

/** The standard CIFAR-10 class names (label k is `CIFAR10_CLASSES[k]`), used when a folder has no batches.meta.txt. */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);
/** Bytes per record of a binary batch file: one label byte, then 3 × 32 × 32 pixel bytes. */
export const CIFAR10_RECORD_BYTES = 3073;
const SIDE = 32;
const PLANE = SIDE * SIDE;
/** Largest batch file accepted by default (the real ones are 30730000 bytes). */
export const CIFAR10_MAX_FILE_BYTES = 1 * GiB;
/** Bytes one record takes once decoded: 3 × 32 × 32 float32 pixels and an int32 label (4 × a record's file bytes). */
export const CIFAR10_DECODED_RECORD_BYTES = 3 * PLANE * 4 + 4;
/** Largest decoded batch file or split accepted by default (CIFAR-10's 50000 training records decode to 615 MB). */
export const CIFAR10_MAX_BYTES = 2 * GiB;

/** Options of the CIFAR-10 readers. */
export interface Cifar10Options {
  /** Cap on each batch file's size in bytes; default CIFAR10_MAX_FILE_BYTES. */
  maxFileBytes?: number;
  /**
   * Cap on the decoded size in bytes (CIFAR10_DECODED_RECORD_BYTES a record) of one batch file, and of the
   * training split, which is one array over all data_batch files; default CIFAR10_MAX_BYTES.
   */
  maxBytes?: number;
}

/** Checks a decoded size against the cap before the arrays are allocated. */
function checkDecoded(where: string, records: number, what: string, opts: Cifar10Options): void {
  const maxBytes = opts.maxBytes ?? CIFAR10_MAX_BYTES;
  const bytes = records * CIFAR10_DECODED_RECORD_BYTES;
  if (bytes > maxBytes) {
    throw new DataFormatError(
      where,
      `at most ${fmtBytes(maxBytes)} decoded (the CIFAR-10 size cap)`,
      `${records} ${what}, ${fmtBytes(bytes)} decoded (${CIFAR10_DECODED_RECORD_BYTES} bytes a record as float32 + int32 label)`,
    );
  }
}

/** The size of a batch file after checking it holds whole records (at least one). */
function batchFileSize(path: string, opts: Cifar10Options): number {
  const size = statFile(path, opts.maxFileBytes ?? CIFAR10_MAX_FILE_BYTES);
  if (size === 0 || size % CIFAR10_RECORD_BYTES !== 0) {
    const whole = Math.floor(size / CIFAR10_RECORD_BYTES);
    throw new DataFormatError(
      path,
      `a positive multiple of ${CIFAR10_RECORD_BYTES} bytes (1 label + 3×32×32 pixels per record)`,
      `${size} bytes (${whole} whole records + ${size - whole * CIFAR10_RECORD_BYTES} bytes)`,
    );
  }
  return size;
}

/** Decodes the `size`-byte batch file at `path` into `set` from record `at` on (the arrays have room). */
function decodeBatchInto(path: string, size: number, set: ImageSet, at: number): void {
  const buf = readFileCapped(path, size);
  if (buf.length !== size) throw new DataFormatError(path, `${size} bytes`, `${buf.length} bytes (file changed while reading)`);
  const n = size / CIFAR10_RECORD_BYTES;
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 255;
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR10_RECORD_BYTES;
    const label = buf[rec]!;
    if (label >= 10) {
      throw new DataFormatError(path, 'labels in [0, 10)', `label ${label} in record ${i} (byte offset ${rec})`);
    }
    set.labels[at + i] = label;
    const out = (at + i) * PLANE * 3;
    for (let c = 0; c < 3; c++) {
      const src = rec + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++) set.images[out + p * 3 + c] = scale[buf[src + p]!]!;
    }
  }
}

function emptySet(n: number): ImageSet {
  return { images: new Float32Array(n * PLANE * 3), labels: new Int32Array(n), n, height: SIDE, width: SIDE, channels: 3 };
}

/** Reads one CIFAR-10 batch file into an NHWC float ImageSet (32×32×3). */
export function readCifar10Batch(path: string, opts: Cifar10Options = {}): ImageSet {
  const size = batchFileSize(path, opts);
  const n = size / CIFAR10_RECORD_BYTES;
  checkDecoded(path, n, 'records', opts);
  const set = emptySet(n);
  decodeBatchInto(path, size, set, 0);
  return set;
}

/** The data_batch_K.bin files in dir, sorted by K. */
export function cifar10TrainFiles(dir: string): string[] {
  return readdirSync(dir)
    .map((name) => /^data_batch_(\d+)\.bin$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(dir, m[0]));
}

/** True if dir holds a file named like a CIFAR batch (`*_batch*.bin`). */
export function hasCifarBatches(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => /_batch.*\.bin$/.test(name));
  } catch {
    return false;
  }
}

function readClassNames(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataFormatError(file, 'a readable text file', errText(e));
  }
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (names.length !== 10) throw new DataFormatError(file, '10 class names, one per line', `${names.length} names`);
  return names;
}

/**
 * Loads CIFAR-10 from dir: every data_batch_K.bin present (at least one) as train, test_batch.bin as
 * test; class names from batches.meta.txt when present, else the standard ones.
 */
export function loadCifar10(dir: string, opts: Cifar10Options = {}): Dataset {
  const st = statPath(dir);
  if (!st.isDirectory()) throw new DataFormatError(dir, 'a CIFAR-10 directory', 'a file');
  const trainFiles = cifar10TrainFiles(dir);
  if (trainFiles.length === 0) throw new DataMissingError(join(dir, 'data_batch_1.bin'), 'CIFAR-10 binary version');
  const testFile = join(dir, 'test_batch.bin');
  if (!existsSync(testFile)) throw new DataMissingError(testFile, 'CIFAR-10 binary version');
  const maxFileBytes = opts.maxFileBytes ?? CIFAR10_MAX_FILE_BYTES;
  // Empty splits are named as such before the per-file rule (a positive number of records) would blame a file.
  if (trainFiles.every((f) => statFile(f, maxFileBytes) === 0)) {
    const names = trainFiles.map((f) => basename(f)).join(', ');
    throw new DataFormatError(dir, 'a non-empty train split', `none: every training batch file is empty (${names})`);
  }
  if (statFile(testFile, maxFileBytes) === 0) {
    throw new DataFormatError(testFile, 'a non-empty test split', 'none: test_batch.bin is empty (0 records)');
  }
  // One array for the training split, sized and checked against the cap before any batch is decoded.
  const trainSizes = trainFiles.map((f) => batchFileSize(f, opts));
  const nTrain = trainSizes.reduce((a, b) => a + b, 0) / CIFAR10_RECORD_BYTES;
  checkDecoded(dir, nTrain, `training records in ${trainFiles.length} data_batch files`, opts);
  const testSize = batchFileSize(testFile, opts);
  checkDecoded(testFile, testSize / CIFAR10_RECORD_BYTES, 'records', opts);
  const train = emptySet(nTrain);
  let at = 0;
  trainFiles.forEach((f, i) => {
    decodeBatchInto(f, trainSizes[i]!, train, at);
    at += trainSizes[i]! / CIFAR10_RECORD_BYTES;
  });
  const test = emptySet(testSize / CIFAR10_RECORD_BYTES);
  decodeBatchInto(testFile, testSize, test, 0);
  const metaFile = join(dir, 'batches.meta.txt');
  const classNames = existsSync(metaFile) ? readClassNames(metaFile) : [...CIFAR10_CLASSES];
  return { name: basename(dir) || 'cifar10', train, test, numClasses: 10, classNames };
}
