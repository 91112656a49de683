import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCanvas, type Canvas } from './canvas.ts';
import { ADVANCE, drawText, GLYPH_ASCENT, GLYPH_HEIGHT, GLYPH_WIDTH, hasGlyph, textHeight, textWidth } from './font.ts';
import { ConfigError } from '../errors.ts';

const INK = [10, 20, 30] as const;

/** Set of "x,y" of pixels that are not the white background. */
function inked(c: Canvas): Set<string> {
  const out = new Set<string>();
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const i = (y * c.width + x) * 4;
      if (c.data[i] !== 255 || c.data[i + 1] !== 255 || c.data[i + 2] !== 255) out.add(`${x},${y}`);
    }
  }
  return out;
}

function render(text: string, scale = 1, x = 0, y = 0): Canvas {
  const c = createCanvas(Math.max(1, textWidth(text, scale) + x + 2), textHeight(text, scale) + y + 2);
  drawText(c, x, y, text, INK, scale);
  return c;
}

test('textWidth: advance of 6 per character, no trailing gap, widest line, scaled', () => {
  assert.equal(textWidth(''), 0);
  assert.equal(textWidth('A'), GLYPH_WIDTH);
  assert.equal(textWidth('AB'), GLYPH_WIDTH + ADVANCE);
  assert.equal(textWidth('Coat 97%'), 8 * 6 - 1);
  assert.equal(textWidth('Coat 97%', 3), (8 * 6 - 1) * 3);
  assert.equal(textWidth('ab\nabcd\nc'), 4 * 6 - 1);
  assert.equal(textWidth('×δ'), 11, 'non-ASCII symbols count as one character each');
  assert.equal(textHeight('x'), GLYPH_HEIGHT);
  assert.equal(textHeight('x\ny', 2), (11 + 9) * 2);
});

test('drawText sets pixels of the given colour, inside the text box', () => {
  const c = render('Coat 97%', 1, 3, 2);
  const ink = inked(c);
  assert.ok(ink.size > 40, `expected a fair amount of ink, found ${ink.size} pixels`);
  const w = textWidth('Coat 97%');
  for (const key of ink) {
    const [x, y] = key.split(',').map(Number) as [number, number];
    assert.ok(x >= 3 && x < 3 + w && y >= 2 && y < 2 + GLYPH_ASCENT, `ink at ${key} outside the text box`);
    const i = (y * c.width + x) * 4;
    assert.deepEqual([...c.data.subarray(i, i + 4)], [...INK, 255]);
  }
});

test('different strings give different pixel patterns; the same string gives the same one', () => {
  const key = (t: string) => [...inked(render(t))].sort().join(' ');
  assert.equal(key('Coat 97%'), key('Coat 97%'));
  assert.notEqual(key('Coat 97%'), key('Coat 98%'));
  assert.notEqual(key('Coat 97%'), key('Bag 88%'));
  assert.notEqual(key('l2'), key('12'));
  assert.notEqual(key('O'), key('0'));
});

test('every printable ASCII character has its own glyph; all but space have ink; no two are identical', () => {
  const seen = new Map<string, string>();
  for (let code = 32; code <= 126; code++) {
    const ch = String.fromCharCode(code);
    assert.ok(hasGlyph(ch), `no glyph for ${JSON.stringify(ch)}`);
    const pattern = [...inked(render(ch))].sort().join(' ');
    if (ch === ' ') {
      assert.equal(pattern, '');
      continue;
    }
    assert.notEqual(pattern, '', `glyph ${JSON.stringify(ch)} draws nothing`);
    assert.ok(!seen.has(pattern), `glyph ${JSON.stringify(ch)} is identical to ${JSON.stringify(seen.get(pattern))}`);
    seen.set(pattern, ch);
  }
  for (const ch of ['g', 'j', 'p', 'q', 'y']) {
    const maxY = Math.max(...[...inked(render(ch))].map((k) => Number(k.split(',')[1])));
    assert.ok(maxY >= GLYPH_ASCENT, `${ch} should descend below the baseline`);
  }
});

test('unknown characters draw as a hollow box', () => {
  assert.equal(hasGlyph('€'), false);
  const box = inked(render('€'));
  assert.equal(box.size, 2 * 5 + 2 * 5, '5x7 outline');
  assert.ok(box.has('0,0') && box.has('4,6') && !box.has('2,3'));
  assert.deepEqual(inked(render('\u{1F600}')), box, 'a surrogate pair is one unknown character');
  assert.equal(textWidth('\u{1F600}'), GLYPH_WIDTH);
});

test('scale turns every font pixel into a scale×scale block', () => {
  const one = inked(render('Bag 88%', 1));
  const three = inked(render('Bag 88%', 3));
  assert.equal(three.size, one.size * 9);
  for (const key of one) {
    const [x, y] = key.split(',').map(Number) as [number, number];
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) assert.ok(three.has(`${x * 3 + dx},${y * 3 + dy}`));
  }
});

test('text is clipped at the canvas edge and a bad scale is rejected', () => {
  const c = createCanvas(8, 4);
  drawText(c, -3, -2, 'WWW', INK);
  assert.ok(inked(c).size > 0);
  assert.throws(() => drawText(c, 0, 0, 'x', INK, 0), ConfigError);
  assert.throws(() => textWidth('x', 1.5), ConfigError);
});
