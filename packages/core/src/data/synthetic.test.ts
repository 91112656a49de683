import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.ts';
import { gaussianMixture, mixtureMeans, moons, spirals, tinyImages, tinyImagesLayout } from './synthetic.ts';
import { checkImageSet, imageSize, type Dataset, type ImageSet } from './types.ts';

function inUnitRange(s: ImageSet): boolean {
  return s.images.every((v) => v >= 0 && v <= 1 && Number.isFinite(v));
}

function counts(labels: Int32Array, k: number): number[] {
  const c = new Array(k).fill(0);
  for (const l of labels) c[l]++;
  return c;
}

/** Accuracy of 1-nearest-neighbour (train → test): high only if the classes are where they should be. */
function oneNN(ds: Dataset): number {
  const d = imageSize(ds.train);
  let ok = 0;
  for (let i = 0; i < ds.test.n; i++) {
    let best = Infinity;
    let label = -1;
    for (let j = 0; j < ds.train.n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const diff = ds.test.images[i * d + k]! - ds.train.images[j * d + k]!;
        s += diff * diff;
      }
      if (s < best) {
        best = s;
        label = ds.train.labels[j]!;
      }
    }
    if (label === ds.test.labels[i]) ok++;
  }
  return ok / ds.test.n;
}

function checkDataset(ds: Dataset, shape: [number, number, number], n: number, nTest: number): void {
  for (const [s, m] of [
    [ds.train, n],
    [ds.test, nTest],
  ] as const) {
    checkImageSet(s, ds.numClasses);
    assert.deepEqual([s.n, s.height, s.width, s.channels], [m, ...shape]);
    assert.ok(inUnitRange(s), `${ds.name}: values in [0,1]`);
  }
  const all = counts(new Int32Array([...ds.train.labels, ...ds.test.labels]), ds.numClasses);
  assert.ok(Math.max(...all) - Math.min(...all) <= 1, `balanced labels: ${all}`);
  assert.equal(ds.classNames.length, ds.numClasses);
}

test('moons: [n,1,1,2], balanced, features rescaled to exactly [0,1], learnable', () => {
  const ds = moons({ n: 400, nTest: 100, noise: 0.1, seed: 1 });
  assert.equal(ds.name, 'synthetic:moons');
  assert.equal(ds.numClasses, 2);
  checkDataset(ds, [1, 1, 2], 400, 100);
  const all = [...ds.train.images, ...ds.test.images];
  assert.equal(Math.min(...all), 0);
  assert.equal(Math.max(...all), 1);
  assert.ok(oneNN(ds) > 0.95, `1-NN accuracy ${oneNN(ds)}`);
  // huge noise destroys the structure: the 1-NN check is meaningful
  assert.ok(oneNN(moons({ n: 400, nTest: 100, noise: 3, seed: 1 })) < 0.8);
});

test('spirals: classes arms, learnable by 1-NN', () => {
  const ds = spirals({ n: 600, nTest: 150, classes: 3, noise: 0.03, seed: 2 });
  assert.equal(ds.numClasses, 3);
  checkDataset(ds, [1, 1, 2], 600, 150);
  assert.ok(oneNN(ds) > 0.9, `1-NN accuracy ${oneNN(ds)}`);
});

test('gaussian mixture: means exactly `separation` apart, [n,1,1,dim]', () => {
  for (const [k, dim] of [
    [3, 2],
    [2, 5],
    [6, 2],
    [3, 1],
    [4, 4],
  ] as const) {
    const m = mixtureMeans(k, dim, 3);
    let min = Infinity;
    for (let a = 0; a < k; a++) {
      for (let b = a + 1; b < k; b++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += (m[a * dim + j]! - m[b * dim + j]!) ** 2;
        min = Math.min(min, Math.sqrt(s));
      }
    }
    assert.ok(Math.abs(min - 3) < 1e-9, `classes ${k} dim ${dim}: closest means ${min}`);
  }
  const ds = gaussianMixture({ n: 300, nTest: 100, classes: 4, dim: 3, separation: 6, seed: 3 });
  checkDataset(ds, [1, 1, 3], 300, 100);
  assert.ok(oneNN(ds) > 0.9, `1-NN accuracy ${oneNN(ds)}`);
  assert.ok(oneNN(gaussianMixture({ n: 300, nTest: 100, classes: 4, dim: 3, separation: 0, seed: 3 })) < 0.5);
});

test('tinyImages: blob in the class cell, learnable, channels 1 or 3', () => {
  const ds = tinyImages({ n: 200, nTest: 80, classes: 4, size: 8, seed: 4 });
  assert.equal(ds.name, 'synthetic:tiny');
  checkDataset(ds, [8, 8, 1], 200, 80);
  // The mean image of class k is brightest inside class k's cell.
  const { grid, cell } = tinyImagesLayout(4, 8);
  for (let k = 0; k < 4; k++) {
    const mean = new Float64Array(64);
    let m = 0;
    for (let i = 0; i < ds.train.n; i++) {
      if (ds.train.labels[i] !== k) continue;
      m++;
      for (let p = 0; p < 64; p++) mean[p]! += ds.train.images[i * 64 + p]!;
    }
    const argmax = mean.indexOf(Math.max(...mean));
    const [y, x] = [Math.floor(argmax / 8), argmax % 8];
    assert.equal(Math.floor(y / cell) * grid + Math.floor(x / cell), k, `class ${k} blob at ${y},${x} (${m} samples)`);
  }
  assert.ok(oneNN(ds) > 0.9, `1-NN accuracy ${oneNN(ds)}`);
  const rgb = tinyImages({ n: 10, nTest: 2, classes: 9, size: 6, channels: 3, seed: 5 });
  checkDataset(rgb, [6, 6, 3], 10, 2);
  assert.equal(rgb.numClasses, 9);
});

test('seeded and deterministic; never calls Math.random', () => {
  const orig = Math.random;
  Math.random = () => {
    throw new Error('Math.random used');
  };
  try {
    for (const gen of [
      (seed: number) => moons({ n: 50, seed }),
      (seed: number) => spirals({ n: 50, seed }),
      (seed: number) => gaussianMixture({ n: 50, seed }),
      (seed: number) => tinyImages({ n: 20, seed }),
    ]) {
      const a = gen(7);
      const b = gen(7);
      const c = gen(8);
      assert.deepEqual(a.train.images, b.train.images);
      assert.deepEqual(a.test.labels, b.test.labels);
      assert.notDeepEqual(a.train.images, c.train.images);
    }
  } finally {
    Math.random = orig;
  }
});

test('defaults and option validation', () => {
  const ds = moons();
  assert.equal(ds.train.n, 1000);
  assert.equal(ds.test.n, 250);
  assert.equal(tinyImages().train.n, 512);
  const bad: [() => unknown, string][] = [
    [() => moons({ n: 0 }), 'n'],
    [() => moons({ n: 1.5 }), 'n'],
    [() => moons({ noise: -1 }), 'noise'],
    [() => spirals({ classes: 1 }), 'classes'],
    [() => gaussianMixture({ dim: 0 }), 'dim'],
    [() => gaussianMixture({ n: 1e6, dim: 4096 }), 'n'],
    [() => tinyImages({ classes: 9, size: 5 }), 'size'],
    [() => tinyImages({ channels: 2 }), 'channels'],
    [() => moons({ nTest: -1 }), 'nTest'],
  ];
  for (const [fn, option] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.option === option, option);
  }
});
