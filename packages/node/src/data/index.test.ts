import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataFormatError, DataMissingError } from '@advlab/core';
import { DATASETS, DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, datasetFolders, loadDataset } from './index.ts';
import { idxBytes, makeTempDir, pngBytes, writeCifarDataset, writeIdxDataset } from './testing.ts';

const tmp = makeTempDir();
after(tmp.cleanup);

test('synthetic specs', () => {
  for (const [spec, classes, shape] of [
    ['synthetic:moons', 2, [1, 1, 2]],
    ['synthetic:spirals', 3, [1, 1, 2]],
    ['synthetic:gaussians', 3, [1, 1, 2]],
    ['synthetic:tiny', 4, [8, 8, 1]],
  ] as const) {
    const ds = loadDataset(spec, { n: 40, nTest: 8, seed: 1 });
    assert.equal(ds.name, spec);
    assert.equal(ds.numClasses, classes);
    assert.deepEqual([ds.train.n, ds.test.n], [40, 8]);
    assert.deepEqual([ds.train.height, ds.train.width, ds.train.channels], shape);
  }
  assert.deepEqual(
    loadDataset('synthetic:moons', { n: 10, seed: 3 }).train.images,
    loadDataset('synthetic:moons', { n: 10, seed: 3 }).train.images,
  );
  assert.throws(
    () => loadDataset('synthetic:nope'),
    (e: unknown) => e instanceof ConfigError && e.option === 'data' && e.message.includes('synthetic:moons'),
  );
});

test('unknown names → ConfigError on --data; missing paths → DataMissingError', () => {
  assert.throws(
    () => loadDataset('imagenet'),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.option === 'data' &&
      e.found === 'imagenet' &&
      e.expected.includes('fashion-mnist') &&
      e.expected.includes('synthetic:tiny'),
  );
  assert.throws(
    () => loadDataset(join(tmp.dir, 'not-there')),
    (e: unknown) => e instanceof DataMissingError && e.message.includes('not-there'),
  );
  assert.throws(() => loadDataset('cifar10:'), ConfigError);
});

test('directories are recognised by their contents', () => {
  const idx = join(tmp.dir, 'my-digits');
  writeIdxDataset(idx, { numClasses: 3, gzip: true });
  const a = loadDataset(idx);
  assert.equal(a.name, 'my-digits');
  assert.equal(a.train.n, 3);
  assert.equal(loadDataset(`mnist:${idx}/`).name, 'my-digits');
  assert.equal(loadDataset(`idx:${idx}`).numClasses, 3);

  const fashion = join(tmp.dir, 'fashion-copy');
  writeIdxDataset(fashion, { numClasses: 10, nTrain: 10 });
  assert.deepEqual(loadDataset(fashion).classNames, [...FASHION_MNIST_CLASSES]);
  assert.equal(loadDataset(`fashion-mnist:${fashion}`).name, 'fashion-mnist');

  const cifar = join(tmp.dir, 'cifar-bin');
  writeCifarDataset(cifar, [1, 2], [3]);
  const c = loadDataset(cifar);
  assert.deepEqual([c.train.n, c.train.channels, c.test.n], [2, 3, 1]);
  assert.equal(loadDataset(`cifar10:${cifar}`).name, 'cifar-bin');

  const png = join(tmp.dir, 'pets');
  for (const cls of ['cat', 'dog']) {
    mkdirSync(join(png, cls), { recursive: true });
    for (let i = 0; i < 5; i++)
      writeFileSync(
        join(png, cls, `${i}.png`),
        pngBytes(2, 2, () => [i * 10, 0, 0]),
      );
  }
  const p = loadDataset(png);
  assert.deepEqual(p.classNames, ['cat', 'dog']);
  assert.deepEqual([p.train.n, p.test.n, p.train.channels], [8, 2, 3]);
  assert.equal(loadDataset(`png:${png}`, { png: { testFraction: 0.5 } }).test.n, 4);

  const empty = join(tmp.dir, 'nothing-here');
  mkdirSync(empty);
  assert.throws(
    () => loadDataset(empty),
    (e: unknown) => e instanceof DataFormatError && e.message.includes('nothing-here'),
  );
  const file = join(tmp.dir, 'plain-file');
  writeFileSync(file, 'x');
  assert.throws(
    () => loadDataset(file),
    (e: unknown) => e instanceof DataFormatError && e.message.includes('plain-file'),
  );
});

test('DATASETS lists every spec with a one-line description', () => {
  const names = DATASETS.map((d) => d.name);
  for (const n of [
    'fashion-mnist',
    'mnist:DIR',
    'cifar10:DIR',
    'png:DIR',
    'synthetic:moons',
    'synthetic:spirals',
    'synthetic:gaussians',
    'synthetic:tiny',
  ]) {
    assert.ok(names.includes(n), n);
  }
  for (const d of DATASETS) assert.ok(d.description.length > 10 && !d.description.includes('\n'), d.name);
});

test('datasetFolders names the folders loadDataset reads for a spec, and none for synthetic data', () => {
  assert.deepEqual(datasetFolders(undefined), [DEFAULT_FASHION_MNIST_DIR]);
  assert.deepEqual(datasetFolders('fashion-mnist'), [DEFAULT_FASHION_MNIST_DIR]);
  for (const kind of ['fashion-mnist', 'mnist', 'idx', 'cifar10', 'png'])
    assert.deepEqual(datasetFolders(`${kind}:/data/x`), ['/data/x'], kind);
  assert.deepEqual(datasetFolders('synthetic:tiny'), []);
  assert.deepEqual(datasetFolders('./some/folder'), ['./some/folder']);
  assert.deepEqual(datasetFolders('c:/odd:name'), ['c:/odd:name'], 'an unknown prefix is a path, as loadDataset treats it');
});

/** An IDX folder with labels 0..9 repeated over 20 training images and a stray 200 at index 17. */
function strayLabelFolder(name: string): string {
  const dir = join(tmp.dir, name);
  writeIdxDataset(dir, { nTrain: 20, nTest: 10, numClasses: 10 });
  const labels = Array.from({ length: 20 }, (_, i) => (i === 17 ? 200 : i % 10));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes('u8', [20], labels));
  return dir;
}

test('mnist:DIR and fashion-mnist:DIR declare 10 classes; a label ≥ 10 names the labels file, index and label', () => {
  const few = join(tmp.dir, 'three-digits');
  writeIdxDataset(few, { numClasses: 3 });
  const m = loadDataset(`mnist:${few}`);
  assert.equal(m.numClasses, 10, 'declared, not inferred from labels 0..2');
  assert.deepEqual(m.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const dir = strayLabelFolder('stray-200');
  for (const kind of ['mnist', 'fashion-mnist']) {
    assert.throws(
      () => loadDataset(`${kind}:${dir}`),
      (e: unknown) =>
        e instanceof DataFormatError &&
        e.message === `${join(dir, 'train-labels-idx1-ubyte')}: expected labels in [0, 10), found label 200 at index 17`,
      kind,
    );
  }
});

test('idx:DIR and a folder recognised by its IDX files: classes from classes.txt, else labels 0..K-1 all present', () => {
  const dir = strayLabelFolder('stray-idx');
  for (const spec of [`idx:${dir}`, dir]) {
    assert.throws(
      () => loadDataset(spec),
      (e: unknown) =>
        e instanceof DataFormatError &&
        e.file === join(dir, 'train-labels-idx1-ubyte') &&
        e.found.includes('labels 10..199 never occur') &&
        e.found.includes(join(dir, 'classes.txt')),
      spec,
    );
  }
  const named = join(tmp.dir, 'named-idx');
  writeIdxDataset(named, { numClasses: 2, nTrain: 4 });
  writeFileSync(join(named, 'classes.txt'), 'left\nright\nneither\n\n');
  for (const spec of [`idx:${named}`, named]) {
    const ds = loadDataset(spec);
    assert.equal(ds.numClasses, 3, spec);
    assert.deepEqual(ds.classNames, ['left', 'right', 'neither'], spec);
  }
  const entry = DATASETS.find((d) => d.name === 'idx:DIR');
  assert.ok(entry?.description.includes('classes.txt'), 'DATASETS documents classes.txt');
});

test('loadDataset refuses an empty train or test split from any loader, naming the spec and why', () => {
  const png = join(tmp.dir, 'few-pets');
  for (const cls of ['cat', 'dog']) {
    mkdirSync(join(png, cls), { recursive: true });
    for (let i = 0; i < 4; i++)
      writeFileSync(
        join(png, cls, `${i}.png`),
        pngBytes(2, 2, () => [i, i, i]),
      );
  }
  const why = 'none: every class has fewer than 5 images, and every 5th image of a class is held out';
  for (const spec of [png, `png:${png}`]) {
    assert.throws(
      () => loadDataset(spec),
      (e: unknown) => e instanceof DataFormatError && e.file === png && e.expected === 'a non-empty test split' && e.found === why,
      spec,
    );
  }
  assert.throws(
    () => loadDataset(`png:${png}`, { png: { testFraction: 0 } }),
    (e: unknown) =>
      e instanceof DataFormatError &&
      e.message === `png:${png}: expected a non-empty test split, found none: png.testFraction is 0, so no image is held out for test`,
  );
  assert.throws(
    () => loadDataset('synthetic:moons', { n: 10, nTest: 0 }),
    (e: unknown) =>
      e instanceof DataFormatError && e.message === 'synthetic:moons: expected a non-empty test split, found none: nTest is 0',
  );
  assert.throws(
    () => loadDataset('synthetic:tiny', { n: 1 }),
    (e: unknown) => e instanceof DataFormatError && e.found === 'none: nTest defaults to round(n / 4), which is 0 for n = 1',
  );
});

test('maxBytes reaches the CIFAR-10 and PNG loaders and counts their float32 arrays', () => {
  const cifar = join(tmp.dir, 'cifar-capped');
  writeCifarDataset(cifar, [1, 2], [3]);
  assert.throws(
    () => loadDataset(`cifar10:${cifar}`, { maxBytes: 20000 }),
    (e: unknown) => e instanceof DataFormatError && e.file === cifar && /24584 bytes decoded/.test(e.found),
  );
  const png = join(tmp.dir, 'png-capped');
  mkdirSync(join(png, 'a'), { recursive: true });
  for (let i = 0; i < 5; i++)
    writeFileSync(
      join(png, 'a', `${i}.png`),
      pngBytes(2, 2, () => [i, i, i]),
    );
  assert.throws(
    () => loadDataset(png, { maxBytes: 5 * 4 * 16 - 1 }),
    (e: unknown) => e instanceof DataFormatError && e.file === png && /decoded size cap/.test(e.message),
  );
  assert.equal(loadDataset(png, { maxBytes: 5 * 4 * 16 }).test.n, 1);
});
