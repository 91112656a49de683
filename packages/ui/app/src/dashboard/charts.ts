/**
 * The dashboard's charts, drawn with Observable Plot (SVG, no eval: it runs under the page's strict CSP, which
 * vega's expression compiler would not).
 */
import * as Plot from '@observablehq/plot';
import { h } from '../dom.ts';
import type { MetricsEntry } from '../api.ts';
import { debiasedEma } from './smoothing.ts';

/** The held-out measures a metrics line may carry, in the order the dashboard shows them. */
export const CURVES: readonly { key: string; title: string; percent?: boolean }[] = [
  { key: 'clean_acc', title: 'held-out clean accuracy', percent: true },
  { key: 'fgsm_acc', title: 'held-out FGSM accuracy', percent: true },
  { key: 'pgd_acc', title: 'held-out PGD accuracy', percent: true },
  { key: 'loss', title: 'training loss' },
  { key: 'grad_align', title: 'gradient alignment' },
  { key: 'fgsm_pgd_cos', title: 'FGSM–PGD cosine' },
  { key: 'linearity_error', title: 'linearity error γ' },
  { key: 'input_top_eigenvalue', title: 'input top eigenvalue' },
  { key: 'elle', title: 'ELLE error' },
  { key: 'cure', title: 'CURE curvature' },
  { key: 'unclipped_fraction', title: 'Sophia unclipped fraction' },
];

/** One run's lines, under the label the charts show. */
export interface RunCurves {
  label: string;
  lines: readonly MetricsEntry[];
}

interface Point {
  run: string;
  step: number;
  epoch: number;
  value: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const field = (l: MetricsEntry, key: string): unknown => (l as unknown as Record<string, unknown>)[key];

/** Whether any of the runs has a finite value of `key` on some line. */
export function hasCurve(runs: readonly RunCurves[], key: string): boolean {
  return runs.some((r) => r.lines.some((l) => num(field(l, key)) !== undefined));
}

/**
 * One measure of several runs overlaid (colour = run): the raw values, faint when smoothed; the smoothed
 * curve (debiased EMA with `smoothing`); CO-flagged lines as red rings, at-chance lines as grey triangles,
 * events (rollbacks, method switches) as dashed rules.
 */
export function curveChart(curve: (typeof CURVES)[number], runs: readonly RunCurves[], smoothing: number, width: number): HTMLElement {
  const raw: Point[] = [];
  const smooth: Point[] = [];
  const co: Point[] = [];
  const atChance: Point[] = [];
  const events: { run: string; step: number; event: string }[] = [];
  for (const r of runs) {
    const pts: Point[] = [];
    for (const l of r.lines) {
      const event = field(l, 'event');
      if (typeof event === 'string') {
        events.push({ run: r.label, step: l.step, event });
        continue;
      }
      const value = num(field(l, curve.key));
      if (value === undefined) continue;
      const p = { run: r.label, step: l.step, epoch: l.epoch, value };
      pts.push(p);
      if (field(l, 'co') === true) co.push(p);
      if (field(l, 'at_chance') === true) atChance.push(p);
    }
    raw.push(...pts);
    if (smoothing > 0) {
      const s = debiasedEma(
        pts.map((p) => p.value),
        smoothing,
      );
      smooth.push(...pts.map((p, i) => ({ ...p, value: s[i]! })));
    }
  }
  const labels = runs.map((r) => r.label);
  const title = (p: Point) =>
    `${p.run}\nepoch ${p.epoch}, batch ${p.step}\n${curve.percent ? `${(p.value * 100).toFixed(2)}%` : p.value.toPrecision(4)}`;
  const plot = Plot.plot({
    width,
    height: 220,
    marginLeft: 52,
    x: { label: 'batch', grid: true },
    y: { label: null, grid: true, ...(curve.percent ? { percent: true, domain: [0, 100] } : {}) },
    color: { domain: labels, legend: false },
    marks: [
      Plot.ruleX(events, {
        x: 'step',
        stroke: 'run',
        strokeDasharray: '4,3',
        title: (e: { run: string; event: string }) => `${e.run}: ${e.event}`,
      }),
      Plot.lineY(raw, {
        x: 'step',
        y: 'value',
        stroke: 'run',
        strokeOpacity: smoothing > 0 ? 0.25 : 1,
        marker: raw.length < 40 ? 'circle-stroke' : undefined,
      }),
      smoothing > 0 ? Plot.lineY(smooth, { x: 'step', y: 'value', stroke: 'run', strokeWidth: 2 }) : null,
      Plot.dot(raw, { x: 'step', y: 'value', r: 6, fill: 'run', fillOpacity: 0, title }),
      Plot.dot(atChance, { x: 'step', y: 'value', symbol: 'triangle', r: 5, fill: '#888' }),
      Plot.dot(co, { x: 'step', y: 'value', r: 7, stroke: '#d62728', strokeWidth: 2.5 }),
    ],
  });
  return h('figure', { class: 'chart', 'data-metric': curve.key, 'data-points': raw.length }, h('figcaption', {}, curve.title), plot);
}

/** A legend of the runs' colours and of the marks, shared by the charts. */
export function legend(runs: readonly RunCurves[]): HTMLElement {
  const swatches = Plot.legend({ color: { domain: runs.map((r) => r.label), type: 'categorical' } });
  return h(
    'div',
    { class: 'legend' },
    swatches,
    h(
      'span',
      { class: 'marks-key' },
      h('span', { class: 'mark-co' }, '◯'),
      ' CO flagged  ',
      h('span', { class: 'mark-chance' }, '▲'),
      ' at chance  ',
      h('span', { class: 'mark-event' }, '┆'),
      ' rollback / event',
    ),
  );
}

/** A point of the clean–robust frontier. */
export interface FrontierPoint {
  label: string;
  kind: string;
  clean: number;
  robust: number;
}

/** Clean against robust accuracy of the selected runs (training's last held-out line, and their evaluations). */
export function frontierChart(points: readonly FrontierPoint[], width: number): HTMLElement {
  const plot = Plot.plot({
    width,
    height: 320,
    marginLeft: 52,
    x: { label: 'clean accuracy (%)', percent: true, grid: true },
    y: { label: 'robust accuracy (%)', percent: true, grid: true },
    symbol: { legend: true },
    marks: [
      Plot.dot(points, {
        x: 'clean',
        y: 'robust',
        symbol: 'kind',
        stroke: 'label',
        r: 5,
        title: (p: FrontierPoint) => `${p.label}: ${p.kind}`,
      }),
      Plot.text(points, { x: 'clean', y: 'robust', text: 'label', dy: -10, fontSize: 10 }),
    ],
  });
  return h(
    'figure',
    { class: 'chart', 'data-chart': 'frontier', 'data-points': points.length },
    h('figcaption', {}, 'clean–robust frontier'),
    plot,
  );
}

/** Robust accuracy per class of one evaluation: one bar per class. */
export function perClassChart(classNames: readonly string[], values: readonly (number | null)[], width: number): HTMLElement {
  const data = values.flatMap((v, k) => (v === null ? [] : [{ name: classNames[k] ?? String(k), value: v }]));
  return Plot.plot({
    width,
    height: 24 * data.length + 40,
    marginLeft: 110,
    x: { label: 'robust accuracy (%)', percent: true, domain: [0, 100], grid: true },
    y: { label: null, domain: data.map((d) => d.name) },
    marks: [Plot.barX(data, { x: 'value', y: 'name', fill: '#4c78a8' }), Plot.ruleX([0])],
  }) as HTMLElement;
}
