/**
 * Small synthetic classification tasks, generated from a seeded Rng so every run is reproducible.
 *
 * Point sets (moons, spirals, Gaussian mixtures) are returned as images of shape [n, 1, 1, d] (height 1,
 * width 1, channels d) so the same model / attack code applies; each feature is min-max rescaled into
 * [0,1] over train and test together. `tinyImages` is a small image task (a bright 2×2 blob whose
 * position depends on the class) that a tiny CNN learns in seconds, for fast attack tests.
 * Labels are balanced: sample i has label i % classes before the shuffle.
 */
import { ConfigError } from '../errors.ts';
import { Rng } from '../util/rng.ts';
import type { Dataset, ImageSet } from './types.ts';

/**
 * Sizes and seed shared by the synthetic generators. A size that is not an integer (n ≥ 1, nTest ≥ 0) or a
 * total above SYNTHETIC_MAX_SAMPLES is a ConfigError.
 */
export interface SyntheticOptions {
  /** Training samples (default 1000; 512 for tinyImages). */
  n?: number;
  /** Test samples; default round(n / 4). */
  nTest?: number;
  /** Seed for the Rng; default 0. */
  seed?: number;
}
/** Options of `moons` (always 2 classes). */
export interface MoonsOptions extends SyntheticOptions {
  /** Std of the Gaussian noise added to each coordinate (moon radius 1); default 0.1. */
  noise?: number;
}
/** Options of `spirals`; `classes` must be an integer in 2..100 and `noise` ≥ 0. */
export interface SpiralsOptions extends SyntheticOptions {
  /** Number of spiral arms = classes; default 3. */
  classes?: number;
  /** Std of the Gaussian noise added to each coordinate (outer radius 1); default 0.05. */
  noise?: number;
}
/** Options of `gaussianMixture`: `classes` an integer in 2..1000 (default 3), `dim` in 1..4096, `separation` ≥ 0. */
export interface GaussianMixtureOptions extends SyntheticOptions {
  classes?: number;
  /** Feature dimension; default 2. */
  dim?: number;
  /** Distance between the closest class means, in units of the (unit) noise std; default 3. */
  separation?: number;
}
/**
 * Options of `tinyImages`: `classes` an integer in 2..64 (default 4), `size` in 2..256 and large enough to give
 * each class a grid cell of at least 2×2 pixels (ConfigError otherwise).
 */
export interface TinyImagesOptions extends SyntheticOptions {
  classes?: number;
  /** Image side in pixels; default 8. */
  size?: number;
  /** 1 (grey) or 3 (same blob in every channel, independent noise); default 1. */
  channels?: number;
  /** Std of the Gaussian pixel noise; default 0.1. */
  noise?: number;
}

/** Largest n + nTest accepted (keeps a typo from allocating gigabytes). */
export const SYNTHETIC_MAX_SAMPLES = 10_000_000;
const MAX_FLOATS = 2 ** 28;

function int(option: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(option, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}..${max}`, String(v));
  }
  return v;
}
function nonNeg(option: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new ConfigError(option, 'a finite number >= 0', String(v));
  return v;
}

function sizes(o: SyntheticOptions, defaultN: number, perSample: number): { n: number; nTest: number; total: number } {
  const n = int('n', o.n ?? defaultN, 1, SYNTHETIC_MAX_SAMPLES);
  const nTest = int('nTest', o.nTest ?? Math.round(n / 4), 0, SYNTHETIC_MAX_SAMPLES);
  const total = n + nTest;
  if (total > SYNTHETIC_MAX_SAMPLES) throw new ConfigError('n', `n + nTest <= ${SYNTHETIC_MAX_SAMPLES}`, String(total));
  if (total * perSample > MAX_FLOATS)
    throw new ConfigError('n', `(n + nTest) × ${perSample} values <= ${MAX_FLOATS}`, String(total * perSample));
  return { n, nTest, total };
}

/** Balanced labels i % classes, shuffled. */
function balancedLabels(total: number, classes: number, rng: Rng): Int32Array {
  const order = rng.shuffle(Array.from({ length: total }, (_, i) => i % classes));
  return Int32Array.from(order);
}

/** Splits rows [0, n) to train and [n, total) to test. */
function split(
  data: Float32Array,
  labels: Int32Array,
  n: number,
  nTest: number,
  h: number,
  w: number,
  c: number,
): { train: ImageSet; test: ImageSet } {
  const size = h * w * c;
  const mk = (start: number, count: number): ImageSet => ({
    images: data.slice(start * size, (start + count) * size),
    labels: labels.slice(start, start + count),
    n: count,
    height: h,
    width: w,
    channels: c,
  });
  return { train: mk(0, n), test: mk(n, nTest) };
}

/** Min-max rescales each of the d features of `x` (total × d) into [0,1] and packs it as [total,1,1,d]. */
function pointDataset(name: string, x: Float64Array, labels: Int32Array, d: number, n: number, nTest: number, classes: number): Dataset {
  const total = n + nTest;
  const out = new Float32Array(total * d);
  for (let j = 0; j < d; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < total; i++) {
      const v = x[i * d + j]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const range = hi - lo;
    for (let i = 0; i < total; i++) {
      const v = range > 0 ? (x[i * d + j]! - lo) / range : 0.5;
      out[i * d + j] = Math.min(1, Math.max(0, v));
    }
  }
  const { train, test } = split(out, labels, n, nTest, 1, 1, d);
  return { name, train, test, numClasses: classes, classNames: Array.from({ length: classes }, (_, k) => String(k)) };
}

/** Two interleaving half circles (sklearn's make_moons), 2 features, 2 classes. */
export function moons(opts: MoonsOptions = {}): Dataset {
  const { n, nTest, total } = sizes(opts, 1000, 2);
  const noise = nonNeg('noise', opts.noise ?? 0.1);
  const rng = new Rng(opts.seed ?? 0);
  const labels = balancedLabels(total, 2, rng);
  const x = new Float64Array(total * 2);
  for (let i = 0; i < total; i++) {
    const t = Math.PI * rng.next();
    const [a, b] = labels[i] === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
    x[2 * i] = a + noise * rng.normal();
    x[2 * i + 1] = b + noise * rng.normal();
  }
  return pointDataset('synthetic:moons', x, labels, 2, n, nTest, 2);
}

/** `classes` interleaved spiral arms, 2 features. */
export function spirals(opts: SpiralsOptions = {}): Dataset {
  const { n, nTest, total } = sizes(opts, 1000, 2);
  const classes = int('classes', opts.classes ?? 3, 2, 100);
  const noise = nonNeg('noise', opts.noise ?? 0.05);
  const rng = new Rng(opts.seed ?? 0);
  const labels = balancedLabels(total, classes, rng);
  const x = new Float64Array(total * 2);
  for (let i = 0; i < total; i++) {
    const t = rng.next();
    const r = 0.05 + 0.95 * t;
    const theta = (2 * Math.PI * labels[i]!) / classes + 4 * t;
    x[2 * i] = r * Math.cos(theta) + noise * rng.normal();
    x[2 * i + 1] = r * Math.sin(theta) + noise * rng.normal();
  }
  return pointDataset('synthetic:spirals', x, labels, 2, n, nTest, classes);
}

/** Class means of a Gaussian mixture whose closest pair is `separation` apart (deterministic). */
export function mixtureMeans(classes: number, dim: number, separation: number): Float64Array {
  const m = new Float64Array(classes * dim);
  for (let k = 0; k < classes; k++) {
    if (dim === 1) m[k] = separation * k;
    else if (classes <= dim)
      m[k * dim + k] = separation / Math.SQRT2; // corners of a simplex: pairwise distance = separation
    else {
      // On a circle in the first two dimensions, neighbours `separation` apart.
      const radius = separation / (2 * Math.sin(Math.PI / classes));
      m[k * dim] = radius * Math.cos((2 * Math.PI * k) / classes);
      m[k * dim + 1] = radius * Math.sin((2 * Math.PI * k) / classes);
    }
  }
  return m;
}

/** `classes` unit-variance Gaussian blobs in `dim` dimensions, closest means `separation` apart. */
export function gaussianMixture(opts: GaussianMixtureOptions = {}): Dataset {
  const dim = int('dim', opts.dim ?? 2, 1, 4096);
  const { n, nTest, total } = sizes(opts, 1000, dim);
  const classes = int('classes', opts.classes ?? 3, 2, 1000);
  const separation = nonNeg('separation', opts.separation ?? 3);
  const rng = new Rng(opts.seed ?? 0);
  const labels = balancedLabels(total, classes, rng);
  const means = mixtureMeans(classes, dim, separation);
  const x = new Float64Array(total * dim);
  for (let i = 0; i < total; i++) {
    const k = labels[i]!;
    for (let j = 0; j < dim; j++) x[i * dim + j] = means[k * dim + j]! + rng.normal();
  }
  return pointDataset('synthetic:gaussians', x, labels, dim, n, nTest, classes);
}

/** Top-left corner of class k's cell in the tinyImages grid, and the cell side. */
export function tinyImagesLayout(classes: number, size: number): { grid: number; cell: number } {
  const grid = Math.ceil(Math.sqrt(classes));
  return { grid, cell: Math.floor(size / grid) };
}

/**
 * size×size×channels images: background 0.1, a 0.9 bright 2×2 blob placed (with random jitter) inside
 * the grid cell of its class, plus Gaussian pixel noise, clipped to [0,1].
 */
export function tinyImages(opts: TinyImagesOptions = {}): Dataset {
  const classes = int('classes', opts.classes ?? 4, 2, 64);
  const size = int('size', opts.size ?? 8, 2, 256);
  const channels = opts.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', '1 or 3', String(channels));
  const noise = nonNeg('noise', opts.noise ?? 0.1);
  const { grid, cell } = tinyImagesLayout(classes, size);
  if (cell < 2) throw new ConfigError('size', `at least ${2 * grid} for ${classes} classes (a 2×2 blob per grid cell)`, String(size));
  const pixels = size * size * channels;
  const { n, nTest, total } = sizes(opts, 512, pixels);
  const rng = new Rng(opts.seed ?? 0);
  const labels = balancedLabels(total, classes, rng);
  const data = new Float32Array(total * pixels);
  for (let i = 0; i < total; i++) {
    const k = labels[i]!;
    const top = Math.floor(k / grid) * cell + rng.int(cell - 1);
    const left = (k % grid) * cell + rng.int(cell - 1);
    const base = i * pixels;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = y >= top && y < top + 2 && x >= left && x < left + 2;
        for (let c = 0; c < channels; c++) {
          const v = (on ? 0.9 : 0.1) + noise * rng.normal();
          data[base + (y * size + x) * channels + c] = Math.min(1, Math.max(0, v));
        }
      }
    }
  }
  const { train, test } = split(data, labels, n, nTest, size, size, channels);
  return {
    name: 'synthetic:tiny',
    train,
    test,
    numClasses: classes,
    classNames: Array.from({ length: classes }, (_, k) => `blob@${Math.floor(k / grid)},${k % grid}`),
  };
}
