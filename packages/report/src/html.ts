/** HTML helpers: every user string goes through `esc` before it reaches the page. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and (quoted) attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export const pct = (v: number | undefined | null, digits = 1): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '—';

/**
 * A measured number to `digits` significant digits, in exponent form (1.482e-6) when very large or small;
 * '—' when missing or not finite.
 */
export function formatNumber(v: number | undefined | null, digits = 4): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(Math.max(0, digits - 1));
  return String(Number(v.toPrecision(digits)));
}

export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A table from already-escaped cell HTML; `numeric` columns are right-aligned. */
export function table(head: string[], rows: string[][], opts: { numeric?: number[]; cls?: string } = {}): string {
  const num = new Set(opts.numeric ?? []);
  const cell = (tag: string, c: string, j: number) => `<${tag}${num.has(j) ? ' class="num"' : ''}>${c}</${tag}>`;
  return `<div class="table-wrap"><table${opts.cls ? ` class="${opts.cls}"` : ''}><thead><tr>${head.map((h, j) => cell('th', h, j)).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, j) => cell('td', c, j)).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

export const CSS = `
:root { --fg: #1f2328; --muted: #59636e; --line: #d8dee4; --bg-soft: #f6f8fa; --ok: #1a7f37; --bad: #cf222e; --skip: #7d8590; --accent: #0969da; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: #fff; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 64px; }
header.top { border-bottom: 1px solid var(--line); padding-bottom: 12px; margin-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
p, li { max-width: 80ch; }
.muted, .meta { color: var(--muted); }
.meta { font-size: 13px; margin: 0; }
.small { font-size: 12px; white-space: nowrap; }
header.top .meta { max-width: none; margin: 2px 0; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; margin: 10px 0 0; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.table-wrap { overflow-x: auto; margin: 8px 0 12px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #fafbfc; }
table.kv th { text-align: left; font-weight: 500; color: var(--muted); background: none; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; line-height: 20px; white-space: nowrap; }
.badge.passed { background: #dafbe1; color: var(--ok); }
.badge.failed { background: #ffebe9; color: var(--bad); }
.badge.skipped { background: #eaeef2; color: var(--skip); }
.badge.co { background: #ffebe9; color: var(--bad); }
.charts { display: flex; flex-wrap: wrap; gap: 12px 20px; align-items: flex-start; }
figure.chart { margin: 0; padding: 4px; border: 1px solid var(--line); border-radius: 6px; background: #fff; max-width: 100%; overflow-x: auto; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
.notes { font-size: 13px; margin: 6px 0 0; padding-left: 18px; }
.notes li { margin: 2px 0; }
.notes .co { color: var(--bad); font-weight: 600; }
.gallery { display: flex; flex-direction: column; gap: 20px; }
.gallery figure { margin: 0; }
.gallery img { display: block; max-width: 100%; height: auto; image-rendering: pixelated; border: 1px solid var(--line); border-radius: 4px; }
.gallery figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
details { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; margin: 8px 0; background: #fff; }
.columns { display: flex; flex-wrap: wrap; gap: 0 40px; align-items: flex-start; }
h4 { font-size: 14px; margin: 14px 0 4px; }
details > summary { cursor: pointer; font-weight: 600; }
details pre { background: var(--bg-soft); padding: 10px; border-radius: 4px; overflow-x: auto; max-height: 420px; }
footer { margin-top: 48px; border-top: 1px solid var(--line); padding-top: 10px; font-size: 12px; color: var(--muted); }
@media print { details { break-inside: avoid; } figure.chart { break-inside: avoid; } }
`;
