/**
 * A minimal RGBA raster for rendering figures without a browser, node-canvas or tf.js: fill rectangles,
 * blit float images (HWC in [0,1]) with nearest-neighbour integer upscaling and an optional colour map,
 * so figures render the same in Node and in a browser (@advlab/node encodes them as PNG).
 */
import { ConfigError, ShapeError } from '../errors.ts';

/** RGBA pixels, row-major, 4 bytes per pixel: `data[(y * width + x) * 4 + k]`. */
export interface Canvas {
  width: number;
  height: number;
  data: Uint8Array;
}

/** 0–255 channel values; alpha defaults to 255 (opaque). */
export type Color = readonly [number, number, number] | readonly [number, number, number, number];

/** Maps a value in [0,1] (already clipped) to an RGB colour. Applied to 1-channel images. */
export type Colormap = (v: number) => Color;

/** Opaque white, the default background of `createCanvas`. */
export const WHITE: Color = [255, 255, 255];
/** Opaque black. */
export const BLACK: Color = [0, 0, 0];

function checkDim(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(what, 'a positive integer', String(v));
}

/** A new width×height canvas filled with `bg` (default white); throws ConfigError unless both sides are positive integers. */
export function createCanvas(width: number, height: number, bg: Color = WHITE): Canvas {
  checkDim('createCanvas width', width);
  checkDim('createCanvas height', height);
  const canvas: Canvas = { width, height, data: new Uint8Array(width * height * 4) };
  fillRect(canvas, 0, 0, width, height, bg);
  return canvas;
}

/** Set one pixel (no blending); coordinates outside the canvas are ignored. */
export function setPixel(canvas: Canvas, x: number, y: number, color: Color): void {
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
  const i = (y * canvas.width + x) * 4;
  canvas.data[i] = color[0];
  canvas.data[i + 1] = color[1];
  canvas.data[i + 2] = color[2];
  canvas.data[i + 3] = color[3] ?? 255;
}

/** The RGBA value at (x, y). Throws outside the canvas. */
export function getPixel(canvas: Canvas, x: number, y: number): [number, number, number, number] {
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) {
    throw new ShapeError(`getPixel: expected integer (x, y) inside ${canvas.width}x${canvas.height}, found (${x}, ${y})`);
  }
  const i = (y * canvas.width + x) * 4;
  const d = canvas.data;
  return [d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!];
}

/** Fill the w×h rectangle at (x, y), clipped to the canvas. */
export function fillRect(canvas: Canvas, x: number, y: number, w: number, h: number, color: Color): void {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(canvas.width, Math.round(x + w));
  const y1 = Math.min(canvas.height, Math.round(y + h));
  for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) setPixel(canvas, xx, yy, color);
}

/** A 1-pixel rectangle outline whose *inside* is the w×h rectangle at (x, y) (the line is drawn around it). */
export function strokeRect(canvas: Canvas, x: number, y: number, w: number, h: number, color: Color): void {
  fillRect(canvas, x - 1, y - 1, w + 2, 1, color);
  fillRect(canvas, x - 1, y + h, w + 2, 1, color);
  fillRect(canvas, x - 1, y, 1, h, color);
  fillRect(canvas, x + w, y, 1, h, color);
}

/** [0,1] → 0–255, rounding to nearest; values outside [0,1] are clipped and NaN maps to 0. */
export function toByte(v: number): number {
  if (!(v > 0)) return 0; // also catches NaN
  if (v >= 1) return 255;
  return Math.round(v * 255);
}

/**
 * Diverging colour map for signed quantities stored as 0.5 + x: 0 → blue, 0.5 → exactly white, 1 → red,
 * interpolating linearly through white (like matplotlib's `bwr`, with slightly deeper end colours).
 */
export const divergingColormap: Colormap = (v) => {
  const t = Math.min(1, Math.max(0, Number.isNaN(v) ? 0.5 : v)) * 2 - 1; // [-1, 1]
  const end: Color = t >= 0 ? [215, 25, 28] : [33, 80, 200];
  const a = Math.abs(t);
  return [Math.round(255 + (end[0] - 255) * a), Math.round(255 + (end[1] - 255) * a), Math.round(255 + (end[2] - 255) * a)];
};

/**
 * Blit an HWC float image in [0,1] with its top-left corner at (x, y), each image pixel becoming a
 * scale×scale block (nearest-neighbour). `channels` is 1 (grey, or through `colormap`) or 3 (RGB; a
 * colormap is not allowed). Values are clipped to [0,1]; the written byte is round(v·255).
 */
export function drawImage(
  canvas: Canvas,
  image: Float32Array,
  height: number,
  width: number,
  channels: number,
  x: number,
  y: number,
  scale = 1,
  colormap?: Colormap,
): void {
  checkDim('drawImage height', height);
  checkDim('drawImage width', width);
  checkDim('drawImage scale', scale);
  if (channels !== 1 && channels !== 3) throw new ShapeError(`drawImage: expected 1 or 3 channels, found ${channels}`);
  if (image.length !== height * width * channels) {
    throw new ShapeError(`drawImage: expected ${height}x${width}x${channels} = ${height * width * channels} values, found ${image.length}`);
  }
  if (colormap && channels !== 1) throw new ShapeError(`drawImage: a colormap needs a 1-channel image, found ${channels} channels`);
  x = Math.round(x);
  y = Math.round(y);
  const rgb: [number, number, number] = [0, 0, 0];
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = (r * width + c) * channels;
      if (channels === 3) {
        rgb[0] = toByte(image[i]!);
        rgb[1] = toByte(image[i + 1]!);
        rgb[2] = toByte(image[i + 2]!);
      } else if (colormap) {
        const v = image[i]!;
        const col = colormap(Number.isNaN(v) ? 0 : Math.min(1, Math.max(0, v)));
        rgb[0] = col[0];
        rgb[1] = col[1];
        rgb[2] = col[2];
      } else {
        rgb[0] = rgb[1] = rgb[2] = toByte(image[i]!);
      }
      fillRect(canvas, x + c * scale, y + r * scale, scale, scale, rgb);
    }
  }
}
