/** advlab data: loaders for IDX (MNIST / Fashion-MNIST), CIFAR-10, PNG folders and synthetic tasks. */
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ConfigError, DataFormatError, DataMissingError, gaussianMixture, moons, spirals, tinyImages, type Dataset } from '@advlab/core';
import { hasCifarBatches, loadCifar10 } from './cifar10.ts';
import { DEFAULT_FASHION_MNIST_DIR, loadFashionMnist, MNIST_CLASSES } from './fashion-mnist.ts';
import { hasIdxFiles, IDX_CLASSES_FILE, loadIdxDataset } from './idx.ts';
import { hasPngClassFolders, loadPngFolder, type PngFolderOptions } from './png-folder.ts';

export * from './idx.ts';
export * from './fashion-mnist.ts';
export * from './cifar10.ts';
export * from './png-folder.ts';

/** One entry of DATASETS: a --data spelling and what it loads. */
export interface DatasetInfo {
  /** What to pass to --data. */
  name: string;
  description: string;
}

/** The dataset specs loadDataset understands, for `advlab list`. */
export const DATASETS: readonly DatasetInfo[] = Object.freeze([
  {
    name: 'fashion-mnist',
    description: 'Fashion-MNIST: 60000 + 10000 28×28 grey clothing images, 10 classes (the default; apt-get install dataset-fashion-mnist)',
  },
  {
    name: 'mnist:DIR',
    description: 'MNIST-format IDX files in DIR (train-/t10k-images-idx3-ubyte and -labels-idx1-ubyte, optionally .gz), 10 classes',
  },
  {
    name: 'idx:DIR',
    description: `IDX files as for mnist:DIR, any class count: one class name per line in DIR/${IDX_CLASSES_FILE}, else labels 0..K-1 all present in training`,
  },
  {
    name: 'cifar10:DIR',
    description: 'CIFAR-10 binary batches in DIR (data_batch_*.bin, test_batch.bin): 32×32 colour images, 10 classes',
  },
  {
    name: 'png:DIR',
    description: 'a folder of class subfolders of same-size PNG images; every 5th file of each class is held out for test',
  },
  { name: 'synthetic:moons', description: 'two interleaving half circles, 2 features, 2 classes (instant, for quick checks)' },
  { name: 'synthetic:spirals', description: 'three interleaved spiral arms, 2 features, 3 classes' },
  { name: 'synthetic:gaussians', description: 'three unit Gaussian blobs in 2 dimensions, means 3 apart' },
  {
    name: 'synthetic:tiny',
    description: '8×8 grey images, 4 classes given by the position of a bright blob (a tiny CNN learns it in seconds)',
  },
]);

/** Options of `loadDataset`; each applies only to the kinds of dataset it names and is ignored by the others. */
export interface LoadDatasetOptions {
  /** Seed for synthetic data (default 0). */
  seed?: number;
  /** Training samples for synthetic data. */
  n?: number;
  /** Test samples for synthetic data. */
  nTest?: number;
  /** Options for PNG folders (caps, testFraction); their maxBytes defaults to the one below. */
  png?: PngFolderOptions;
  /** Cap in bytes on what a loader decodes: one IDX file, one CIFAR-10 split, or a PNG folder's images (float32 included). */
  maxBytes?: number;
}

const SYNTHETIC: Record<string, (o: LoadDatasetOptions) => Dataset> = {
  moons: (o) => moons({ n: o.n, nTest: o.nTest, seed: o.seed }),
  spirals: (o) => spirals({ n: o.n, nTest: o.nTest, seed: o.seed }),
  gaussians: (o) => gaussianMixture({ n: o.n, nTest: o.nTest, seed: o.seed }),
  tiny: (o) => tinyImages({ n: o.n, nTest: o.nTest, seed: o.seed }),
};

const EXPECTED = `a dataset directory or one of ${DATASETS.map((d) => d.name).join(', ')}`;

function looksLikePath(spec: string): boolean {
  return /[\\/]/.test(spec) || spec.startsWith('.') || spec.startsWith('~');
}

function folderName(dir: string): string {
  return basename(resolve(dir));
}

function requireDir(kind: string, dir: string): void {
  if (!dir) throw new ConfigError('data', `${kind}:DIR with a directory`, `${kind}:`);
}

const pngOptions = (opts: LoadDatasetOptions): PngFolderOptions => ({ maxBytes: opts.maxBytes, ...opts.png });

/** Loads a dataset directory, recognising its layout. */
function loadDirectory(dir: string, opts: LoadDatasetOptions): Dataset {
  if (hasIdxFiles(dir)) {
    const name = folderName(dir);
    return /fashion/i.test(name)
      ? loadFashionMnist(dir, { maxBytes: opts.maxBytes })
      : loadIdxDataset(dir, name, { maxBytes: opts.maxBytes });
  }
  if (hasCifarBatches(dir)) return loadCifar10(dir, { maxBytes: opts.maxBytes });
  if (hasPngClassFolders(dir)) return loadPngFolder(dir, pngOptions(opts));
  throw new DataFormatError(
    dir,
    'IDX files (train-images-idx3-ubyte[.gz] ...), CIFAR-10 batches (*_batch*.bin) or class subfolders of .png files',
    'none of these',
  );
}

/** `kind:rest` of a dataset spec ('mnist:/data/mnist' → mnist, /data/mnist), or undefined for a bare path or name. */
function specParts(spec: string): { kind: string; rest: string } | undefined {
  const m = /^([a-z0-9-]+):(.*)$/s.exec(spec);
  return m ? { kind: m[1]!, rest: m[2]! } : undefined;
}

const FOLDER_KINDS = new Set(['fashion-mnist', 'mnist', 'idx', 'cifar10', 'png']);

/**
 * The folders loadDataset would read for `spec` (the default Fashion-MNIST folder for none; nothing for
 * synthetic data), so a command can keep its outputs out of them before loading anything.
 */
export function datasetFolders(spec: string | undefined): string[] {
  if (spec === undefined || spec === 'fashion-mnist') return [DEFAULT_FASHION_MNIST_DIR];
  const parts = specParts(spec);
  if (parts?.kind === 'synthetic') return [];
  return parts && FOLDER_KINDS.has(parts.kind) ? [parts.rest] : [spec];
}

/**
 * Resolves a --data value to a Dataset:
 * undefined / 'fashion-mnist' → Fashion-MNIST from its default folder; 'fashion-mnist:DIR', 'mnist:DIR'
 * (10 classes), 'idx:DIR' (classes from DIR/classes.txt or the labels), 'cifar10:DIR', 'png:DIR' → that loader;
 * 'synthetic:moons|spirals|gaussians|tiny'; a directory → recognised by its contents (IDX files, *_batch*.bin,
 * class subfolders of PNGs). Anything else → ConfigError. A dataset with an empty train or test split is a
 * DataFormatError naming the spec, whichever loader produced it.
 */
export function loadDataset(spec: string | undefined, opts: LoadDatasetOptions = {}): Dataset {
  const ds = loadAnyDataset(spec, opts);
  for (const split of ['train', 'test'] as const) {
    if (ds[split].n > 0) continue;
    const kind = spec === undefined ? undefined : specParts(spec)?.kind;
    // The file loaders refuse their own empty splits with a sharper reason; what reaches here was asked for by an option.
    const why =
      kind === 'synthetic' && split === 'test'
        ? opts.nTest === undefined
          ? `nTest defaults to round(n / 4), which is 0 for n = ${opts.n}`
          : `nTest is ${opts.nTest}`
        : split === 'test' && opts.png?.testFraction === 0
          ? 'png.testFraction is 0, so no image is held out for test'
          : `the data holds 0 ${split} examples`;
    throw new DataFormatError(spec ?? DEFAULT_FASHION_MNIST_DIR, `a non-empty ${split} split`, `none: ${why}`);
  }
  return ds;
}

function loadAnyDataset(spec: string | undefined, opts: LoadDatasetOptions): Dataset {
  if (spec === undefined || spec === 'fashion-mnist') return loadFashionMnist(undefined, { maxBytes: opts.maxBytes });
  const parts = specParts(spec);
  if (parts) {
    const { kind, rest } = parts;
    switch (kind) {
      case 'synthetic': {
        const gen = SYNTHETIC[rest];
        if (!gen)
          throw new ConfigError(
            'data',
            `one of ${Object.keys(SYNTHETIC)
              .map((k) => `synthetic:${k}`)
              .join(', ')}`,
            spec,
          );
        return gen(opts);
      }
      case 'fashion-mnist':
        requireDir(kind, rest);
        return loadFashionMnist(rest, { maxBytes: opts.maxBytes });
      case 'mnist':
        requireDir(kind, rest);
        return loadIdxDataset(rest, folderName(rest), { maxBytes: opts.maxBytes, numClasses: 10, classNames: [...MNIST_CLASSES] });
      case 'idx':
        requireDir(kind, rest);
        return loadIdxDataset(rest, folderName(rest), { maxBytes: opts.maxBytes });
      case 'cifar10':
        requireDir(kind, rest);
        return loadCifar10(rest, { maxBytes: opts.maxBytes });
      case 'png':
        requireDir(kind, rest);
        return loadPngFolder(rest, pngOptions(opts));
    }
  }
  const st = statSync(spec, { throwIfNoEntry: false });
  if (!st) {
    if (looksLikePath(spec)) throw new DataMissingError(spec, 'a dataset directory');
    throw new ConfigError('data', EXPECTED, spec);
  }
  if (!st.isDirectory()) throw new DataFormatError(spec, 'a dataset directory', 'a file');
  return loadDirectory(spec, opts);
}
export * from './idx-write.ts';
