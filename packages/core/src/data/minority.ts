import { ConfigError } from '../errors.ts';
import { imageSize, type ImageSet } from './types.ts';

/** One class kept at a fraction of its examples, to study how a minority class fares. */
export interface Minority {
  class: number;
  /** In (0, 1]: the share of the class's examples that is kept. */
  fraction: number;
}

/** Parses the CLI form "CLASS:FRACTION" (e.g. "0:0.1"); `numClasses` may be unknown yet (checked later by assertMinority). */
export function parseMinority(spec: string, numClasses = Number.MAX_SAFE_INTEGER, key = 'minority'): Minority {
  const m = /^(\d+):([0-9.eE+-]+)$/.exec(spec.trim());
  const parsed = { class: m ? Number(m[1]) : NaN, fraction: m ? Number(m[2]) : NaN };
  assertMinority(parsed, numClasses, key, JSON.stringify(spec));
  return parsed;
}

/** A class of the dataset and a fraction in (0, 1]; else a ConfigError naming the option. */
export function assertMinority(m: Minority, numClasses: number, key = 'minority', found = `${m.class}:${m.fraction}`): void {
  if (!(Number.isInteger(m.class) && m.class >= 0 && m.class < numClasses) || !(m.fraction > 0 && m.fraction <= 1)) {
    const classes = numClasses === Number.MAX_SAFE_INTEGER ? 'a class index' : `CLASS in 0..${numClasses - 1}`;
    throw new ConfigError(key, `CLASS:FRACTION with ${classes} and FRACTION in (0, 1], e.g. 0:0.1`, found);
  }
}

/**
 * The set with only the first ⌈fraction · count⌉ examples of `minority.class` (in file order, so the
 * subset is the same on every run) and every example of the other classes, order otherwise kept.
 */
export function withMinority(set: ImageSet, minority: Minority): ImageSet {
  const count = set.labels.reduce((a, l) => a + (l === minority.class ? 1 : 0), 0);
  const keep = Math.ceil(minority.fraction * count);
  const idx: number[] = [];
  let seen = 0;
  for (let i = 0; i < set.n; i++) {
    if (set.labels[i] !== minority.class) idx.push(i);
    else if (seen++ < keep) idx.push(i);
  }
  const d = imageSize(set);
  const images = new Float32Array(idx.length * d);
  const labels = new Int32Array(idx.length);
  idx.forEach((src, j) => {
    images.set(set.images.subarray(src * d, (src + 1) * d), j * d);
    labels[j] = set.labels[src]!;
  });
  return { ...set, images, labels, n: idx.length };
}
