/**
 * The gallery of an attack on an autoencoder: one row per (source, target) pair with five tiles —
 *
 *   latent attack linf eps=0.1
 *   source     target     adversarial   its rec.    target rec.
 *   [x]        [x_t]      [x + δ]       [rec(x+δ)]  [rec(x_t)]
 *   Coat       Bag        ‖δ‖₂ 1.92     y 0.31      judge: Bag
 *
 * so a reader sees the input barely change while its reconstruction turns into the target's.
 */
import { ShapeError } from '../errors.ts';
import { type Canvas, createCanvas, drawImage, strokeRect } from './canvas.ts';
import { drawText, LINE_HEIGHT, textWidth } from './font.ts';
import { defaultScale } from './grid.ts';

/** One pair of the gallery: five HWC images in [0, 1] and the captions under them. */
export interface GenerativeGalleryRow {
  source: Float32Array;
  target: Float32Array;
  adversarial: Float32Array;
  reconstruction: Float32Array;
  targetReconstruction: Float32Array;
  /** One caption per tile, left to right (missing ones are left blank). */
  captions: readonly string[];
}

/** The column headings, left to right. */
export const GENERATIVE_GALLERY_COLUMNS = ['source', 'target', 'adversarial', 'its rec.', 'target rec.'] as const;

const PAD = 6;
const BORDER: readonly [number, number, number] = [200, 200, 200];
const INK: readonly [number, number, number] = [30, 30, 30];

/** Draws the gallery; every row's images are `height`×`width`×`channels`. */
export function renderGenerativeGallery(
  rows: readonly GenerativeGalleryRow[],
  shape: { height: number; width: number; channels: number },
  title: string,
  scale = defaultScale(shape.height, shape.width),
): Canvas {
  const { height, width, channels } = shape;
  const size = height * width * channels;
  for (const [i, r] of rows.entries()) {
    for (const k of ['source', 'target', 'adversarial', 'reconstruction', 'targetReconstruction'] as const) {
      if (r[k].length !== size)
        throw new ShapeError(`generative gallery row ${i}: ${k} has ${r[k].length} values, expected ${height}×${width}×${channels}`);
    }
  }
  const tileW = width * scale;
  const tileH = height * scale;
  const captionLines = Math.max(1, ...rows.map((r) => Math.max(0, ...r.captions.map((c) => c.split('\n').length))));
  const colW =
    Math.max(tileW, ...GENERATIVE_GALLERY_COLUMNS.map((c) => textWidth(c)), ...rows.flatMap((r) => r.captions.map((c) => textWidth(c)))) +
    PAD;
  const rowH = tileH + PAD + captionLines * LINE_HEIGHT + PAD;
  const top = PAD + 2 * LINE_HEIGHT + PAD;
  const canvas = createCanvas(Math.max(PAD * 2 + 5 * colW, textWidth(title) + 2 * PAD), top + rows.length * rowH + PAD);
  drawText(canvas, PAD, PAD, title, INK);
  GENERATIVE_GALLERY_COLUMNS.forEach((c, j) => {
    drawText(canvas, PAD + j * colW + (colW - textWidth(c)) / 2, PAD + LINE_HEIGHT + 2, c, INK);
  });
  for (const [i, r] of rows.entries()) {
    const y = top + i * rowH;
    const tiles = [r.source, r.target, r.adversarial, r.reconstruction, r.targetReconstruction];
    tiles.forEach((img, j) => {
      const x = PAD + j * colW + (colW - tileW) / 2;
      drawImage(canvas, img, height, width, channels, x, y, scale);
      strokeRect(canvas, x - 1, y - 1, tileW + 2, tileH + 2, BORDER);
      const caption = r.captions[j];
      if (caption) drawText(canvas, PAD + j * colW + (colW - textWidth(caption)) / 2, y + tileH + PAD, caption, INK);
    });
  }
  return canvas;
}
