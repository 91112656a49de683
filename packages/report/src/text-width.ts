/**
 * Text widths for vega's layout in Node. Without a canvas vega guesses 0.8 × font size per character,
 * about 50% too wide for a sans-serif font: titles, legends and labels then reserve far more room than
 * they take and every chart is padded with white space. The charts use Arial's metrics (Liberation Sans
 * and Helvetica share them), so the widths below, from the Helvetica/Arial font metrics (1/1000 em),
 * make the layout match what the browser draws.
 */
import * as vega from 'vega';

// Widths of the printable ASCII characters 32 (space) … 126 (~), regular weight.
const ASCII = [
  278,
  278,
  355,
  556,
  556,
  889,
  667,
  191,
  333,
  333,
  389,
  584,
  278,
  333,
  278,
  278, // space … /
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  278,
  278,
  584,
  584,
  584,
  556, // 0 … ?
  1015,
  667,
  667,
  722,
  722,
  667,
  611,
  778,
  722,
  278,
  500,
  667,
  556,
  833,
  722,
  778, // @ … O
  667,
  778,
  722,
  667,
  611,
  722,
  667,
  944,
  667,
  667,
  611,
  278,
  278,
  278,
  469,
  556, // P … _
  333,
  556,
  556,
  500,
  556,
  556,
  278,
  556,
  556,
  222,
  222,
  500,
  222,
  833,
  556,
  556, // ` … o
  556,
  556,
  333,
  500,
  278,
  556,
  500,
  722,
  500,
  500,
  500,
  334,
  260,
  334,
  584, // p … ~
];

/** Width in em of one character (non-ASCII: Greek and symbols ≈ 0.6 em, wide scripts 1 em). */
function charEm(code: number): number {
  if (code >= 32 && code <= 126) return ASCII[code - 32]! / 1000;
  if (code >= 0x2e80) return 1;
  return 0.6;
}

/** Estimated width in px of `text` at `fontSize`; bold text is about 7% wider. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) em += charEm(ch.codePointAt(0)!);
  return em * fontSize * (bold ? 1.07 : 1) * 1.02;
}

interface TextItem {
  text?: unknown;
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

interface TextMetrics {
  width: (item: TextItem, text?: unknown) => number;
}

let installed = false;

/** Makes vega measure text with `textWidth` (vega calls a user-defined `textMetrics.width`). */
export function installTextMetrics(): void {
  if (installed) return;
  const metrics = (vega as unknown as { textMetrics?: TextMetrics }).textMetrics;
  if (!metrics) return; // a vega without the hook: keep its estimate
  metrics.width = (item, text) => {
    const value = text ?? item.text;
    const s = value == null ? '' : Array.isArray(value) ? value.join(' ') : String(value);
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const w = item.fontWeight;
    return textWidth(s, size, w === 'bold' || (typeof w === 'number' && w >= 600) || w === '600' || w === '700');
  };
  installed = true;
}
