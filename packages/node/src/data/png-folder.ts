/**
 * An image-classification folder: one subfolder per class (classes = sorted subfolder names), each holding
 * .png files. Every PNG's IHDR is checked (size caps, same size as the first image) before it is decoded.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { ConfigError, DataFormatError, type Dataset, type ImageSet } from '@advlab/core';
import { errText, fmtBytes, GiB, MiB, readFileCapped, statPath } from './files.ts';

/** Default cap on one image's declared width × height. */
export const PNG_MAX_PIXELS = 4096 * 4096;
/** Default cap on one PNG file's size in bytes. */
export const PNG_MAX_FILE_BYTES = 256 * MiB;
/** Default cap on the pixels of all images together (the float NHWC copy is 4 × channels bytes per pixel). */
export const PNG_MAX_TOTAL_PIXELS = 2 ** 27;
/**
 * Default cap on the memory the decoded images take: PNG_DECODED_BYTES_PER_PIXEL per pixel of every image,
 * which admits PNG_MAX_TOTAL_PIXELS pixels exactly.
 */
export const PNG_MAX_BYTES = 2 * GiB;
/**
 * Decoded bytes charged per pixel: the RGBA buffer pngjs returns (4, kept until every image is decoded, since
 * grey or colour is known only then) plus the float32 NHWC copy (4 × 3 channels at most).
 */
export const PNG_DECODED_BYTES_PER_PIXEL = 4 + 4 * 3;

/**
 * Caps and the test split of `loadPngFolder`: an image over a cap is a DataFormatError, a `testFraction` outside
 * [0, 1) a ConfigError.
 */
export interface PngFolderOptions {
  /** Largest declared width × height accepted per image; default PNG_MAX_PIXELS. */
  maxPixels?: number;
  /** Largest file accepted, in bytes; default PNG_MAX_FILE_BYTES. */
  maxFileBytes?: number;
  /** Largest total pixel count over all images; default PNG_MAX_TOTAL_PIXELS. */
  maxTotalPixels?: number;
  /** Largest decoded size of all images in bytes (PNG_DECODED_BYTES_PER_PIXEL per pixel); default PNG_MAX_BYTES. */
  maxBytes?: number;
  /**
   * Fraction of each class's files (spread evenly over the sorted file order) put in the test set; default 0.2.
   * 0 asks for no test split; any other fraction that leaves the train or test split empty is a DataFormatError.
   */
  testFraction?: number;
}

/** The IHDR fields of a PNG: size in pixels, and the bit depth and colour type bytes as stored. */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Parses the PNG signature and IHDR chunk (the first 33 bytes) without decoding anything. */
export function readPngHeader(buf: Uint8Array, file: string): PngHeader {
  if (buf.length < 8 || SIGNATURE.some((b, i) => buf[i] !== b)) {
    const got = Array.from(buf.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataFormatError(file, 'a PNG file (signature 89 50 4e 47 0d 0a 1a 0a)', got ? `bytes ${got}` : 'an empty file');
  }
  if (buf.length < 33) throw new DataFormatError(file, 'a PNG IHDR chunk (33 bytes from the start)', `${buf.length} bytes`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = dv.getUint32(8, false);
  const type = String.fromCharCode(buf[12]!, buf[13]!, buf[14]!, buf[15]!);
  if (len !== 13 || type !== 'IHDR') {
    throw new DataFormatError(file, 'an IHDR chunk of 13 bytes first', `a ${JSON.stringify(type)} chunk of ${len} bytes`);
  }
  const width = dv.getUint32(16, false);
  const height = dv.getUint32(20, false);
  if (width < 1 || height < 1 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) {
    throw new DataFormatError(file, 'a PNG width and height in 1..2^31-1', `${width}×${height}`);
  }
  return { width, height, bitDepth: buf[24]!, colorType: buf[25]! };
}

/** Samples per pixel of each PNG colour type (grey, RGB, palette, grey + alpha, RGBA). */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * pngjs inflates the image data of an interlaced PNG without an output limit (non-interlaced data is cut at
 * its expected size), so a small interlaced file could inflate to gigabytes. This inflates it first with the
 * exact size its IHDR implies as the limit. Malformed data is left for pngjs to report.
 */
function checkInterlacedSize(buf: Buffer, h: PngHeader, file: string): void {
  if (buf[28] !== 1) return;
  const samples = SAMPLES[h.colorType];
  if (samples === undefined) return;
  const bits = samples * h.bitDepth;
  let expected = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const cols = h.width > x0 ? Math.ceil((h.width - x0) / dx) : 0;
    const rows = h.height > y0 ? Math.ceil((h.height - y0) / dy) : 0;
    if (cols > 0 && rows > 0) expected += rows * (1 + Math.ceil((cols * bits) / 8));
  }
  const idat: Buffer[] = [];
  for (let o = 8; o + 12 <= buf.length; ) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    if (type === 'IDAT') idat.push(buf.subarray(o + 8, Math.min(o + 8 + len, buf.length)));
    if (type === 'IEND') break;
    o += 12 + len;
  }
  try {
    inflateSync(Buffer.concat(idat), { maxOutputLength: Math.max(expected, 1) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DataFormatError(
        file,
        `at most ${expected} bytes of interlaced image data after inflating (${h.width}×${h.height}, ${bits} bits a pixel)`,
        `more than ${expected} bytes`,
      );
    }
  }
}

const sortNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function listClassDirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || (d.isSymbolicLink() && isDir(join(dir, d.name)))))
    .map((d) => d.name)
    .sort(sortNames);
}

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function listPngs(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && n.toLowerCase().endsWith('.png'))
    .sort(sortNames);
}

/** True if dir has at least one class subfolder holding a .png file. */
export function hasPngClassFolders(dir: string): boolean {
  try {
    return listClassDirs(dir).some((c) => listPngs(join(dir, c)).length > 0);
  } catch {
    return false;
  }
}

/** Whether the i-th file of a class goes to the test set: spreads `fraction` of the files evenly. */
export function isTestIndex(i: number, fraction: number): boolean {
  const eps = 1e-9;
  return Math.floor((i + 1) * fraction + eps) > Math.floor(i * fraction + eps);
}

function ordinal(k: number): string {
  const tens = k % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][k % 10] ?? 'th');
  return `${k}${suffix}`;
}

/** Why no file of any class fell in the test split, in terms of the rule that picks test files. */
function emptyTestReason(fraction: number): string {
  // Solve floor((i + 1) × fraction) ≥ 1 for the smallest i, then settle rounding with isTestIndex itself.
  let first = Math.max(0, Math.ceil(1 / fraction) - 3);
  while (!isTestIndex(first, fraction)) first++;
  const every = 1 / fraction;
  const rule = Number.isInteger(every)
    ? `every ${ordinal(every)} image of a class is held out`
    : `the first image of a class held out is its ${ordinal(first + 1)} (testFraction ${fraction})`;
  return `every class has fewer than ${first + 1} images, and ${rule}`;
}

/**
 * Loads a folder of class subfolders of PNGs. Images are grey (channels 1) if every pixel of every image
 * has R = G = B, else RGB (channels 3); alpha is dropped. All images must have the same width × height.
 */
export function loadPngFolder(dir: string, opts: PngFolderOptions = {}): Dataset {
  const maxPixels = opts.maxPixels ?? PNG_MAX_PIXELS;
  const maxFileBytes = opts.maxFileBytes ?? PNG_MAX_FILE_BYTES;
  const maxTotalPixels = opts.maxTotalPixels ?? PNG_MAX_TOTAL_PIXELS;
  const maxBytes = opts.maxBytes ?? PNG_MAX_BYTES;
  const testFraction = opts.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction < 1)) throw new ConfigError('testFraction', 'a number in [0, 1)', String(testFraction));
  const st = statPath(dir);
  if (!st.isDirectory()) throw new DataFormatError(dir, 'a directory of class subfolders', 'a file');

  const classNames = listClassDirs(dir);
  if (classNames.length === 0) throw new DataFormatError(dir, 'class subfolders containing .png files', 'no subfolders');
  const files: { path: string; label: number; test: boolean }[] = [];
  classNames.forEach((c, label) => {
    const pngs = listPngs(join(dir, c));
    if (pngs.length === 0) throw new DataFormatError(join(dir, c), 'at least one .png file in each class folder', 'none');
    pngs.forEach((name, i) => {
      files.push({ path: join(dir, c, name), label, test: isTestIndex(i, testFraction) });
    });
  });

  let width = 0;
  let height = 0;
  let first = '';
  let grey = true;
  const decoded: Buffer[] = [];
  for (const f of files) {
    const buf = readFileCapped(f.path, maxFileBytes);
    const h = readPngHeader(buf, f.path);
    if (h.width * h.height > maxPixels) {
      throw new DataFormatError(
        f.path,
        `at most ${maxPixels} pixels per image (the size cap)`,
        `${h.width}×${h.height} = ${h.width * h.height} pixels`,
      );
    }
    if (!first) {
      first = f.path;
      width = h.width;
      height = h.height;
      if (files.length * width * height > maxTotalPixels) {
        throw new DataFormatError(
          dir,
          `at most ${maxTotalPixels} pixels in all (the total size cap)`,
          `${files.length} images of ${width}×${height}`,
        );
      }
      const decodedBytes = files.length * width * height * PNG_DECODED_BYTES_PER_PIXEL;
      if (decodedBytes > maxBytes) {
        throw new DataFormatError(
          dir,
          `at most ${fmtBytes(maxBytes)} decoded (the decoded size cap)`,
          `${files.length} images of ${width}×${height}, ${fmtBytes(decodedBytes)} decoded ` +
            `(${PNG_DECODED_BYTES_PER_PIXEL} bytes a pixel: RGBA + float32)`,
        );
      }
    } else if (h.width !== width || h.height !== height) {
      throw new DataFormatError(f.path, `${width}×${height} like ${basename(first)}`, `${h.width}×${h.height}`);
    }
    checkInterlacedSize(buf, h, f.path);
    let png: { width: number; height: number; data: Buffer };
    try {
      png = PNG.sync.read(buf);
    } catch (e) {
      throw new DataFormatError(f.path, 'a valid PNG', errText(e));
    }
    if (png.width !== width || png.height !== height || png.data.length !== width * height * 4) {
      throw new DataFormatError(f.path, `${width}×${height} RGBA after decoding`, `${png.width}×${png.height}, ${png.data.length} bytes`);
    }
    if (grey) {
      const d = png.data;
      for (let o = 0; o < d.length; o += 4) {
        if (d[o] !== d[o + 1] || d[o] !== d[o + 2]) {
          grey = false;
          break;
        }
      }
    }
    decoded.push(png.data);
  }
  // An empty split would otherwise surface only later, inside tf.js. Checked after the per-image checks, so a
  // broken file in a tiny folder is reported as the broken file it is.
  const nTest = files.filter((f) => f.test).length;
  if (nTest === 0 && testFraction > 0) throw new DataFormatError(dir, 'a non-empty test split', `none: ${emptyTestReason(testFraction)}`);
  if (nTest === files.length) {
    throw new DataFormatError(
      dir,
      'a non-empty train split',
      `none: testFraction ${testFraction} holds out every one of the ${nTest} images`,
    );
  }

  const channels = grey ? 1 : 3;
  const size = width * height * channels;
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 255;
  const build = (which: boolean): ImageSet => {
    const idx = files.flatMap((f, i) => (f.test === which ? [i] : []));
    const images = new Float32Array(idx.length * size);
    const labels = new Int32Array(idx.length);
    idx.forEach((i, j) => {
      labels[j] = files[i]!.label;
      const d = decoded[i]!;
      const out = j * size;
      for (let p = 0; p < width * height; p++) {
        for (let c = 0; c < channels; c++) images[out + p * channels + c] = scale[d[4 * p + c]!]!;
      }
    });
    return { images, labels, n: idx.length, height, width, channels };
  };
  return { name: basename(dir), train: build(false), test: build(true), numClasses: classNames.length, classNames };
}
