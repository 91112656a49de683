import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCanvas, divergingColormap, drawImage, fillRect, getPixel, toByte } from './canvas.ts';
import { ConfigError, ShapeError } from '../errors.ts';

test('createCanvas fills the background; fillRect is clipped to the canvas', () => {
  const c = createCanvas(4, 3, [1, 2, 3]);
  assert.equal(c.data.length, 4 * 3 * 4);
  assert.deepEqual(getPixel(c, 3, 2), [1, 2, 3, 255]);
  fillRect(c, 2, 1, 10, 10, [9, 8, 7, 100]);
  assert.deepEqual(getPixel(c, 3, 2), [9, 8, 7, 100]);
  assert.deepEqual(getPixel(c, 2, 1), [9, 8, 7, 100]);
  assert.deepEqual(getPixel(c, 1, 1), [1, 2, 3, 255]);
  assert.deepEqual(getPixel(c, 2, 0), [1, 2, 3, 255]);
  assert.throws(() => createCanvas(0, 3), ConfigError);
  assert.throws(() => getPixel(c, 4, 0), ShapeError);
});

test('drawImage: 1-channel grey with nearest-neighbour upscaling, values ×255 rounded and clipped', () => {
  const img = new Float32Array([0, 0.4, 1, 1.7, -0.2, 0.5]); // 2x3
  const c = createCanvas(10, 10, [7, 7, 7]);
  drawImage(c, img, 2, 3, 1, 1, 2, 2);
  const want = [0, 102, 255, 255, 0, 128];
  for (let r = 0; r < 2; r++) {
    for (let col = 0; col < 3; col++) {
      const v = want[r * 3 + col]!;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) assert.deepEqual(getPixel(c, 1 + col * 2 + dx, 2 + r * 2 + dy), [v, v, v, 255]);
      }
    }
  }
  assert.deepEqual(getPixel(c, 0, 2), [7, 7, 7, 255], 'left of the image untouched');
  assert.deepEqual(getPixel(c, 7, 2), [7, 7, 7, 255], 'right of the image untouched');
  assert.deepEqual(getPixel(c, 1, 6), [7, 7, 7, 255], 'below the image untouched');
});

test('drawImage: 3-channel RGB and 1-channel through a colormap', () => {
  const c = createCanvas(4, 2);
  drawImage(c, new Float32Array([1, 0, 0.2, 0, 0.6, 1]), 1, 2, 3, 0, 0);
  assert.deepEqual(getPixel(c, 0, 0), [255, 0, 51, 255]);
  assert.deepEqual(getPixel(c, 1, 0), [0, 153, 255, 255]);
  drawImage(c, new Float32Array([0, 0.5, 1]), 1, 3, 1, 0, 1, 1, divergingColormap);
  const [blue, white, red] = [getPixel(c, 0, 1), getPixel(c, 1, 1), getPixel(c, 2, 1)];
  assert.deepEqual(white, [255, 255, 255, 255]);
  assert.ok(red[0] > 180 && red[1] < 60 && red[2] < 60, `red end: ${red}`);
  assert.ok(blue[2] > 180 && blue[0] < 60 && blue[1] < 120, `blue end: ${blue}`);
  assert.throws(() => drawImage(c, new Float32Array(6), 1, 2, 3, 0, 0, 1, divergingColormap), ShapeError);
});

test('divergingColormap is white at 0.5 and grows monotonically more saturated towards the ends', () => {
  assert.deepEqual([...divergingColormap(0.5)], [255, 255, 255]);
  let prev = 255;
  for (let v = 0.5; v <= 1.0001; v += 0.05) {
    const g = divergingColormap(v)[1];
    assert.ok(g <= prev);
    prev = g;
  }
  const lo = divergingColormap(0.25);
  assert.ok(lo[2] > lo[1] && lo[1] > lo[0] && lo[0] < 200, `negative side is bluish: ${lo}`);
});

test('drawImage rejects a buffer of the wrong size or channel count', () => {
  const c = createCanvas(4, 4);
  assert.throws(() => drawImage(c, new Float32Array(5), 2, 3, 1, 0, 0), ShapeError);
  assert.throws(() => drawImage(c, new Float32Array(8), 2, 2, 2, 0, 0), ShapeError);
  assert.throws(() => drawImage(c, new Float32Array(4), 2, 2, 1, 0, 0, 0), ConfigError);
});

test('toByte rounds and clips', () => {
  assert.deepEqual([0, 0.5, 1, -1, 2, Number.NaN, 0.4].map(toByte), [0, 128, 255, 0, 255, 0, 102]);
});
