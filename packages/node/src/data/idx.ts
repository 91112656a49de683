/**
 * IDX reader (the MNIST / Fashion-MNIST file format), raw or gzip-compressed.
 *
 * Layout: 2 zero bytes, a dtype byte, a ndims byte, ndims big-endian uint32 sizes, then the values
 * (big-endian for multi-byte types), row-major. The reader checks the header, the declared decoded size
 * against a cap and the exact file length *before* it reads or decompresses the body, so a malformed or
 * hostile file fails with a DataFormatError and never with a RangeError or an out-of-memory crash.
 */
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';
import { constants as zconst, gunzipSync } from 'node:zlib';
import { DataFormatError, DataMissingError, type Dataset, type ImageSet } from '@advlab/core';
import { errText, fmtBytes, GiB, readFileCapped, readPrefix, statFile, statPath } from './files.ts';

/** The element types an IDX file can declare (dtype bytes 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E). */
export type IdxDtype = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';
/** The typed array an IdxDtype decodes to (u8 → Uint8Array, ..., f64 → Float64Array), in host byte order. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
/** A decoded IDX file: `data` holds prod(dims) values row-major in a fresh buffer the caller owns. */
export interface IdxArray {
  dtype: IdxDtype;
  dims: number[];
  data: IdxData;
}

/**
 * Largest decoded IDX file the readers accept by default: 2 GiB. "Decoded" is the larger of the decompressed
 * file (header + body) and the array handed to the caller, which for readIdxImages (float32) and readIdxLabels
 * (int32) is 4 bytes a value: a 47 MB u8 image file becomes a 188 MB Float32Array.
 */
export const IDX_MAX_BYTES = 2 * GiB;
/** Most dimensions an IDX file may declare. */
export const IDX_MAX_DIMS = 4;
/** How much of a gzip file is inflated, at most, to find the IDX header. */
const GZIP_PROBE_BYTES = 64 * 1024;
/**
 * Output cap of one header probe. Deflate expands at most 1032:1 and the probe grows its input by at most
 * 1 KiB a step, so a step that still lacks the 20-byte header cannot legitimately decode more than about 1 MiB.
 */
const GZIP_PROBE_MAX_OUTPUT = 2 * 1024 * 1024;

const DTYPES: Record<number, { name: IdxDtype; size: number }> = {
  0x08: { name: 'u8', size: 1 },
  0x09: { name: 'i8', size: 1 },
  0x0b: { name: 'i16', size: 2 },
  0x0c: { name: 'i32', size: 4 },
  0x0d: { name: 'f32', size: 4 },
  0x0e: { name: 'f64', size: 8 },
};
const DTYPE_CODES: Record<IdxDtype, number> = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e };
const DTYPE_LIST = 'IDX dtype byte 0x08 (u8), 0x09 (i8), 0x0B (i16), 0x0C (i32), 0x0D (f32) or 0x0E (f64)';

/** Options of `readIdx`. The cap, dtype and ndims are checked on the header: a file breaking one fails before its body is read. */
export interface IdxReadOptions {
  /** Cap on the decoded size in bytes (see IDX_MAX_BYTES); default IDX_MAX_BYTES. */
  maxBytes?: number;
  /** Required dtype, checked on the header before the body is read. */
  dtype?: IdxDtype;
  /** Required number of dimensions, checked on the header before the body is read. */
  ndims?: number;
  /** Appended to DataMissingError messages (e.g. how to install the data). */
  hint?: string;
}

/** The array a reader will build from the body, when it is not the IDX dtype itself (e.g. u8 → float32). */
interface IdxOutput {
  type: string;
  bytesPerValue: number;
}
const FLOAT32_OUT: IdxOutput = { type: 'float32', bytesPerValue: 4 };
const INT32_OUT: IdxOutput = { type: 'int32', bytesPerValue: 4 };

interface IdxHeader {
  dtype: IdxDtype;
  elemSize: number;
  dims: number[];
  headerBytes: number;
  totalBytes: number;
  /** e.g. "header 16 + 60000×28×28 u8" */
  what: string;
}

const hex = (b: number) => `0x${b.toString(16).padStart(2, '0').toUpperCase()}`;

/**
 * Parses the IDX header in `buf`. Returns null when `buf` is a prefix too short to hold the header
 * and `complete` is false; throws DataFormatError for anything malformed. `where` qualifies lengths
 * ("" or " after gunzip").
 */
function parseHeader(
  buf: Uint8Array,
  file: string,
  complete: boolean,
  opts: IdxReadOptions,
  where: string,
  out: IdxOutput | undefined,
): IdxHeader | null {
  const maxBytes = opts.maxBytes ?? IDX_MAX_BYTES;
  const len = buf.length;
  if (complete && len === 0) throw new DataFormatError(file, 'an IDX file (magic 00 00 <dtype> <ndims>)', `an empty file${where}`);
  if (len >= 2 && (buf[0] !== 0 || buf[1] !== 0)) {
    throw new DataFormatError(file, `IDX magic starting with bytes 0x00 0x00${where}`, `${hex(buf[0]!)} ${hex(buf[1]!)}`);
  }
  if (len === 1 && buf[0] !== 0) throw new DataFormatError(file, `IDX magic starting with byte 0x00${where}`, hex(buf[0]!));
  if (len >= 3 && !DTYPES[buf[2]!]) throw new DataFormatError(file, DTYPE_LIST, hex(buf[2]!));
  if (len >= 4 && (buf[3]! < 1 || buf[3]! > IDX_MAX_DIMS)) {
    throw new DataFormatError(file, `1 to ${IDX_MAX_DIMS} dimensions (IDX byte 3)`, `${buf[3]}`);
  }
  if (len < 4) {
    if (!complete) return null;
    throw new DataFormatError(file, `at least 4 bytes (IDX magic)${where}`, `${len} bytes`);
  }
  const { name: dtype, size: elemSize } = DTYPES[buf[2]!]!;
  const ndims = buf[3]!;
  if (opts.dtype !== undefined && opts.dtype !== dtype) {
    throw new DataFormatError(file, `${opts.dtype} data (IDX dtype ${hex(DTYPE_CODES[opts.dtype])})`, `${dtype} (${hex(buf[2]!)})`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (len < headerBytes) {
    if (!complete) return null;
    throw new DataFormatError(file, `${headerBytes} header bytes (4 + 4×${ndims} dims)${where}`, `${len} bytes`);
  }
  const dims: number[] = [];
  let count = 1n;
  for (let i = 0; i < ndims; i++) {
    const o = 4 + 4 * i;
    const d = ((buf[o]! << 24) >>> 0) + (buf[o + 1]! << 16) + (buf[o + 2]! << 8) + buf[o + 3]!;
    dims.push(d);
    count *= BigInt(d);
  }
  const what = `header ${headerBytes} + ${dims.join('×')} ${dtype}`;
  if (opts.ndims !== undefined && opts.ndims !== ndims) {
    throw new DataFormatError(file, `${opts.ndims} dimensions`, `${ndims} dimensions [${dims.join(', ')}]`);
  }
  const total = BigInt(headerBytes) + count * BigInt(elemSize);
  const outBytes = count * BigInt(out?.bytesPerValue ?? elemSize);
  const decoded = outBytes > total ? outBytes : total;
  if (decoded > BigInt(maxBytes)) {
    const as = out ? ` as ${out.type}, ${out.bytesPerValue} bytes a value` : '';
    throw new DataFormatError(
      file,
      `at most ${fmtBytes(maxBytes)} decoded (the IDX size cap)`,
      `a header declaring ${fmtBytes(decoded)} decoded (${what}${as})`,
    );
  }
  return { dtype, elemSize, dims, headerBytes, totalBytes: Number(total), what };
}

function isGzip(prefix: Uint8Array): boolean {
  return prefix.length >= 2 && prefix[0] === 0x1f && prefix[1] === 0x8b;
}

/** Inflates growing prefixes of a gzip file until the IDX header is visible (bounded work and memory). */
function probeGzipHeader(file: string, prefix: Buffer, fileSize: number, opts: IdxReadOptions, out: IdxOutput | undefined): IdxHeader {
  // Additive steps past 1 KiB keep each probe's output small (see GZIP_PROBE_MAX_OUTPUT) even when a long
  // gzip file name pushes the deflate data far into the prefix.
  for (let k = 64; ; k = k < 1024 ? k * 4 : k + 1024) {
    const n = Math.min(k, prefix.length);
    let decoded: Buffer;
    try {
      // Z_SYNC_FLUSH: return what a truncated input decodes to instead of failing.
      decoded = gunzipSync(prefix.subarray(0, n), { finishFlush: zconst.Z_SYNC_FLUSH, maxOutputLength: GZIP_PROBE_MAX_OUTPUT });
    } catch (e) {
      throw new DataFormatError(file, 'a valid gzip stream', errText(e));
    }
    const complete = n >= fileSize;
    const hdr = parseHeader(decoded, file, complete, opts, ' after gunzip', out);
    if (hdr) return hdr;
    if (n >= prefix.length) {
      if (complete) throw new DataFormatError(file, 'an IDX header after gunzip', `${decoded.length} bytes`); // unreachable: parseHeader throws
      throw new DataFormatError(
        file,
        `an IDX header within the first ${GZIP_PROBE_BYTES} bytes of the gzip stream`,
        `${decoded.length} decoded bytes`,
      );
    }
  }
}

function decodeBody(buf: Uint8Array, hdr: IdxHeader): IdxData {
  const off = hdr.headerBytes;
  const count = (hdr.totalBytes - off) / hdr.elemSize;
  const body = buf.subarray(off, off + count * hdr.elemSize);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (hdr.dtype) {
    case 'u8':
      return new Uint8Array(body); // copy: do not keep the (possibly pooled) file buffer alive
    case 'i8':
      return new Int8Array(new Uint8Array(body).buffer);
    case 'i16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getInt16(2 * i, false);
      return a;
    }
    case 'i32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getInt32(4 * i, false);
      return a;
    }
    case 'f32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getFloat32(4 * i, false);
      return a;
    }
    case 'f64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getFloat64(8 * i, false);
      return a;
    }
  }
}

/**
 * The whole decompressed file (header + body) after every header check; `out` is the array the caller
 * will build from the body, counted against the cap before anything of the body is read.
 */
function readIdxFile(path: string, opts: IdxReadOptions, out?: IdxOutput): { hdr: IdxHeader; buf: Buffer } {
  const maxBytes = opts.maxBytes ?? IDX_MAX_BYTES;
  const fileSize = statFile(path, Number.MAX_SAFE_INTEGER, opts.hint);
  const prefix = readPrefix(path, Math.min(fileSize, GZIP_PROBE_BYTES), opts.hint);
  if (!isGzip(prefix)) {
    const hdr = parseHeader(prefix, path, fileSize <= prefix.length, opts, '', out)!;
    if (fileSize !== hdr.totalBytes) {
      throw new DataFormatError(path, `${hdr.totalBytes} bytes (${hdr.what})`, `${fileSize} bytes`);
    }
    const buf = readFileCapped(path, maxBytes + 64, opts.hint);
    if (buf.length !== hdr.totalBytes) {
      throw new DataFormatError(path, `${hdr.totalBytes} bytes (${hdr.what})`, `${buf.length} bytes (file changed while reading)`);
    }
    return { hdr, buf };
  }
  const hdr = probeGzipHeader(path, prefix, fileSize, opts, out);
  // A gzip stream is never much larger than its content (stored blocks cost 5 bytes per 64 KiB).
  const maxCompressed = hdr.totalBytes + Math.ceil(hdr.totalBytes / 1000) + 64 * 1024;
  if (fileSize > maxCompressed) {
    throw new DataFormatError(
      path,
      `a gzip file of at most ${maxCompressed} bytes for ${hdr.totalBytes} decoded bytes (${hdr.what})`,
      `${fileSize} bytes`,
    );
  }
  const gz = readFileCapped(path, maxCompressed, opts.hint);
  let buf: Buffer;
  try {
    buf = gunzipSync(gz, { maxOutputLength: hdr.totalBytes });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DataFormatError(path, `${hdr.totalBytes} bytes after gunzip (${hdr.what})`, `more than ${hdr.totalBytes} bytes`);
    }
    if (code === 'Z_BUF_ERROR') throw new DataFormatError(path, 'a complete gzip stream', 'a truncated one (unexpected end of file)');
    throw new DataFormatError(path, 'a valid gzip stream', errText(e));
  }
  if (buf.length !== hdr.totalBytes) {
    throw new DataFormatError(path, `${hdr.totalBytes} bytes after gunzip (${hdr.what})`, `${buf.length} bytes`);
  }
  return { hdr, buf };
}

/**
 * Reads an IDX file, raw or gzip (detected by the 1f 8b magic). Throws DataMissingError if the file does
 * not exist and DataFormatError for anything malformed: magic, dtype, ndims, a declared size over
 * `maxBytes`, a length other than exactly header + prod(dims)×sizeof(dtype), a corrupt gzip stream.
 */
export function readIdx(path: string, opts: IdxReadOptions = {}): IdxArray {
  const { hdr, buf } = readIdxFile(path, opts);
  return { dtype: hdr.dtype, dims: hdr.dims, data: decodeBody(buf, hdr) };
}

/** Grey images from an IDX file: NHWC float32 in [0,1], channels 1. */
export type IdxImages = Omit<ImageSet, 'labels'>;

/** The u8 body of a checked IDX file, without copying it. */
function bodyOf({ hdr, buf }: { hdr: IdxHeader; buf: Buffer }): Uint8Array {
  return buf.subarray(hdr.headerBytes, hdr.totalBytes);
}

/** readIdxImages; with `split`, an image file declaring 0 images is reported as that split being empty. */
function decodeIdxImages(path: string, opts: Pick<IdxReadOptions, 'maxBytes' | 'hint'>, split?: 'train' | 'test'): IdxImages {
  const file = readIdxFile(path, { ...opts, dtype: 'u8', ndims: 3 }, FLOAT32_OUT);
  const dims = file.hdr.dims;
  const [n, height, width] = dims as [number, number, number];
  if (n === 0 && split) {
    throw new DataFormatError(path, `a non-empty ${split} split`, `none: the file declares 0 images (dims [${dims.join(', ')}])`);
  }
  if (n < 1 || height < 1 || width < 1) {
    throw new DataFormatError(path, 'at least one image of at least 1×1 pixels', `dims [${dims.join(', ')}]`);
  }
  const u8 = bodyOf(file);
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 255;
  const images = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) images[i] = scale[u8[i]!]!;
  return { images, n, height, width, channels: 1 };
}

/** Reads u8 images [n, height, width] and scales them to [0,1] (channels 1). */
export function readIdxImages(path: string, opts: Pick<IdxReadOptions, 'maxBytes' | 'hint'> = {}): IdxImages {
  return decodeIdxImages(path, opts);
}

/** readIdxLabels; `declaredBy` names where the class count came from, for the out-of-range message. */
function decodeIdxLabels(
  path: string,
  numClasses: number,
  opts: Pick<IdxReadOptions, 'maxBytes' | 'hint'>,
  declaredBy?: string,
): Int32Array {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new DataFormatError(path, 'a class count in 1..256 for u8 labels', String(numClasses));
  }
  const file = readIdxFile(path, { ...opts, dtype: 'u8', ndims: 1 }, INT32_OUT);
  if (file.hdr.dims[0]! < 1) throw new DataFormatError(path, 'at least one label', '0 labels');
  const data = bodyOf(file);
  const labels = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const l = data[i]!;
    if (l >= numClasses) {
      const why = declaredBy ? ` (${numClasses} ${numClasses === 1 ? 'class' : 'classes'} declared in ${declaredBy})` : '';
      throw new DataFormatError(path, `labels in [0, ${numClasses})${why}`, `label ${l} at index ${i}`);
    }
    labels[i] = l;
  }
  return labels;
}

/** Reads u8 labels [n]; every label must be < numClasses (1..256). */
export function readIdxLabels(path: string, numClasses: number, opts: Pick<IdxReadOptions, 'maxBytes' | 'hint'> = {}): Int32Array {
  return decodeIdxLabels(path, numClasses, opts);
}

/** The base names of the four MNIST-layout IDX files; each may also be present gzipped, with a `.gz` suffix. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of `base` or `base.gz` in dir (raw preferred), or undefined. */
export function findIdxFile(dir: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** True if dir holds the IDX training images (raw or .gz). */
export function hasIdxFiles(dir: string): boolean {
  return findIdxFile(dir, IDX_FILES.trainImages) !== undefined;
}

/** The optional file of an IDX folder declaring its classes: one class name per line, label k named on line k + 1. */
export const IDX_CLASSES_FILE = 'classes.txt';
const CLASSES_MAX_BYTES = 1024 * 1024;

/**
 * Reads a classes.txt: one name per line (trimmed), blank lines allowed only at the end. Names must be
 * distinct and at most 256 (IDX labels are u8).
 */
export function readClassesFile(file: string): string[] {
  const text = readFileCapped(file, CLASSES_MAX_BYTES)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new DataFormatError(file, 'one class name per line', 'no class names');
  const blank = lines.indexOf('');
  if (blank >= 0) {
    throw new DataFormatError(file, 'one class name per line (blank lines only at the end)', `an empty line ${blank + 1}`);
  }
  if (lines.length > 256) throw new DataFormatError(file, 'at most 256 class names (IDX labels are u8)', `${lines.length} names`);
  const seen = new Map<string, number>();
  lines.forEach((name, i) => {
    const first = seen.get(name);
    if (first !== undefined) {
      throw new DataFormatError(file, 'distinct class names', `${JSON.stringify(name)} on lines ${first + 1} and ${i + 1}`);
    }
    seen.set(name, i);
  });
  return lines;
}

/** "3, 5..9, 12" for sorted integers, shortened after `max` runs. */
function formatLabelList(xs: number[], max = 8): string {
  const runs: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    runs.push(j === i ? String(xs[i]) : j === i + 1 ? `${xs[i]}, ${xs[j]}` : `${xs[i]}..${xs[j]}`);
    i = j + 1;
  }
  const shown = runs.length > max ? `${runs.slice(0, max).join(', ')}, ...` : runs.join(', ');
  return `${xs.length === 1 ? 'label' : 'labels'} ${shown}`;
}

/**
 * The class count of an undeclared IDX folder: largest label + 1, accepted only when every class below it
 * occurs in the training labels, since a stray large label would otherwise invent classes nobody trained.
 */
function inferClassCount(dir: string, train: { labels: Int32Array; file: string }, test: { labels: Int32Array; file: string }): number {
  let max = -1;
  let at = { file: train.file, index: 0 };
  for (const set of [train, test]) {
    set.labels.forEach((l, i) => {
      if (l > max) {
        max = l;
        at = { file: set.file, index: i };
      }
    });
  }
  const seen = new Uint8Array(max + 1);
  for (const l of train.labels) seen[l] = 1;
  const absent: number[] = [];
  seen.forEach((s, k) => {
    if (!s) absent.push(k);
  });
  if (absent.length > 0) {
    throw new DataFormatError(
      at.file,
      `every label 0..${max} to occur in the training labels (without ${IDX_CLASSES_FILE} the class count is the largest label + 1)`,
      `label ${max} at index ${at.index} while ${formatLabelList(absent)} never occur in ${basename(train.file)}; ` +
        `declare the classes in ${join(dir, IDX_CLASSES_FILE)}, one name per line`,
    );
  }
  return max + 1;
}

/**
 * Options of `loadIdxDataset`. A `classNames` whose length differs from `numClasses`, or a label ≥ the class
 * count, is a DataFormatError.
 */
export interface IdxDatasetOptions {
  /**
   * Number of classes. Default: classNames.length; else the line count of `classes.txt` in the folder; else
   * the largest label + 1, provided every label below it occurs in the training labels.
   */
  numClasses?: number;
  /** Default: the lines of `classes.txt` when the class count comes from it, else '0', '1', ... */
  classNames?: string[];
  maxBytes?: number;
  /** Appended to DataMissingError messages. */
  hint?: string;
}

/**
 * Loads train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz) and
 * t10k-labels-idx1-ubyte(.gz) from `dir`. Either split declaring 0 images is a DataFormatError.
 */
export function loadIdxDataset(dir: string, name: string = basename(dir), opts: IdxDatasetOptions = {}): Dataset {
  const hint = opts.hint ?? '';
  const st = statPath(dir, hint);
  if (!st.isDirectory()) throw new DataFormatError(dir, 'a directory of IDX files', 'a file');
  const find = (base: string) => {
    const p = findIdxFile(dir, base);
    if (!p) throw new DataMissingError(join(dir, `${base}(.gz)`), hint);
    return p;
  };
  if (opts.classNames && opts.numClasses !== undefined && opts.classNames.length !== opts.numClasses) {
    throw new DataFormatError(dir, `${opts.numClasses} class names`, `${opts.classNames.length}`);
  }
  let classNames = opts.classNames;
  let declared = opts.numClasses ?? opts.classNames?.length;
  let declaredBy: string | undefined;
  const classesFile = join(dir, IDX_CLASSES_FILE);
  if (declared === undefined && existsSync(classesFile)) {
    classNames = readClassesFile(classesFile);
    declared = classNames.length;
    declaredBy = classesFile;
  }
  const ro = { maxBytes: opts.maxBytes, hint };
  const load = (split: 'train' | 'test', imagesBase: string, labelsBase: string) => {
    const imagesFile = find(imagesBase);
    const labelsFile = find(labelsBase);
    const img = decodeIdxImages(imagesFile, ro, split);
    const labels = decodeIdxLabels(labelsFile, declared ?? 256, ro, declaredBy);
    if (labels.length !== img.n) {
      throw new DataFormatError(labelsFile, `${img.n} labels, one per image in ${imagesFile}`, `${labels.length} labels`);
    }
    const set: ImageSet = { ...img, labels };
    return { set, imagesFile, labelsFile };
  };
  const { set: train, imagesFile: trainFile, labelsFile: trainLabelsFile } = load('train', IDX_FILES.trainImages, IDX_FILES.trainLabels);
  const { set: test, imagesFile: testFile, labelsFile: testLabelsFile } = load('test', IDX_FILES.testImages, IDX_FILES.testLabels);
  if (test.height !== train.height || test.width !== train.width) {
    throw new DataFormatError(testFile, `${train.width}×${train.height} images like ${trainFile}`, `${test.width}×${test.height}`);
  }
  const numClasses =
    declared ?? inferClassCount(dir, { labels: train.labels, file: trainLabelsFile }, { labels: test.labels, file: testLabelsFile });
  classNames = classNames ? [...classNames] : Array.from({ length: numClasses }, (_, i) => String(i));
  return { name, train, test, numClasses, classNames };
}
