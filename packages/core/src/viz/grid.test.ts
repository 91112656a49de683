import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPixel, type Canvas, type Color } from './canvas.ts';
import { defaultScale, formatAmplify, GRID_COLORS, type GridRow, type GridTile, renderAdversarialGrid, resolveAmplify } from './grid.ts';
import { ConfigError, ShapeError } from '../errors.ts';

const H = 28;
const W = 28;

/** A 28x28 grey image whose value at (r, c) is `f(r, c)`. */
function image(f: (r: number, c: number) => number, channels = 1): Float32Array {
  const out = new Float32Array(H * W * channels);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) for (let k = 0; k < channels; k++) out[(r * W + c) * channels + k] = f(r, c);
  return out;
}

function row(over: Partial<GridRow> = {}): GridRow {
  const clean = over.clean ?? image((r, c) => ((r * 7 + c * 3) % 10) / 10);
  return {
    clean,
    adversarial: over.adversarial ?? clean.slice(),
    height: H,
    width: W,
    channels: 1,
    trueLabel: 'Coat',
    cleanPred: 'Coat',
    cleanConf: 0.97,
    advPred: 'Bag',
    advConf: 0.88,
    ...over,
  };
}

function tile(tiles: GridTile[], r: number, column: GridTile['column']): GridTile {
  const t = tiles.find((x) => x.row === r && x.column === column);
  assert.ok(t, `no ${column} tile for row ${r}`);
  return t;
}

/** Pixel of the tile that shows image pixel (ir, ic) (centre of its scale×scale block). */
function at(canvas: Canvas, t: GridTile, scale: number, ir: number, ic: number): number[] {
  return getPixel(canvas, t.x + ic * scale + Math.floor(scale / 2), t.y + ir * scale + Math.floor(scale / 2));
}

function countColor(canvas: Canvas, x0: number, y0: number, x1: number, y1: number, color: Color): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(canvas.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(canvas.width, x1); x++) {
      const p = getPixel(canvas, x, y);
      if (p[0] === color[0] && p[1] === color[1] && p[2] === color[2]) n++;
    }
  }
  return n;
}

test('each extra row adds one tile + captions + gap of height', () => {
  const sizes = [1, 2, 5].map((n) => {
    const { canvas } = renderAdversarialGrid(
      Array.from({ length: n }, () => row()),
      { title: 'PGD linf eps=0.1' },
    );
    assert.equal(canvas.data.length, canvas.width * canvas.height * 4);
    return { width: canvas.width, height: canvas.height };
  });
  // Per row: 84 px tile (28 x default scale 3) + 5 px gap + 2 caption lines of 11 px + 12 px between rows.
  const step = 28 * 3 + 5 + 2 * 11 + 12;
  assert.equal(sizes[1]!.height - sizes[0]!.height, step);
  assert.equal(sizes[2]!.height - sizes[0]!.height, 4 * step);
  assert.equal(sizes[0]!.width, sizes[2]!.width);
  assert.ok(sizes[0]!.width >= 3 * 84 + 2 * 20, 'three 84 px tiles side by side');
  assert.ok(sizes[0]!.height > 84 + 3 * 11, 'title, header and key above the first tile');
});

test('tiles sit where the layout says, inside the canvas, without overlapping, at default scale 3 for 28x28', () => {
  const r = renderAdversarialGrid([row(), row(), row()]);
  assert.equal(r.scale, 3);
  assert.equal(defaultScale(28, 28), 3);
  assert.equal(defaultScale(32, 32), 3);
  assert.equal(defaultScale(224, 224), 1);
  assert.equal(r.tiles.length, 9);
  for (const t of r.tiles) {
    assert.equal(t.width, 84);
    assert.equal(t.height, 84);
    assert.ok(t.x >= 1 && t.y >= 1 && t.x + t.width < r.canvas.width && t.y + t.height < r.canvas.height);
  }
  for (const a of r.tiles) {
    for (const b of r.tiles) {
      if (a === b) continue;
      const apart = a.x + a.width < b.x || b.x + b.width < a.x || a.y + a.height < b.y || b.y + b.height < a.y;
      assert.ok(apart, `tiles ${a.row}/${a.column} and ${b.row}/${b.column} overlap`);
    }
  }
  assert.ok(tile(r.tiles, 0, 'clean').x < tile(r.tiles, 0, 'perturbation').x);
  assert.ok(tile(r.tiles, 0, 'perturbation').x < tile(r.tiles, 0, 'adversarial').x);
});

test('the centre of the clean tile is the input value x255 (1 channel)', () => {
  const clean = image((r, c) => (r === 14 && c === 14 ? 0.4 : 0.9));
  const { canvas, tiles } = renderAdversarialGrid([row({ clean, adversarial: clean.slice() })]);
  const t = tile(tiles, 0, 'clean');
  assert.deepEqual(getPixel(canvas, t.x + Math.floor(t.width / 2), t.y + Math.floor(t.height / 2)), [102, 102, 102, 255]); // 0.4 * 255
  const v = Math.round(clean[0]! * 255); // float32(0.9) * 255 = 229.49999
  assert.equal(v, 229);
  assert.deepEqual(getPixel(canvas, t.x + 1, t.y + 1), [v, v, v, 255]);
});

test('3-channel images keep their colours; the clean and adversarial tiles show their own inputs', () => {
  const clean = new Float32Array(H * W * 3);
  for (let i = 0; i < H * W; i++) clean.set([0.2, 0.6, 1], i * 3);
  const adversarial = clean.slice();
  adversarial.set([0.4, 0.6, 0.8], (14 * W + 14) * 3);
  const r = renderAdversarialGrid([row({ clean, adversarial, channels: 3 })], { amplify: 2 });
  assert.deepEqual(at(r.canvas, tile(r.tiles, 0, 'clean'), 3, 14, 14), [51, 153, 255, 255]);
  assert.deepEqual(at(r.canvas, tile(r.tiles, 0, 'adversarial'), 3, 14, 14), [102, 153, 204, 255]);
  // Perturbation (RGB): 0.5 + 2·δ per channel -> neutral grey where δ = 0.
  const p = tile(r.tiles, 0, 'perturbation');
  assert.deepEqual(at(r.canvas, p, 3, 0, 0), [128, 128, 128, 255]);
  assert.deepEqual(at(r.canvas, p, 3, 14, 14), [toB(0.5 + 2 * (0.4 - 0.2)), 128, toB(0.5 + 2 * (0.8 - 1))].concat(255));
});

function toB(v: number): number {
  return Math.round(Math.min(1, Math.max(0, Math.fround(v))) * 255);
}

test('perturbation tile (1 channel): white where δ = 0, red where δ > 0, blue where δ < 0', () => {
  const clean = image(() => 0.5);
  // Left third +0.05, right third -0.05, middle untouched.
  const adversarial = image((_, c) => (c < 9 ? 0.55 : c >= 19 ? 0.45 : 0.5));
  const r = renderAdversarialGrid([row({ clean, adversarial })]);
  assert.ok(Math.abs(r.amplify - 10) < 1e-4, `auto amplify = 0.5 / 0.05, found ${r.amplify}`);
  const p = tile(r.tiles, 0, 'perturbation');
  assert.deepEqual(at(r.canvas, p, 3, 14, 14), [255, 255, 255, 255], 'δ = 0 is white');
  const red = at(r.canvas, p, 3, 14, 2);
  assert.ok(red[0]! > 180 && red[1]! < 80 && red[2]! < 80, `δ > 0 should be red, found ${red}`);
  const blue = at(r.canvas, p, 3, 14, 25);
  assert.ok(blue[2]! > 180 && blue[0]! < 80, `δ < 0 should be blue, found ${blue}`);
  // With a smaller gain the same δ gives a paler red (0.5 + 2·0.05 = 0.6).
  const pale = renderAdversarialGrid([row({ clean, adversarial })], { amplify: 2 });
  const pr = at(pale.canvas, tile(pale.tiles, 0, 'perturbation'), 3, 14, 2);
  assert.ok(pr[0]! > 200 && pr[1]! > red[1]! && pr[1]! < 255, `paler red expected, found ${pr}`);
});

test("amplify: 'auto' = 0.5 / max|δ| over the whole grid; numbers pass through; the header shows it", () => {
  const clean = image(() => 0.5);
  const small = row({ clean, adversarial: image((r) => (r === 0 ? 0.55 : 0.5)) }); // max|δ| 0.05
  const big = row({ clean, adversarial: image((r) => (r === 3 ? 0.3 : 0.5)) }); // max|δ| 0.2
  assert.ok(Math.abs(resolveAmplify([small]) - 0.5 / 0.05) < 1e-4);
  assert.ok(Math.abs(resolveAmplify([small, big], 'auto') - 0.5 / 0.2) < 1e-6);
  assert.equal(resolveAmplify([small, big], 7), 7);
  assert.equal(resolveAmplify([row()]), 1, 'no perturbation at all -> gain 1');
  const r = renderAdversarialGrid([small, big]);
  assert.ok(Math.abs(r.amplify - 2.5) < 1e-6);
  assert.deepEqual(r.headers, ['clean', 'perturbation (×2.5)', 'adversarial']);
  assert.equal(renderAdversarialGrid([small], { amplify: 20 }).headers[1], 'perturbation (×20.0)');
  assert.equal(formatAmplify(5), '×5.0');
  assert.equal(formatAmplify(250), '×250');
  assert.equal(formatAmplify(0.5), '×0.50');
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => resolveAmplify([small], bad), ConfigError);
  }
});

test('adversarial caption is red when the prediction differs from the true label, green otherwise', () => {
  const fooled = renderAdversarialGrid([row({ advPred: 'Bag' })]);
  const held = renderAdversarialGrid([row({ advPred: 'Coat', advConf: 0.6 })]);
  for (const [r, want, notWant] of [
    [fooled, GRID_COLORS.wrong, GRID_COLORS.right],
    [held, GRID_COLORS.right, GRID_COLORS.wrong],
  ] as const) {
    const t = tile(r.tiles, 0, 'adversarial');
    const box = [t.x - 20, t.y + t.height + 1, t.x + t.width + 20, t.y + t.height + 16] as const;
    assert.ok(countColor(r.canvas, ...box, want) > 10, `caption in ${want}`);
    assert.equal(countColor(r.canvas, ...box, notWant), 0);
  }
  // The clean caption (correct prediction) is green, and "true: Coat" sits under it.
  const c = tile(fooled.tiles, 0, 'clean');
  assert.ok(countColor(fooled.canvas, c.x - 20, c.y + c.height + 1, c.x + c.width + 20, c.y + c.height + 16, GRID_COLORS.right) > 10);
  assert.ok(countColor(fooled.canvas, c.x - 20, c.y + c.height + 16, c.x + c.width + 20, c.y + c.height + 30, GRID_COLORS.muted) > 10);
});

test('the title counts examples fooled among those classified correctly before the attack', () => {
  const rows = [
    row({ advPred: 'Bag' }),
    row({ advPred: 'Coat' }),
    row({ advPred: 'Shirt' }),
    row({ cleanPred: 'Shirt', advPred: 'Shirt' }),
  ];
  assert.equal(
    renderAdversarialGrid(rows, { title: 'PGD linf eps=0.1' }).title,
    'PGD linf eps=0.1: 2 of 3 fooled (+1 already wrong on clean)',
  );
  assert.equal(renderAdversarialGrid(rows.slice(0, 3)).title, '2 of 3 fooled');
});

test('bad input is rejected with a message naming what was wrong', () => {
  assert.throws(() => renderAdversarialGrid([]), ShapeError);
  assert.throws(() => renderAdversarialGrid([row({ adversarial: new Float32Array(10) })]), /rows\[0\]\.adversarial.*784/);
  assert.throws(() => renderAdversarialGrid([row(), row({ height: 14, width: 56 })]), /rows\[1\] is 14x56x1, expected 28x28x1/);
  assert.throws(
    () => renderAdversarialGrid([row({ channels: 2, clean: new Float32Array(1568), adversarial: new Float32Array(1568) })]),
    ShapeError,
  );
  assert.throws(() => renderAdversarialGrid([row({ cleanConf: 97 })]), /cleanConf: expected a confidence in \[0,1\], found 97/);
  assert.throws(() => renderAdversarialGrid([row()], { scale: 0 }), ConfigError);
});

test('long labels widen their column instead of overlapping the next one', () => {
  const short = renderAdversarialGrid([row()]);
  const long = renderAdversarialGrid([row({ trueLabel: 'German shepherd dog', cleanPred: 'German shepherd dog' })]);
  assert.ok(long.canvas.width > short.canvas.width);
  const c = tile(long.tiles, 0, 'clean');
  const p = tile(long.tiles, 0, 'perturbation');
  assert.ok(p.x - (c.x + c.width) > tile(short.tiles, 0, 'perturbation').x - (tile(short.tiles, 0, 'clean').x + 84));
});

test('a colour key under the perturbation header: blue-white-red for 1 channel, grey ramp for 3', () => {
  const isRed = (p: number[]) => p[0]! > 180 && p[1]! < 80 && p[2]! < 80;
  const isBlue = (p: number[]) => p[2]! > 180 && p[0]! < 80;
  const keyPixels = (r: ReturnType<typeof renderAdversarialGrid>) => {
    const t = tile(r.tiles, 0, 'perturbation');
    const out: number[][] = [];
    for (let y = t.y - 14; y < t.y - 1; y++) for (let x = t.x - 20; x < t.x + t.width + 20; x++) out.push(getPixel(r.canvas, x, y));
    return out;
  };
  const grey = keyPixels(renderAdversarialGrid([row()]));
  assert.ok(grey.some(isRed) && grey.some(isBlue), '1-channel key has both ends of the diverging map');
  const rgb = new Float32Array(H * W * 3).fill(0.5);
  const colour = keyPixels(renderAdversarialGrid([row({ clean: rgb, adversarial: rgb.slice(), channels: 3 })]));
  assert.ok(!colour.some(isRed) && !colour.some(isBlue), '3-channel key has no diverging colours');
  assert.ok(
    colour.some((p) => p[0] === p[1] && p[1] === p[2] && p[0]! < 20),
    '3-channel key starts dark',
  );
});
