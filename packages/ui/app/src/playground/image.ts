/**
 * Images as the playground handles them: a source (a test sample's bytes, or a canvas holding a drawing or an
 * upload) turned into a model's input — h × w × c floats in [0, 1], channels last — and such arrays painted
 * back onto canvases.
 */

/** A test image of the server: its bytes as the dataset stores them (value / 255 is the model input). */
export interface SampleImage {
  kind: 'sample';
  index: number;
  label: number;
  height: number;
  width: number;
  channels: number;
  bytes: Uint8Array;
}

/** A drawing or an upload: a canvas of any size, resized to each model's input when attacked. */
export interface CanvasImage {
  kind: 'drawing' | 'upload';
  canvas: HTMLCanvasElement;
}

export type ImageSource = SampleImage | CanvasImage;

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function context2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  return ctx;
}

/** RGBA bytes → h × w × c floats in [0, 1]: the ITU-R 601 luma for one channel (as PIL's "L"), RGB for three. */
function rgbaToInput(rgba: Uint8ClampedArray, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [rgba[4 * p]!, rgba[4 * p + 1]!, rgba[4 * p + 2]!];
    if (channels === 1) out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    else for (let ch = 0; ch < channels; ch++) out[p * channels + ch] = [r, g, b][Math.min(ch, 2)]! / 255;
  }
  return out;
}

/** h × w × c floats in [0, 1] → RGBA bytes (grey for one channel). */
function inputToRgba(values: ArrayLike<number>, height: number, width: number, channels: number): ImageData {
  const image = new ImageData(width, height);
  for (let p = 0; p < height * width; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = values[p * channels + (channels === 1 ? 0 : Math.min(ch, channels - 1))]!;
      image.data[4 * p + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
    image.data[4 * p + 3] = 255;
  }
  return image;
}

/** Paints h × w × c values in [0, 1] onto `canvas` at their own resolution (CSS scales it up, pixelated). */
export function paintPixels(canvas: HTMLCanvasElement, values: ArrayLike<number>, height: number, width: number, channels: number): void {
  canvas.width = width;
  canvas.height = height;
  context2d(canvas).putImageData(inputToRgba(values, height, width, channels), 0, 0);
}

/** A sample on a canvas of its own size (to resize it, or to show it). */
export function sampleCanvas(sample: SampleImage): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  const values = Float32Array.from(sample.bytes, (b) => b / 255);
  paintPixels(canvas, values, sample.height, sample.width, sample.channels);
  return canvas;
}

/** A copy of `canvas`, so later strokes on it do not change an image already chosen. */
export function copyCanvas(canvas: HTMLCanvasElement): HTMLCanvasElement {
  const copy = document.createElement('canvas');
  copy.width = canvas.width;
  copy.height = canvas.height;
  context2d(copy).drawImage(canvas, 0, 0);
  return copy;
}

/** `source` as a model input of shape [height, width, channels], values in [0, 1]. */
export function inputPixels(source: ImageSource, [height, width, channels]: readonly [number, number, number]): Float32Array {
  if (source.kind === 'sample' && source.height === height && source.width === width && source.channels === channels) {
    return Float32Array.from(source.bytes, (b) => b / 255);
  }
  const from = source.kind === 'sample' ? sampleCanvas(source) : source.canvas;
  const resized = document.createElement('canvas');
  resized.width = width;
  resized.height = height;
  const ctx = context2d(resized);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(from, 0, 0, width, height);
  return rgbaToInput(ctx.getImageData(0, 0, width, height).data, width * height, channels);
}

/**
 * Draws `bitmap` centred into a square canvas of `size` pixels, its aspect ratio kept. Fashion-MNIST items are
 * light on black; with `invert`, a photo on a light background is turned into that (the margins too).
 */
export function uploadCanvas(bitmap: ImageBitmap, size: number, invert: boolean): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const ctx = context2d(canvas);
  ctx.fillStyle = invert ? '#fff' : '#000';
  ctx.fillRect(0, 0, size, size);
  const scale = Math.min(size / bitmap.width, size / bitmap.height);
  const [w, h] = [bitmap.width * scale, bitmap.height * scale];
  ctx.drawImage(bitmap, (size - w) / 2, (size - h) / 2, w, h);
  if (invert) {
    const image = ctx.getImageData(0, 0, size, size);
    for (let i = 0; i < image.data.length; i += 4) {
      for (let ch = 0; ch < 3; ch++) image.data[i + ch] = 255 - image.data[i + ch]!;
    }
    ctx.putImageData(image, 0, 0);
  }
  return canvas;
}
