/** PNG files of advlab's figures: the browser-safe canvases of @advlab/core, encoded with pngjs. */
import { PNG } from 'pngjs';
import { ShapeError, viz } from '@advlab/core';

/** Encode as an 8-bit RGBA PNG. */
export function encodePng(canvas: viz.Canvas): Buffer {
  if (canvas.data.length !== canvas.width * canvas.height * 4) {
    throw new ShapeError(
      `encodePng: expected ${canvas.width}x${canvas.height}x4 = ${canvas.width * canvas.height * 4} bytes, found ${canvas.data.length}`,
    );
  }
  const png = new PNG({ width: canvas.width, height: canvas.height });
  png.data = Buffer.from(canvas.data.buffer, canvas.data.byteOffset, canvas.data.byteLength);
  return PNG.sync.write(png);
}

/** PNG bytes of the adversarial-example grid (see `viz.renderAdversarialGrid` in @advlab/core). */
export function adversarialGrid(rows: viz.GridRow[], opts: viz.GridOptions = {}): Buffer {
  return encodePng(viz.renderAdversarialGrid(rows, opts).canvas);
}
