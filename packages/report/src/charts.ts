/**
 * The report's charts: vega-lite specs built from the loaded runs, compiled to vega and rendered to SVG
 * strings in Node (vega's headless SVG renderer: no canvas, no browser, no network).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { CurvePoint } from '@advlab/core';
import { isEvent, type EvalFile, type GenerativeCurveName, type GenerativeRow, type MetricsRow, type TrainingRun } from './load.ts';
import { epsList, worstAt, type FrontierPoint } from './summarize.ts';
import { formatNumber } from './html.ts';
import { installTextMetrics } from './text-width.ts';

type Spec = Record<string, unknown>;

export const COLORS = {
  clean: '#4c78a8',
  fgsm: '#f58518',
  pgd: '#54a24b',
  robust: '#e45756',
  align: '#4c78a8',
  cos: '#b279a2',
  co: '#d62728',
  event: '#6f6f6f',
  frontier: '#222222',
} as const;

// Arial metrics (Liberation Sans and Helvetica share them): the widths vega lays text out with (text-width.ts).
const FONT = 'Arial, "Liberation Sans", Helvetica, sans-serif';

/** One look for every chart. */
const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  title: { fontSize: 14, fontWeight: 600, anchor: 'start', offset: 14, subtitleFontSize: 11, subtitleColor: '#555', subtitlePadding: 4 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#ececec', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', symbolStrokeWidth: 2, labelLimit: 280 },
  view: { stroke: '#d9d9d9' },
  line: { strokeWidth: 2 },
};

let chartNo = 0;

/** Renders a vega-lite spec to an SVG string; element ids are made unique across the charts of a page. */
export async function renderSvg(spec: Spec): Promise<string> {
  installTextMetrics();
  const compiled = vl.compile(spec as unknown as TopLevelSpec, { config: CONFIG as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const prefix = `c${++chartNo}-`;
    return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`);
  } finally {
    view.finalize();
  }
}

const pctAxis = (title: string, extra: Spec = {}) => ({ title, axis: { format: '.0%' }, ...extra });

/** The bounds of a log axis: powers of ten around the values, the lower `ratio` × the largest value or below. */
export interface LogDomain {
  /** 10^k ≤ ratio × max: values below it are drawn at it (the bottom of the axis). */
  floor: number;
  /** 10^k ≥ max. */
  top: number;
}

/**
 * A log axis for positive values up to `max`, spanning `ratio` (default 1e-6) of it: zeros and underflowed values
 * have no logarithm, so they are raised to the floor (`clampToFloor`) and rest on the bottom of the axis.
 * Undefined when there is no positive value.
 */
export function logDomain(max: number, ratio = 1e-6): LogDomain | undefined {
  if (!(max > 0 && Number.isFinite(max))) return undefined;
  return { floor: pow10(Math.floor(Math.log10(max * ratio))), top: pow10(Math.ceil(Math.log10(max))) };
}

/** 10^k exactly as written (10 ** -5 is 0.000009999999999999999). */
const pow10 = (k: number): number => Number(`1e${k}`);

export const clampToFloor = (v: number, d: LogDomain): number => Math.max(v, d.floor);

/** A log-scaled axis over the domain, ticks at the powers of ten (labelled 1e-6, 1e-5, …). */
const logAxis = (title: string, d: LogDomain, extra: Spec = {}) => {
  const lo = Math.round(Math.log10(d.floor));
  const values = Array.from({ length: Math.round(Math.log10(d.top)) - lo + 1 }, (_, i) => pow10(lo + i));
  return { title, scale: { type: 'log', domain: [d.floor, d.top], nice: false }, axis: { values, format: '.0e' }, ...extra };
};

/** Curves are drawn against the epoch when each epoch has one measurement, else against the step. */
export function curveAxis(run: TrainingRun): 'epoch' | 'step' {
  let attempt = 0;
  const seen = new Set<string>();
  for (const l of run.lines) {
    if (isEvent(l)) {
      attempt++;
      continue;
    }
    const key = `${attempt}:${l.epoch}`;
    if (seen.has(key)) return 'step';
    seen.add(key);
  }
  return 'epoch';
}

interface CurveData {
  axis: 'epoch' | 'step';
  xTitle: string;
  rows: { x: number; metric: string; value: number; attempt: string }[];
  co: { x: number; label: string; pgd?: number }[];
  events: { x: number; label: string }[];
  attempts: number;
}

const attemptName = (i: number) => (i === 1 ? 'first attempt' : `after rollback ${i - 1}`);

function curveData(run: TrainingRun, metrics: [keyof MetricsRow, string][]): CurveData {
  const axis = curveAxis(run);
  const xOf = (l: { epoch: number; step: number }) => (axis === 'epoch' ? l.epoch : l.step);
  const rows: CurveData['rows'] = [];
  const co: CurveData['co'] = [];
  const events: CurveData['events'] = [];
  let attempt = 1;
  for (const l of run.lines) {
    if (isEvent(l)) {
      events.push({ x: xOf(l), label: /roll/i.test(l.event) ? 'rollback' : 'event' });
      attempt++;
      continue;
    }
    for (const [key, label] of metrics) {
      const v = l[key];
      if (typeof v === 'number' && Number.isFinite(v)) rows.push({ x: xOf(l), metric: label, value: v, attempt: attemptName(attempt) });
    }
    if (l.co) co.push({ x: xOf(l), label: 'CO', pgd: l.pgd_acc });
  }
  return { axis, xTitle: axis === 'epoch' ? 'epoch' : 'training step (batches)', rows, co, events, attempts: attempt };
}

/** Rules (with a label above the plot) at the CO flags and the rollback events of a run. */
function markerLayers(d: CurveData): Spec[] {
  const layers: Spec[] = [];
  const x = { field: 'x', type: 'quantitative' };
  if (d.co.length) {
    layers.push(
      { data: { values: d.co }, mark: { type: 'rule', color: COLORS.co, strokeDash: [4, 3], strokeWidth: 1.5 }, encoding: { x } },
      {
        data: { values: d.co },
        mark: { type: 'text', color: COLORS.co, fontWeight: 'bold', fontSize: 10, baseline: 'bottom', dy: -3 },
        encoding: { x, y: { value: 0 }, text: { field: 'label' } },
      },
    );
  }
  if (d.events.length) {
    layers.push(
      { data: { values: d.events }, mark: { type: 'rule', color: COLORS.event, strokeDash: [1, 3], strokeWidth: 2 }, encoding: { x } },
      {
        data: { values: d.events },
        mark: { type: 'text', color: COLORS.event, fontSize: 10, baseline: 'top', align: 'left', dx: 3, dy: 3 },
        encoding: { x, y: { value: 0 }, text: { field: 'label' } },
      },
    );
  }
  return layers;
}

/**
 * One line per series through rows {x, metric, value}, drawn in x order and coloured by `metric`: `x`, `y` and
 * `color` add to the encodings (titles, axes, scales: e.g. `pctAxis`, `logAxis`), `mark` to the line mark.
 */
function seriesLayer(rows: object[], x: Spec, y: Spec, color: Spec = {}, mark: Spec = {}): Spec {
  return {
    data: { values: rows },
    mark: { type: 'line', ...mark },
    encoding: {
      x: { field: 'x', type: 'quantitative', ...x },
      y: { field: 'value', type: 'quantitative', ...y },
      color: { field: 'metric', type: 'nominal', title: null, ...color },
      order: { field: 'x', type: 'quantitative' },
    },
  };
}

function lineLayer(d: CurveData, domain: string[], range: string[], y: Spec): Spec {
  const layer = seriesLayer(
    d.rows,
    { title: d.xTitle, axis: d.axis === 'epoch' ? { tickMinStep: 1, format: 'd' } : { format: 'd' } },
    y,
    { scale: { domain, range } },
    { point: { filled: true, size: 28 } },
  );
  const encoding = layer.encoding as Spec;
  encoding.detail = { field: 'attempt', type: 'nominal' };
  if (d.attempts > 1) {
    // Abandoned attempts dashed, the one the run finished with solid.
    const names = Array.from({ length: d.attempts }, (_, i) => attemptName(i + 1));
    const dashes = names.map((_, i) => (i === names.length - 1 ? [1, 0] : i === 0 ? [5, 3] : [2, 2]));
    encoding.strokeDash = {
      field: 'attempt',
      type: 'nominal',
      title: null,
      scale: { domain: names, range: dashes },
      legend: { symbolType: 'stroke', symbolStrokeColor: '#555', symbolSize: 300 },
    };
  }
  return layer;
}

/** Held-out clean / FGSM / PGD accuracy against the epoch (or step), CO flags and rollbacks marked. */
export function accuracySpec(name: string, run: TrainingRun): Spec | undefined {
  const k = run.config?.pgdEvalSteps ?? 10;
  const pgd = `PGD-${k}`;
  const d = curveData(run, [
    ['clean_acc', 'clean'],
    ['fgsm_acc', 'FGSM'],
    ['pgd_acc', pgd],
  ]);
  if (d.rows.length === 0) return undefined;
  const eps = run.config?.eps ?? run.metrics.at(-1)?.eps;
  const layers: Spec[] = [
    lineLayer(
      d,
      ['clean', 'FGSM', pgd],
      [COLORS.clean, COLORS.fgsm, COLORS.pgd],
      pctAxis('held-out accuracy', { scale: { domain: [0, 1] } }),
    ),
  ];
  const rings = d.co.filter((c) => typeof c.pgd === 'number');
  if (rings.length) {
    layers.push({
      data: { values: rings },
      mark: { type: 'point', shape: 'circle', size: 150, strokeWidth: 2, color: COLORS.co, filled: false },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'pgd', type: 'quantitative' } },
    });
  }
  layers.push(...markerLayers(d));
  return {
    width: 420,
    height: 230,
    title: {
      text: `${name}: held-out accuracy`,
      subtitle: `clean, FGSM and ${pgd}${eps !== undefined ? ` at ε = ${eps}` : ''}${d.co.length ? '; red: catastrophic overfitting flagged' : ''}`,
    },
    layer: layers,
  };
}

/** Gradient alignment and cos(FGSM, PGD direction) against the epoch (or step). */
export function alignmentSpec(name: string, run: TrainingRun): Spec | undefined {
  const d = curveData(run, [
    ['grad_align', 'gradient alignment'],
    ['fgsm_pgd_cos', 'cos(FGSM, PGD)'],
  ]);
  if (d.rows.length === 0) return undefined;
  const lo = Math.min(0, ...d.rows.map((r) => r.value));
  return {
    width: 420,
    height: 230,
    title: { text: `${name}: gradient alignment`, subtitle: 'E[cos(∇ₓℓ(x), ∇ₓℓ(x+η))] and the cosine of the FGSM and PGD directions' },
    layer: [
      lineLayer(d, ['gradient alignment', 'cos(FGSM, PGD)'], [COLORS.align, COLORS.cos], { title: 'cosine', scale: { domain: [lo, 1] } }),
      ...markerLayers(d),
    ],
  };
}

export function classNamesOf(r: EvalFile): string[] {
  const k = Math.max(
    r.clean_per_class?.length ?? 0,
    r.worst_case?.per_class?.length ?? 0,
    ...r.attacks.map((a) => a.per_class?.length ?? 0),
  );
  return Array.from({ length: k }, (_, i) => r.class_names?.[i] ?? `class ${i}`);
}

/** The robust series per class at the first ε: the worst case, or the strongest attack. */
export function robustPerClass(r: EvalFile): { label: string; values: (number | null)[] } | undefined {
  const eps = r.worst_case?.eps ?? epsList(r)[0];
  if (eps === undefined) return undefined;
  const w = worstAt(r, eps);
  if (w?.per_class) return { label: `worst case, ε = ${eps}`, values: w.per_class };
  const attacks = r.attacks.filter((a) => a.eps === eps && a.per_class).sort((a, b) => a.robust_accuracy - b.robust_accuracy);
  const a = attacks[0];
  return a ? { label: `${a.name}, ε = ${eps}`, values: a.per_class! } : undefined;
}

/** Grouped bars per class: clean accuracy next to robust accuracy, with the class names. */
export function perClassSpec(name: string, r: EvalFile): Spec | undefined {
  const names = classNamesOf(r);
  const robust = robustPerClass(r);
  if (!r.clean_per_class || !robust || names.length === 0) return undefined;
  const rows: { class: string; series: string; value: number }[] = [];
  names.forEach((c, i) => {
    const clean = r.clean_per_class![i];
    const rob = robust.values[i];
    if (typeof clean === 'number') rows.push({ class: c, series: 'clean', value: clean });
    if (typeof rob === 'number') rows.push({ class: c, series: robust.label, value: rob });
  });
  if (rows.length === 0) return undefined;
  const long = names.some((c) => c.length > 5);
  return {
    // The step is per bar (the offset channel): two bars per class.
    width: { step: Math.max(12, Math.min(28, 300 / names.length)) },
    height: 220,
    title: { text: `${name}: accuracy per class`, subtitle: `clean vs ${robust.label}${r.n ? ` on ${r.n} examples` : ''}` },
    data: { values: rows },
    mark: { type: 'bar', cornerRadiusEnd: 1 },
    encoding: {
      x: {
        field: 'class',
        type: 'nominal',
        title: null,
        sort: names,
        axis: { labelAngle: long ? -35 : 0, labelAlign: long ? 'right' : 'center', labelLimit: 120 },
      },
      xOffset: { field: 'series', type: 'nominal', sort: ['clean', robust.label] },
      y: { field: 'value', type: 'quantitative', ...pctAxis('accuracy', { scale: { domain: [0, 1] } }) },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: ['clean', robust.label], range: [COLORS.clean, COLORS.robust] },
      },
    },
  };
}

/** Robust accuracy against ε per attack and for the worst case, clean accuracy as a rule (≥ 2 ε). */
export function epsSpec(name: string, r: EvalFile): Spec | undefined {
  const eps = epsList(r);
  if (eps.length < 2) return undefined;
  const rows = [
    ...r.attacks.map((a) => ({ eps: a.eps, series: a.name, value: a.robust_accuracy })),
    ...(r.worst_case_by_eps ?? []).map((w) => ({ eps: w.eps, series: 'worst case', value: w.robust_accuracy })),
  ];
  return {
    width: 420,
    height: 230,
    title: {
      text: `${name}: robust accuracy vs ε`,
      subtitle: `${r.norm ?? ''} threat model; dashed: clean accuracy ${(100 * r.clean_accuracy).toFixed(1)}%`,
    },
    layer: [
      {
        data: { values: [{ clean: r.clean_accuracy }] },
        mark: { type: 'rule', color: COLORS.clean, strokeDash: [6, 4] },
        encoding: { y: { field: 'clean', type: 'quantitative' } },
      },
      {
        data: { values: rows },
        mark: { type: 'line', point: { filled: true, size: 30 } },
        encoding: {
          x: { field: 'eps', type: 'quantitative', title: 'ε' },
          y: { field: 'value', type: 'quantitative', ...pctAxis('robust accuracy', { scale: { domain: [0, 1] } }) },
          color: { field: 'series', type: 'nominal', title: null },
          strokeDash: { condition: { test: "datum.series === 'worst case'", value: [2, 2] }, value: [1, 0] },
        },
      },
    ],
  };
}

/** All (clean, robust) points, labelled, with the Pareto frontier drawn through the non-dominated ones. */
export function frontierSpec(points: FrontierPoint[], frontier: FrontierPoint[]): Spec {
  // Axes span the points with a margin (to a multiple of 5%, at least 20% wide), within [0, 1].
  const span = (vals: number[]) => {
    let lo = Math.max(0, Math.floor(Math.min(...vals) * 20 - 0.5) / 20);
    let hi = Math.min(1, Math.ceil(Math.max(...vals) * 20 + 0.5) / 20);
    if (hi - lo < 0.2) lo = Math.max(0, hi - 0.2);
    if (hi - lo < 0.2) hi = Math.min(1, lo + 0.2);
    return [lo, hi];
  };
  // Points at the same place get one label listing them all.
  const labels = new Map<string, { clean: number; robust: number; label: string }>();
  for (const p of points) {
    const key = `${p.clean}:${p.robust}`;
    const at = labels.get(key);
    if (at) at.label += ` / ${p.label}`;
    else labels.set(key, { clean: p.clean, robust: p.robust, label: p.label });
  }
  const x = { field: 'clean', type: 'quantitative', ...pctAxis('clean accuracy', { scale: { domain: span(points.map((p) => p.clean)) } }) };
  const y = {
    field: 'robust',
    type: 'quantitative',
    ...pctAxis('robust accuracy', { scale: { domain: span(points.map((p) => p.robust)) } }),
  };
  return {
    width: 520,
    height: 320,
    title: {
      text: 'Clean vs robust accuracy',
      subtitle: 'one point per run (held-out PGD) and per evaluation × ε (worst case); line: the Pareto frontier',
    },
    layer: [
      {
        data: { values: frontier },
        mark: { type: 'line', color: COLORS.frontier, strokeWidth: 1.5, strokeDash: [5, 3] },
        encoding: { x, y, order: { field: 'clean', type: 'quantitative' } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 90, opacity: 0.9 },
        encoding: { x, y, color: { field: 'kind', type: 'nominal', title: null }, shape: { field: 'kind', type: 'nominal', title: null } },
      },
      {
        data: { values: [...labels.values()] },
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 6, dy: -3, fontSize: 10, color: '#333', limit: 320 },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
  };
}

/** The eigenvalue density of one source's weight Hessian, sampled for plotting (`densityCurve` of @advlab/core). */
export interface DensitySeries {
  name: string;
  x: number[];
  y: number[];
  /** Width of the Gaussians the quadrature was smoothed with. */
  sigma: number;
}

/** Floor of the density axis, relative to the highest density drawn. */
export const DENSITY_FLOOR = 1e-6;

/** The density axis of `densitySpec`: from `DENSITY_FLOOR` of the highest density (rounded down to a power of ten). */
export function densityDomain(curves: DensitySeries[]): LogDomain | undefined {
  let max = 0;
  for (const c of curves) for (const y of c.y) if (Number.isFinite(y) && y > max) max = y;
  return logDomain(max, DENSITY_FLOOR);
}

/**
 * The weight-Hessian eigenvalue density against the eigenvalue, one line per source, on a log density axis as
 * PyHessian plots its ESD (the few large outlying eigenvalues carry little mass). Undefined without a positive density.
 */
export function densitySpec(curves: DensitySeries[]): Spec | undefined {
  const d = densityDomain(curves);
  if (!d) return undefined;
  const rows = curves.flatMap((c) =>
    c.x.flatMap((x, i) => (Number.isFinite(x) && Number.isFinite(c.y[i]) ? [{ x, metric: c.name, value: clampToFloor(c.y[i]!, d) }] : [])),
  );
  return {
    width: 520,
    height: 260,
    title: {
      text: 'Weight-Hessian eigenvalue density',
      subtitle: `Gaussian-smoothed stochastic Lanczos quadrature (σ = ${curves.length === 1 ? formatNumber(curves[0]!.sigma, 3) : 'per source, below'}); density on a log scale from ${formatNumber(d.floor, 1)}`,
    },
    layer: [
      seriesLayer(
        rows,
        { title: 'eigenvalue', scale: { nice: false } },
        logAxis('density', d),
        {},
        { strokeWidth: 1.5, interpolate: 'linear' },
      ),
    ],
  };
}

/** The held-out measurements of a generative run that are charted against the step, one chart each. */
export const GENERATIVE_TRAINING_CHARTS = [
  {
    key: 'neg_elbo',
    kind: 'generative-neg-elbo',
    title: 'Held-out negative ELBO',
    subtitle: "nats per image (an autoencoder's: its reconstruction loss); one line per run",
    axis: 'negative ELBO (nats)',
    // Values sit far from 0 (around 100 nats on 28×28 images): an axis from 0 would flatten the curves.
    zero: false,
  },
  {
    key: 'mse',
    kind: 'generative-mse',
    title: 'Held-out reconstruction MSE',
    subtitle: 'per pixel, between x and its reconstruction; one line per run',
    axis: 'MSE',
    zero: true,
  },
  {
    key: 'latent_shift',
    kind: 'generative-latent-shift',
    title: 'Held-out latent shift',
    subtitle: "how far a 10-step PGD within the run's ε moves the encoding (KL for a VAE, L2 for an autoencoder)",
    axis: 'latent shift',
    zero: true,
  },
] as const satisfies readonly { key: keyof GenerativeRow; kind: string; title: string; subtitle: string; axis: string; zero: boolean }[];

/** A generative run's held-out lines, under the run's name. */
export interface GenerativeRunSeries {
  name: string;
  rows: GenerativeRow[];
}

/** One held-out measurement of generative runs (GENERATIVE_TRAINING_CHARTS) against the training step, one line per run. */
export function generativeTrainingSpec(chart: (typeof GENERATIVE_TRAINING_CHARTS)[number], runs: GenerativeRunSeries[]): Spec | undefined {
  const rows = runs.flatMap((r) =>
    r.rows.flatMap((l) => {
      const v = l[chart.key];
      return typeof v === 'number' && Number.isFinite(v) ? [{ x: l.step, metric: r.name, value: v }] : [];
    }),
  );
  if (rows.length === 0) return undefined;
  return {
    width: 420,
    height: 230,
    title: { text: chart.title, subtitle: chart.subtitle },
    layer: [
      seriesLayer(
        rows,
        { title: 'training step (batches)', axis: { format: 'd' } },
        { title: chart.axis, scale: { zero: chart.zero } },
        // Runs in the order given, not sorted by name.
        { scale: { domain: runs.map((r) => r.name) } },
        { point: { filled: true, size: 28 } },
      ),
    ],
  };
}

/** How each distortion–distance curve is drawn: the two attacks solid, the baseline they must beat dashed. */
const DISTORTION_SERIES: Record<GenerativeCurveName, { label: string; color: string; dash: number[] }> = {
  latent: { label: 'latent attack', color: COLORS.robust, dash: [1, 0] },
  output: { label: 'output attack', color: COLORS.fgsm, dash: [1, 0] },
  interpolation: { label: 'interpolation baseline', color: COLORS.event, dash: [6, 4] },
};

/** The plot area of `distortionSpec` in pixels: the point (x, y) of a curve is drawn at (x·width, (1 − y)·height). */
export const DISTORTION_PLOT = { width: 420, height: 260 } as const;

/**
 * The mean distortion–distance curve of each attack of one evaluated model (x and y both over [0, 1]); `pairs` is how
 * many pairs each curve averages. Undefined without a curve.
 */
export function distortionSpec(name: string, pairs: number, curves: Partial<Record<GenerativeCurveName, CurvePoint[]>>): Spec | undefined {
  const drawn = (Object.keys(DISTORTION_SERIES) as GenerativeCurveName[]).filter((k) => curves[k]?.length);
  if (drawn.length === 0) return undefined;
  const rows = drawn.flatMap((k) => curves[k]!.map((p) => ({ x: p.x, metric: DISTORTION_SERIES[k].label, value: p.y })));
  const labels = drawn.map((k) => DISTORTION_SERIES[k].label);
  const unit = { scale: { domain: [0, 1], nice: false } };
  const layer = seriesLayer(
    rows,
    { title: 'distortion ‖δ‖₂ / ‖x − xₜ‖₂', ...unit },
    { title: 'output distance y (1: unmoved, 0: reached xₜ)', ...unit },
    { scale: { domain: labels, range: drawn.map((k) => DISTORTION_SERIES[k].color) } },
    { strokeWidth: 2, interpolate: 'linear' },
  );
  // The same field and title as the colour: vega-lite merges the two into one legend showing the dashes.
  (layer.encoding as Spec).strokeDash = {
    field: 'metric',
    type: 'nominal',
    title: null,
    scale: { domain: labels, range: drawn.map((k) => DISTORTION_SERIES[k].dash) },
  };
  return {
    ...DISTORTION_PLOT,
    title: {
      text: `${name}: distortion–distance curves`,
      subtitle: `mean over ${pairs} (source, target) pair${pairs === 1 ? '' : 's'} of each pair's curve`,
    },
    layer: [layer],
  };
}
