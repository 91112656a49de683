/**
 * Adversarial-example grid: one row per example with the clean image, the (amplified) perturbation and
 * the adversarial image, each captioned with the model's prediction. Pure TypeScript + pngjs; no tf.js.
 *
 *   PGD linf eps=0.1: 8 of 10 fooled
 *       clean        perturbation (×5.0)     adversarial
 *                  -0.10 [blue→white→red] +0.10        ← colour key: the δ that saturates the map
 *   [clean tile]       [δ tile]            [adv tile]
 *    Coat 97%         linf 0.100            Bag 88%      ← red: differs from the true label, green: same
 *   true: Coat         l2 2.41
 */
import { ConfigError, ShapeError } from '../errors.ts';
import type { Canvas, Color } from './canvas.ts';
import { createCanvas, divergingColormap, drawImage, fillRect, strokeRect, WHITE } from './canvas.ts';
import { drawText, GLYPH_ASCENT, GLYPH_HEIGHT, LINE_HEIGHT, textWidth } from './font.ts';

/** One example of the grid: its clean and adversarial images, and the labels and confidences to caption them with. */
export interface GridRow {
  /** HWC in [0,1]; `adversarial` has the same shape. */
  clean: Float32Array;
  adversarial: Float32Array;
  height: number;
  width: number;
  /** 1 (greyscale) or 3 (RGB). */
  channels: number;
  trueLabel: string;
  cleanPred: string;
  /** Confidence of `cleanPred`, in [0,1]. */
  cleanConf: number;
  advPred: string;
  advConf: number;
}

/** Optional settings of `renderAdversarialGrid`. */
export interface GridOptions {
  /** Integer nearest-neighbour upscaling of every image. Default: round(84 / max(H, W)), at least 1 (3 for 28×28). */
  scale?: number;
  /** Attack description, e.g. "PGD linf eps=0.1"; the title line is `<title>: <k> of <n> fooled`. */
  title?: string;
  /** Perturbation display gain: the tile shows 0.5 + amplify·δ clipped to [0,1]. 'auto' (default) = 0.5 / max|δ|. */
  amplify?: number | 'auto';
}

/** A column of the grid, left to right. */
export type GridColumn = 'clean' | 'perturbation' | 'adversarial';

/** Where an image tile was drawn (its pixels, border excluded). */
export interface GridTile {
  row: number;
  column: GridColumn;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What `renderAdversarialGrid` drew: the canvas, the resolved settings and texts, and where each image tile went. */
export interface GridRender {
  canvas: Canvas;
  /** The perturbation gain actually used (the resolved value of `amplify`). */
  amplify: number;
  /** The image upscaling actually used. */
  scale: number;
  /** The full title line as drawn. */
  title: string;
  /** The three column headers as drawn, e.g. ["clean", "perturbation (×5.0)", "adversarial"]. */
  headers: string[];
  tiles: GridTile[];
}

/** Colours used for text in the grid: predictions that differ from the true label are `wrong` (red). */
export const GRID_COLORS = {
  text: [34, 34, 34],
  muted: [110, 110, 110],
  wrong: [200, 16, 16],
  right: [0, 128, 48],
  border: [190, 190, 190],
} as const satisfies Record<string, Color>;
const TEXT = GRID_COLORS.text;
const MUTED = GRID_COLORS.muted;
const RED = GRID_COLORS.wrong;
const GREEN = GRID_COLORS.right;
const BORDER = GRID_COLORS.border;

const MARGIN = 12;
const COL_GAP = 20;
const ROW_GAP = 12;
const CAPTION_GAP = 5;
const MAX_LABEL = 32;
const KEY_BAR = 31;

const COLUMNS: readonly GridColumn[] = ['clean', 'perturbation', 'adversarial'];

/** Default upscaling: about 84 px per tile side (3 for 28×28 and 32×32, 1 for images of 168 px or more). */
export function defaultScale(height: number, width: number): number {
  return Math.max(1, Math.round(84 / Math.max(height, width)));
}

/** Largest |adversarial − clean| over all rows (NaN ignored). */
export function maxAbsPerturbation(rows: readonly GridRow[]): number {
  let m = 0;
  for (const row of rows) {
    const { clean, adversarial } = row;
    for (let i = 0; i < clean.length; i++) {
      const d = Math.abs(adversarial[i]! - clean[i]!);
      if (d > m) m = d;
    }
  }
  return m;
}

/**
 * The perturbation gain the grid uses: a given number as is (must be finite and > 0), or for 'auto'
 * 0.5 / max|δ| over the whole grid, so the largest perturbation just reaches pure blue/red (0 or 1).
 * If every δ is 0, 'auto' gives 1.
 */
export function resolveAmplify(rows: readonly GridRow[], amplify: number | 'auto' = 'auto'): number {
  if (amplify === 'auto') {
    const m = maxAbsPerturbation(rows);
    return m > 0 ? 0.5 / m : 1;
  }
  if (typeof amplify !== 'number' || !Number.isFinite(amplify) || amplify <= 0) {
    throw new ConfigError('adversarialGrid amplify', "a finite number > 0 or 'auto'", String(amplify));
  }
  return amplify;
}

/** "×5.0", "×15.9", "×250", "×0.50". */
export function formatAmplify(a: number): string {
  const s = a >= 100 ? a.toFixed(0) : a >= 1 ? a.toFixed(1) : a.toPrecision(2);
  return `×${s}`;
}

/** A perturbation magnitude for the colour key: "0.10", "0.031", "1.5". */
function formatDelta(d: number): string {
  return d >= 1 ? d.toPrecision(2) : d.toFixed(Math.max(2, -Math.floor(Math.log10(d)) + 1));
}

function pct(conf: number): string {
  return `${Math.round(conf * 100)}%`;
}

function clip(label: string): string {
  const chars = Array.from(label.replace(/\s+/g, ' ').trim());
  return chars.length > MAX_LABEL ? `${chars.slice(0, MAX_LABEL - 2).join('')}..` : chars.join('');
}

function validate(rows: readonly GridRow[]): void {
  if (rows.length === 0) throw new ShapeError('adversarialGrid: expected at least 1 row, found 0');
  const { height, width, channels } = rows[0]!;
  rows.forEach((row, i) => {
    if (row.height !== height || row.width !== width || row.channels !== channels) {
      throw new ShapeError(
        `adversarialGrid: rows[${i}] is ${row.height}x${row.width}x${row.channels}, expected ${height}x${width}x${channels} like rows[0]`,
      );
    }
    if (channels !== 1 && channels !== 3) throw new ShapeError(`adversarialGrid: expected 1 or 3 channels, found ${channels}`);
    const n = height * width * channels;
    for (const key of ['clean', 'adversarial'] as const) {
      if (!(row[key] instanceof Float32Array) || row[key].length !== n) {
        throw new ShapeError(
          `adversarialGrid: rows[${i}].${key} should be a Float32Array of ${height}x${width}x${channels} = ${n} values, found ${row[key]?.length} values`,
        );
      }
    }
    for (const key of ['cleanConf', 'advConf'] as const) {
      const c = row[key];
      if (typeof c !== 'number' || !(c >= 0 && c <= 1)) {
        throw new ConfigError(`adversarialGrid rows[${i}].${key}`, 'a confidence in [0,1]', String(c));
      }
    }
  });
}

/** The perturbation tile's pixel values: 0.5 + amplify·(adv − clean), clipped to [0,1]. */
export function perturbationImage(row: GridRow, amplify: number): Float32Array {
  const out = new Float32Array(row.clean.length);
  for (let i = 0; i < out.length; i++) {
    const v = 0.5 + amplify * (row.adversarial[i]! - row.clean[i]!);
    out[i] = v < 0 ? 0 : Math.min(v, 1);
  }
  return out;
}

function norms(row: GridRow): { linf: number; l2: number } {
  let linf = 0;
  let sq = 0;
  for (let i = 0; i < row.clean.length; i++) {
    const d = row.adversarial[i]! - row.clean[i]!;
    const a = Math.abs(d);
    if (a > linf) linf = a;
    sq += d * d;
  }
  return { linf, l2: Math.sqrt(sq) };
}

interface Caption {
  text: string;
  color: Color;
}

/** Render the grid to a canvas; also returns where each tile went and the gain used (handy for tests). */
export function renderAdversarialGrid(rows: readonly GridRow[], opts: GridOptions = {}): GridRender {
  validate(rows);
  const { height, width, channels } = rows[0]!;
  const scale = opts.scale ?? defaultScale(height, width);
  if (!Number.isInteger(scale) || scale < 1) throw new ConfigError('adversarialGrid scale', 'a positive integer', String(scale));
  const amplify = resolveAmplify(rows, opts.amplify ?? 'auto');

  // Summary: "fooled" = classified correctly before the attack and wrongly after it.
  const cleanRight = rows.filter((r) => r.cleanPred === r.trueLabel);
  const fooled = cleanRight.filter((r) => r.advPred !== r.trueLabel).length;
  const wrongBefore = rows.length - cleanRight.length;
  let summary = `${fooled} of ${cleanRight.length} fooled`;
  if (wrongBefore > 0) summary += ` (+${wrongBefore} already wrong on clean)`;
  const userTitle = opts.title?.replace(/\s+/g, ' ').trim() ?? '';
  const titleText = userTitle ? `${userTitle}: ${summary}` : summary;

  const headers = ['clean', `perturbation (${formatAmplify(amplify)})`, 'adversarial'];
  const captions: Caption[][][] = rows.map((r) => {
    const n = norms(r);
    return [
      [
        { text: `${clip(r.cleanPred)} ${pct(r.cleanConf)}`, color: r.cleanPred === r.trueLabel ? GREEN : RED },
        { text: `true: ${clip(r.trueLabel)}`, color: MUTED },
      ],
      [
        { text: `linf ${n.linf.toFixed(3)}`, color: MUTED },
        { text: `l2 ${n.l2.toFixed(2)}`, color: MUTED },
      ],
      [{ text: `${clip(r.advPred)} ${pct(r.advConf)}`, color: r.advPred === r.trueLabel ? GREEN : RED }],
    ];
  });

  // Colour key under the perturbation header: the δ that reaches full blue / full red (0 / 255 per channel).
  const full = 0.5 / amplify;
  const keyLo = `-${formatDelta(full)}`;
  const keyHi = `+${formatDelta(full)}`;
  const keyW = textWidth(keyLo) + KEY_BAR + textWidth(keyHi) + 8;

  // Horizontal layout: each column is as wide as its widest tile / header / caption; tiles and text centred.
  const tileW = width * scale;
  const tileH = height * scale;
  const colW = COLUMNS.map((_, j) =>
    Math.max(
      tileW,
      textWidth(headers[j]!),
      j === 1 ? keyW : 0,
      ...captions.map((c) => Math.max(0, ...c[j]!.map((l) => textWidth(l.text)))),
    ),
  );
  const gridW = colW.reduce((a, b) => a + b, 0) + COL_GAP * (COLUMNS.length - 1);
  const canvasW = MARGIN * 2 + Math.max(gridW, textWidth(titleText));

  // Vertical layout: title, headers, colour key, then one block (tile + caption lines) per example.
  const captionLines = Math.max(...captions.map((c) => Math.max(...c.map((col) => col.length))));
  const rowH = tileH + CAPTION_GAP + captionLines * LINE_HEIGHT;
  const titleY = MARGIN;
  const headerY = titleY + LINE_HEIGHT + 8;
  const keyY = headerY + LINE_HEIGHT;
  const rowsY = keyY + LINE_HEIGHT + 2;
  // The last caption line needs only its glyph height, not a full line pitch.
  const canvasH = rowsY + rows.length * rowH + (rows.length - 1) * ROW_GAP - (LINE_HEIGHT - GLYPH_HEIGHT) + MARGIN;

  const canvas = createCanvas(canvasW, canvasH, WHITE);
  drawText(canvas, MARGIN, titleY, titleText, TEXT);
  const gridX = MARGIN + Math.floor((canvasW - 2 * MARGIN - gridW) / 2);
  const colX: number[] = [];
  for (let j = 0, x = gridX; j < COLUMNS.length; j++) {
    colX.push(x);
    x += colW[j]! + COL_GAP;
  }
  headers.forEach((h, j) => {
    drawText(canvas, colX[j]! + Math.floor((colW[j]! - textWidth(h)) / 2), headerY, h, TEXT);
  });

  {
    let kx = colX[1]! + Math.floor((colW[1]! - keyW) / 2);
    kx = drawText(canvas, kx, keyY, keyLo, MUTED) + 3;
    for (let i = 0; i < KEY_BAR; i++) {
      const v = i / (KEY_BAR - 1);
      // 1 channel: the diverging map; 3 channels: each channel goes dark (δ < 0) to light (δ > 0) around grey.
      const g = Math.round(v * 255);
      fillRect(canvas, kx + i, keyY, 1, GLYPH_ASCENT, channels === 1 ? divergingColormap(v) : [g, g, g]);
    }
    strokeRect(canvas, kx, keyY, KEY_BAR, GLYPH_ASCENT, BORDER);
    drawText(canvas, kx + KEY_BAR + 4, keyY, keyHi, MUTED);
  }

  const tiles: GridTile[] = [];
  rows.forEach((r, i) => {
    const y = rowsY + i * (rowH + ROW_GAP);
    const images: Array<[Float32Array, boolean]> = [
      [r.clean, false],
      [perturbationImage(r, amplify), channels === 1],
      [r.adversarial, false],
    ];
    images.forEach(([img, colored], j) => {
      const x = colX[j]! + Math.floor((colW[j]! - tileW) / 2);
      strokeRect(canvas, x, y, tileW, tileH, BORDER);
      drawImage(canvas, img, height, width, channels, x, y, scale, colored ? divergingColormap : undefined);
      tiles.push({ row: i, column: COLUMNS[j]!, x, y, width: tileW, height: tileH });
      captions[i]![j]!.forEach((line, k) => {
        const tx = colX[j]! + Math.floor((colW[j]! - textWidth(line.text)) / 2);
        drawText(canvas, tx, y + tileH + CAPTION_GAP + k * LINE_HEIGHT, line.text, line.color);
      });
    });
  });

  return { canvas, amplify, scale, title: titleText, headers, tiles };
}
