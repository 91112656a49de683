import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { ShapeError, viz } from '@advlab/core';
import { adversarialGrid, encodePng } from './png.ts';

test('encodePng round-trips through PNG.sync.read', () => {
  const c = viz.createCanvas(5, 3, [10, 20, 30]);
  viz.fillRect(c, 1, 1, 2, 1, [200, 100, 50, 128]);
  const png = PNG.sync.read(encodePng(c));
  assert.equal(png.width, 5);
  assert.equal(png.height, 3);
  assert.deepEqual(new Uint8Array(png.data), c.data);
  assert.throws(() => encodePng({ width: 2, height: 2, data: new Uint8Array(15) }), ShapeError);
});

test('adversarialGrid is the rendered grid, pixel for pixel', () => {
  const clean = Float32Array.from({ length: 8 * 8 }, (_, i) => (i % 9) / 9);
  const row: viz.GridRow = {
    clean,
    adversarial: clean.map((v) => Math.min(1, v + 0.1)),
    height: 8,
    width: 8,
    channels: 1,
    trueLabel: 'Coat',
    cleanPred: 'Coat',
    cleanConf: 0.9,
    advPred: 'Bag',
    advConf: 0.8,
  };
  const png = PNG.sync.read(adversarialGrid([row, row], { title: 'PGD' }));
  const { canvas } = viz.renderAdversarialGrid([row, row], { title: 'PGD' });
  assert.equal(png.width, canvas.width);
  assert.equal(png.height, canvas.height);
  assert.deepEqual(new Uint8Array(png.data), canvas.data);
});
