import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataMissingError } from '@advlab/core';
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, loadFashionMnist, loadMnist, MNIST_CLASSES } from './fashion-mnist.ts';
import { makeTempDir, writeIdxDataset } from './testing.ts';

const tmp = makeTempDir();
after(tmp.cleanup);

test('class name lists', () => {
  assert.equal(FASHION_MNIST_CLASSES.length, 10);
  assert.equal(FASHION_MNIST_CLASSES[0], 'T-shirt/top');
  assert.equal(FASHION_MNIST_CLASSES[9], 'Ankle boot');
  assert.deepEqual(MNIST_CLASSES, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
});

test('missing folder → DataMissingError with the apt-get hint', () => {
  const dir = join(tmp.dir, 'no-fashion-here');
  assert.throws(
    () => loadFashionMnist(dir),
    (e: unknown) =>
      e instanceof DataMissingError &&
      e.code === 'E_DATA_MISSING' &&
      e.message.includes('no-fashion-here') &&
      e.message.includes('apt-get install dataset-fashion-mnist'),
  );
});

test('a small Fashion-MNIST-format folder loads with the Fashion-MNIST class names', () => {
  const dir = join(tmp.dir, 'fm');
  writeIdxDataset(dir, { nTrain: 20, nTest: 10, height: 4, width: 4, numClasses: 10, gzip: true });
  const ds = loadFashionMnist(dir);
  assert.equal(ds.name, 'fashion-mnist');
  assert.equal(ds.numClasses, 10);
  assert.deepEqual(ds.classNames, [...FASHION_MNIST_CLASSES]);
  assert.equal(ds.train.n, 20);
  const m = loadMnist(dir);
  assert.deepEqual(m.classNames, [...MNIST_CLASSES]);
});

test('the real Fashion-MNIST (if installed): 60000/10000 28×28×1, balanced, pixels in [0,1]', {
  skip: !existsSync(DEFAULT_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed',
}, () => {
  const ds = loadFashionMnist();
  assert.equal(ds.train.n, 60000);
  assert.equal(ds.test.n, 10000);
  for (const s of [ds.train, ds.test]) {
    assert.deepEqual([s.height, s.width, s.channels], [28, 28, 1]);
    assert.equal(s.images.length, s.n * 784);
    assert.equal(s.labels.length, s.n);
  }
  const counts = new Array(10).fill(0);
  for (const l of ds.train.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
  const testCounts = new Array(10).fill(0);
  for (const l of ds.test.labels) testCounts[l]++;
  assert.deepEqual(testCounts, new Array(10).fill(1000));
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of ds.train.images) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  const mean = sum / ds.train.images.length;
  assert.ok(mean > 0.25 && mean < 0.35, `Fashion-MNIST train mean is about 0.286, found ${mean}`);
});
