import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPixel } from './canvas.ts';
import { renderGenerativeGallery } from './generative-gallery.ts';

test('the generative gallery draws five tiles per row at the given scale, each pixel the image’s value', () => {
  const img = (v: number) => new Float32Array(4 * 4).fill(v);
  const rows = [0, 1].map((i) => ({
    source: img(0),
    target: img(1),
    adversarial: img(0.2 + i * 0.1),
    reconstruction: img(0.6),
    targetReconstruction: img(0.8),
    captions: ['Coat', 'Bag', '|d| 1.9', 'y 0.31', ''],
  }));
  const canvas = renderGenerativeGallery(rows, { height: 4, width: 4, channels: 1 }, 'latent attack linf eps=0.1', 5);
  // Find the tiles by colour: the target tile (white) and the reconstruction tile (0.6 → 153) of each row.
  const count = (byte: number) => {
    let n = 0;
    for (let y = 0; y < canvas.height; y++)
      for (let x = 0; x < canvas.width; x++) if (getPixel(canvas, x, y)[0] === byte && getPixel(canvas, x, y)[1] === byte) n++;
    return n;
  };
  assert.equal(count(153), 2 * 20 * 20, 'two 20×20 reconstruction tiles');
  assert.equal(count(204), 2 * 20 * 20, 'two target-reconstruction tiles');
  assert.equal(count(Math.round(0.3 * 255)), 20 * 20, 'the second row’s adversarial tile');
  assert.throws(
    () => renderGenerativeGallery([{ ...rows[0]!, target: img(0).slice(1) }], { height: 4, width: 4, channels: 1 }, 't'),
    /target has 15 values/,
  );
});
