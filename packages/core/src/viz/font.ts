/**
 * A small 5×7 bitmap font (with 2 extra rows for descenders: g j p q y , _) covering printable ASCII
 * 32–126 plus a few symbols that show up in attack captions (× δ ε ∞ ±). No external font files, no
 * tf.js — used by the viz module to caption adversarial-example grids.
 *
 * Each glyph is a list of bit rows, top to bottom, `#` = ink, `.` = blank, 5 columns wide. Rows 0–6 sit
 * above the baseline (capitals are 7 rows tall, lower case 5), rows 7–8 are the descender. Rows left out
 * at the end are blank. Characters that are not in the table draw as a box (the usual "tofu").
 */
import type { Canvas, Color } from './canvas.ts';
import { setPixel } from './canvas.ts';
import { ConfigError, ShapeError } from '../errors.ts';

/** Glyph width in font pixels (before `scale`). */
export const GLYPH_WIDTH = 5;
/** Rows above the baseline (capital height). */
export const GLYPH_ASCENT = 7;
/** Full glyph cell height including the descender rows. */
export const GLYPH_HEIGHT = 9;
/** Horizontal advance per character: glyph width + 1 column of spacing. */
export const ADVANCE = GLYPH_WIDTH + 1;
/** Distance between baselines of consecutive lines (`\n`). */
export const LINE_HEIGHT = GLYPH_HEIGHT + 2;

// prettier-ignore
const GLYPHS: Record<string, readonly string[]> = {
  ' ': [],
  '!': ['..#..', '..#..', '..#..', '..#..', '..#..', '.....', '..#..'],
  '"': ['.#.#.', '.#.#.', '.#.#.'],
  '#': ['.#.#.', '.#.#.', '#####', '.#.#.', '#####', '.#.#.', '.#.#.'],
  $: ['..#..', '.####', '#.#..', '.###.', '..#.#', '####.', '..#..'],
  '%': ['##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##'],
  '&': ['.##..', '#..#.', '#.#..', '.#...', '#.#.#', '#..#.', '.##.#'],
  "'": ['..#..', '..#..', '.#...'],
  '(': ['...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.'],
  ')': ['.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...'],
  '*': ['.....', '..#..', '#.#.#', '.###.', '#.#.#', '..#..', '.....'],
  '+': ['.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....'],
  ',': ['.....', '.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'],
  '-': ['.....', '.....', '.....', '#####'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  '/': ['.....', '....#', '...#.', '..#..', '.#...', '#....', '.....'],
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  ';': ['.....', '.##..', '.##..', '.....', '.##..', '..#..', '.#...'],
  '<': ['...#.', '..#..', '.#...', '#....', '.#...', '..#..', '...#.'],
  '=': ['.....', '.....', '#####', '.....', '#####', '.....', '.....'],
  '>': ['.#...', '..#..', '...#.', '....#', '...#.', '..#..', '.#...'],
  '?': ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'],
  '@': ['.###.', '#...#', '....#', '.##.#', '#.#.#', '#.#.#', '.###.'],
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  '[': ['.###.', '.#...', '.#...', '.#...', '.#...', '.#...', '.###.'],
  '\\': ['.....', '#....', '.#...', '..#..', '...#.', '....#', '.....'],
  ']': ['.###.', '...#.', '...#.', '...#.', '...#.', '...#.', '.###.'],
  '^': ['..#..', '.#.#.', '#...#'],
  _: ['.....', '.....', '.....', '.....', '.....', '.....', '.....', '#####'],
  '`': ['.#...', '..#..', '...#.'],
  a: ['.....', '.....', '.###.', '....#', '.####', '#...#', '.####'],
  b: ['#....', '#....', '#.##.', '##..#', '#...#', '#...#', '####.'],
  c: ['.....', '.....', '.###.', '#....', '#....', '#...#', '.###.'],
  d: ['....#', '....#', '.##.#', '#..##', '#...#', '#...#', '.####'],
  e: ['.....', '.....', '.###.', '#...#', '#####', '#....', '.###.'],
  f: ['..##.', '.#..#', '.#...', '###..', '.#...', '.#...', '.#...'],
  g: ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '.###.'],
  h: ['#....', '#....', '#.##.', '##..#', '#...#', '#...#', '#...#'],
  i: ['..#..', '.....', '.##..', '..#..', '..#..', '..#..', '.###.'],
  j: ['...#.', '.....', '..##.', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  k: ['#....', '#....', '#..#.', '#.#..', '##...', '#.#..', '#..#.'],
  l: ['.#...', '.#...', '.#...', '.#...', '.#...', '.#...', '..##.'], // tailed, so 'l' ≠ '1' ≠ 'I'
  m: ['.....', '.....', '##.#.', '#.#.#', '#.#.#', '#.#.#', '#.#.#'],
  n: ['.....', '.....', '#.##.', '##..#', '#...#', '#...#', '#...#'],
  o: ['.....', '.....', '.###.', '#...#', '#...#', '#...#', '.###.'],
  p: ['.....', '.....', '####.', '#...#', '#...#', '#...#', '####.', '#....', '#....'],
  q: ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '....#'],
  r: ['.....', '.....', '#.##.', '##..#', '#....', '#....', '#....'],
  s: ['.....', '.....', '.####', '#....', '.###.', '....#', '####.'],
  t: ['.#...', '.#...', '###..', '.#...', '.#...', '.#..#', '..##.'],
  u: ['.....', '.....', '#...#', '#...#', '#...#', '#..##', '.##.#'],
  v: ['.....', '.....', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  w: ['.....', '.....', '#...#', '#...#', '#.#.#', '#.#.#', '.#.#.'],
  x: ['.....', '.....', '#...#', '.#.#.', '..#..', '.#.#.', '#...#'],
  y: ['.....', '.....', '#...#', '#...#', '#...#', '#...#', '.####', '....#', '.###.'],
  z: ['.....', '.....', '#####', '...#.', '..#..', '.#...', '#####'],
  '{': ['...#.', '..#..', '..#..', '.#...', '..#..', '..#..', '...#.'],
  '|': ['..#..', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  '}': ['.#...', '..#..', '..#..', '...#.', '..#..', '..#..', '.#...'],
  '~': ['.....', '.....', '.#...', '#.#.#', '...#.'],
  // A few non-ASCII symbols that captions use.
  '×': ['.....', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '.....'],
  δ: ['.##..', '#....', '.#...', '.###.', '#...#', '#...#', '.###.'],
  ε: ['.....', '.....', '.####', '#....', '.###.', '#....', '.####'],
  '∞': ['.....', '.....', '.#.#.', '#.#.#', '#.#.#', '.#.#.', '.....'],
  '±': ['..#..', '..#..', '#####', '..#..', '..#..', '.....', '#####'],
};

/** Drawn for characters missing from the table: a hollow box the size of a capital. */
const BOX: readonly string[] = ['#####', '#...#', '#...#', '#...#', '#...#', '#...#', '#####'];

/** Parsed glyphs: for each character, the list of [column, row] ink pixels. */
const INK = new Map<string, ReadonlyArray<readonly [number, number]>>();
const BOX_INK = parseGlyph('box', BOX);
for (const [ch, rows] of Object.entries(GLYPHS)) INK.set(ch, parseGlyph(ch, rows));

function parseGlyph(name: string, rows: readonly string[]): Array<readonly [number, number]> {
  if (rows.length > GLYPH_HEIGHT)
    throw new ShapeError(`font.ts: glyph ${JSON.stringify(name)} has ${rows.length} rows, expected at most ${GLYPH_HEIGHT}`);
  const ink: Array<readonly [number, number]> = [];
  rows.forEach((row, r) => {
    if (row.length !== GLYPH_WIDTH || /[^#.]/.test(row)) {
      throw new ShapeError(
        `font.ts: glyph ${JSON.stringify(name)} row ${r} is ${JSON.stringify(row)}, expected ${GLYPH_WIDTH} of '#' / '.'`,
      );
    }
    for (let c = 0; c < GLYPH_WIDTH; c++) if (row[c] === '#') ink.push([c, r]);
  });
  return ink;
}

/** True if `ch` (one code point) has its own glyph; anything else renders as a box. */
export function hasGlyph(ch: string): boolean {
  return INK.has(ch);
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1) {
    throw new ConfigError('font.ts text scale', 'a positive integer', String(scale));
  }
}

/** Width in pixels of `text` drawn at `scale` (widest line if it contains `\n`; no trailing spacing). */
export function textWidth(text: string, scale = 1): number {
  checkScale(scale);
  let widest = 0;
  for (const line of text.split('\n')) {
    const n = Array.from(line).length; // code points, so surrogate pairs count once
    if (n > 0) widest = Math.max(widest, (n * ADVANCE - 1) * scale);
  }
  return widest;
}

/** Height in pixels of `text` drawn at `scale`, including the descender rows of the last line. */
export function textHeight(text: string, scale = 1): number {
  checkScale(scale);
  const lines = text.split('\n').length;
  return ((lines - 1) * LINE_HEIGHT + GLYPH_HEIGHT) * scale;
}

/**
 * Draw `text` with its top-left corner at (x, y) — the top of a capital letter is row y, the baseline is
 * just below row y + 7·scale. Each font pixel becomes a scale×scale block. Pixels outside the canvas are
 * clipped. `\n` starts a new line. Returns the x just past the last drawn character (for chaining).
 */
export function drawText(canvas: Canvas, x: number, y: number, text: string, color: Color, scale = 1): number {
  checkScale(scale);
  x = Math.round(x);
  y = Math.round(y);
  let penX = x;
  let penY = y;
  for (const ch of text) {
    if (ch === '\n') {
      penX = x;
      penY += LINE_HEIGHT * scale;
      continue;
    }
    const ink = INK.get(ch) ?? BOX_INK;
    for (const [c, r] of ink) {
      const px = penX + c * scale;
      const py = penY + r * scale;
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) setPixel(canvas, px + dx, py + dy, color);
    }
    penX += ADVANCE * scale;
  }
  return penX;
}
