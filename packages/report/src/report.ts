/**
 * One self-contained HTML report from run directories and evaluations: inline CSS, inline SVG charts
 * (vega-lite rendered in Node), images as data URIs, no script, no external resource.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, platform, release } from 'node:os';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { CHECK_DOCS, densityCurve, type CheckCode } from '@advlab/core';
import { writeFileAtomic } from '@advlab/node';
import {
  accuracySpec,
  alignmentSpec,
  DENSITY_FLOOR,
  densityDomain,
  densitySpec,
  distortionSpec,
  epsSpec,
  frontierSpec,
  GENERATIVE_TRAINING_CHARTS,
  generativeTrainingSpec,
  perClassSpec,
  renderSvg,
  type DensitySeries,
} from './charts.ts';
import { CSS, esc, formatNumber, pct, seconds, table } from './html.ts';
import {
  GENERATIVE_CURVES,
  INPUT_MEASURES,
  isEvent,
  isGenerativeRow,
  isGenerativeRun,
  loadSources,
  type Curvature,
  type Evaluation,
  type GalleryImage,
  type GenerativeCurveName,
  type GenerativeEval,
  type Source,
  type TrainingRun,
} from './load.ts';
import { epsList, frontierPoints, meanDistortionCurve, overviewRows, paretoFrontier, worstAt } from './summarize.ts';

/** A caller's table, shown as its own section after the overview (every cell is escaped; an array cell is one line per item). */
export interface TableSection {
  id: string;
  title: string;
  note?: string;
  headers: string[];
  rows: (string | string[])[][];
}

export interface ReportOptions {
  /** Page title (default "advlab report"). */
  title?: string;
  /** Extra tables (e.g. a suite's findings), shown after the overview. */
  sections?: TableSection[];
  /**
   * Draw the frontier from the evaluations at this ε only (clean vs worst case), leaving out the
   * training runs' held-out points, which are measured at each run's own ε.
   */
  frontierEps?: number;
}

function tableSection(t: TableSection): Section {
  const cell = (c: string | string[]) => (Array.isArray(c) ? c.map(esc).join('<br>') : esc(c));
  return {
    id: `t-${t.id}`,
    title: t.title,
    html: `${t.note ? `<p class="muted">${esc(t.note)}</p>` : ''}${table(
      t.headers.map(esc),
      t.rows.map((r) => r.map(cell)),
    )}`,
  };
}

interface Section {
  id: string;
  title: string;
  html: string;
}

const VERSION = (() => {
  try {
    return String(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return 'unknown';
  }
})();

async function figure(spec: Record<string, unknown> | undefined, kind: string): Promise<string> {
  if (!spec) return '';
  return `<figure class="chart" data-chart="${esc(kind)}">${await renderSvg(spec)}</figure>`;
}

function overviewSection(sources: Source[]): Section | undefined {
  const rows = overviewRows(sources);
  // Curvature reports and images alone have no accuracy to show.
  if (rows.length === 0) return undefined;
  const body = rows.map((r) => [
    `<strong>${esc(r.name)}</strong>`,
    `${esc(r.kind)}<br><span class="small muted">${esc(r.basis)}</span>`,
    esc(r.model ?? '—'),
    esc(r.method ?? '—'),
    esc(r.eps ?? '—'),
    esc(r.epochs ?? '—'),
    pct(r.clean),
    pct(r.fgsm),
    pct(r.pgd),
    pct(r.worst),
    pct(r.testAccuracy),
    r.coEpochs === undefined ? '—' : r.coEpochs.length ? `<span class="badge co">${esc(r.coEpochs.join(', '))}</span>` : 'none',
    seconds(r.secondsPerEpoch),
  ]);
  const html = `<p class="muted">Training runs: accuracies on the held-out set at the last measurement (PGD as measured during training). Evaluations: at the first ε; worst case = every attack combined per example.</p>${table(
    ['run', 'kind', 'model', 'method', 'ε', 'epochs', 'clean', 'FGSM', 'PGD', 'worst case', 'test acc.', 'CO epochs', 'time / epoch'],
    body,
    { numeric: [4, 5, 6, 7, 8, 9, 10, 12] },
  )}`;
  return { id: 'overview', title: 'Overview', html };
}

function curveNotes(run: TrainingRun): string {
  const items: string[] = [];
  for (const l of run.lines) {
    if (isEvent(l)) items.push(`<li>epoch ${esc(l.epoch)}, step ${esc(l.step)}: ${esc(l.event)}</li>`);
    else if (l.co)
      items.push(
        `<li><span class="co">CO</span> at epoch ${esc(l.epoch)}, step ${esc(l.step)}: ${esc((l.co_rules ?? []).join(', '))}${l.co_detail ? ` — ${esc(l.co_detail)}` : ''}</li>`,
      );
  }
  for (const n of run.notes) items.push(`<li class="muted">${esc(n)}</li>`);
  return items.length ? `<ul class="notes">${items.join('')}</ul>` : '';
}

async function curvesSection(sources: Source[]): Promise<Section | undefined> {
  const parts: string[] = [];
  for (const s of sources) {
    if (!s.run || s.run.metrics.length === 0) continue;
    const charts = (await figure(accuracySpec(s.name, s.run), 'accuracy')) + (await figure(alignmentSpec(s.name, s.run), 'alignment'));
    parts.push(`<h3>${esc(s.name)}</h3><div class="charts">${charts}</div>${curveNotes(s.run)}`);
  }
  return parts.length ? { id: 'curves', title: 'Training curves', html: parts.join('') } : undefined;
}

function evalTable(e: Evaluation): string {
  const r = e.report;
  const eps = epsList(r);
  const names = [...new Set(r.attacks.map((a) => a.name))];
  const head = ['', ...eps.map((x) => `ε = ${esc(x)}`), 'cost (grad. evals)', 'time'];
  const numeric = Array.from({ length: eps.length + 2 }, (_, i) => i + 1);
  const rows: string[][] = [['clean', ...eps.map(() => pct(r.clean_accuracy)), '—', '—']];
  for (const n of names) {
    const at = eps.map((x) => r.attacks.find((a) => a.name === n && a.eps === x));
    const cost = at.find((a) => a?.cost !== undefined)?.cost;
    const time = at.reduce((t, a) => t + (a?.seconds ?? 0), 0);
    rows.push([
      esc(n),
      ...at.map((a) => pct(a?.robust_accuracy)),
      cost === undefined ? '—' : esc(cost),
      seconds(at.some((a) => a?.seconds !== undefined) ? time : undefined),
    ]);
  }
  if (r.worst_case_by_eps?.length || r.worst_case) {
    const used = (r.worst_case_by_eps?.[0] ?? r.worst_case)?.attacks;
    rows.push([
      `<strong>worst case</strong>${used?.length ? `<br><span class="muted">${esc(used.join(' + '))}</span>` : ''}`,
      ...eps.map((x) => `<strong>${pct(worstAt(r, x)?.robust_accuracy)}</strong>`),
      '—',
      '—',
    ]);
  }
  return table(head, rows, { numeric });
}

async function evaluationsSection(sources: Source[]): Promise<Section | undefined> {
  const parts: string[] = [];
  for (const s of sources) {
    if (!s.evaluation) continue;
    const r = s.evaluation.report;
    const meta = [
      r.model && `model ${esc(r.model)}`,
      r.dataset && `data ${esc(r.dataset)}`,
      r.n !== undefined && `first ${esc(r.n)} test examples`,
      r.norm && `${esc(r.norm)} threat model`,
      r.seed !== undefined && `seed ${esc(r.seed)}`,
      r.seconds !== undefined && `${seconds(r.seconds)}`,
    ].filter(Boolean);
    const charts = (await figure(epsSpec(s.name, r), 'eps')) + (await figure(perClassSpec(s.name, r), 'per-class'));
    parts.push(
      `<h3>${esc(s.name)}</h3><p class="meta">${meta.join(' · ')} — <span class="mono">${esc(s.evaluation.file)}</span></p>${evalTable(s.evaluation)}${charts ? `<div class="charts">${charts}</div>` : ''}`,
    );
  }
  return parts.length ? { id: 'evaluations', title: 'Evaluations', html: parts.join('') } : undefined;
}

async function frontierSection(sources: Source[], onlyEps?: number): Promise<Section | undefined> {
  const points = frontierPoints(sources).filter((p) => onlyEps === undefined || (p.kind.startsWith('evaluation') && p.eps === onlyEps));
  if (points.length < 2) return undefined;
  const front = paretoFrontier(points);
  // Equal points are all on the frontier (the frontier line keeps one of them).
  const onFront = new Set(points.filter((p) => front.some((f) => f.clean === p.clean && f.robust === p.robust)));
  const rows = [...points]
    .sort((a, b) => b.robust - a.robust || b.clean - a.clean)
    .map((p) => [
      esc(p.label),
      esc(p.kind),
      pct(p.clean),
      pct(p.robust),
      onFront.has(p) ? '<span class="badge passed">on the frontier</span>' : '<span class="muted">dominated</span>',
    ]);
  const html = `<p class="muted">A point is on the frontier when no other point has both higher (or equal) clean and higher (or equal) robust accuracy. Points at different ε are not directly comparable: the ε is in each label.</p><div class="charts">${await figure(frontierSpec(points, front), 'frontier')}</div>${table(['point', 'measured as', 'clean', 'robust', ''], rows, { numeric: [2, 3] })}`;
  return { id: 'frontier', title: 'Clean–robust frontier', html };
}

const INPUT_LABELS: Record<(typeof INPUT_MEASURES)[number], string> = {
  top_eigenvalue: 'top eigenvalue of ∇ₓ²ℓ',
  linearity_error: 'linearity error γ',
  elle: 'ELLE error',
  cure: 'CURE',
};

/** A curvature report as two tables: the weight Hessian of the mean loss, and the input measures over examples. */
function curvatureTables(c: Curvature): string {
  const r = c.report;
  const h = r.hessian;
  const f = (v: number) => esc(formatNumber(v));
  const weight: string[][] = h.top_eigenvalues.map((e, i) => [
    `${i ? 'eigenvalue' : 'top eigenvalue'} λ<sub>${i + 1}</sub>`,
    f(e),
    `${esc(h.iterations[i])} Hessian-vector products, ${h.converged[i] ? 'converged' : '<span class="badge failed">not converged</span>'}`,
  ]);
  weight.push([
    'trace',
    `${f(h.trace)} ± ${f(h.trace_standard_error)}`,
    `Hutchinson, ${esc(h.trace_samples)} Rademacher samples (± one standard error)`,
  ]);
  if (h.density) {
    const nodes = h.density.nodes.flat();
    const runs = h.density.runs ?? h.density.nodes.length;
    weight.push([
      'density',
      '—',
      `${esc(runs)} Lanczos run${runs === 1 ? '' : 's'}${h.density.steps !== undefined ? ` × ${esc(h.density.steps)} steps` : ''}, Ritz values in [${f(Math.min(...nodes))}, ${f(Math.max(...nodes))}]`,
    ]);
  } else weight.push(['density', '—', '<span class="muted">not computed (--density-steps 0)</span>']);
  weight.push(['parameters', esc(h.parameters.toLocaleString('en-US')), 'trainable weights']);
  weight.push(['n', esc(r.n), 'test examples (the first n)']);
  weight.push(['mean loss', f(r.loss), 'cross-entropy over the n examples, inference mode']);
  const inp = r.input;
  const input = INPUT_MEASURES.map((k) => {
    const s = inp.summaries[k];
    return [
      `${esc(INPUT_LABELS[k])}${k === 'cure' ? ` <span class="muted">(h = ${f(inp.cure_h)})</span>` : ''}`,
      f(s.mean),
      f(s.median),
      f(s.max),
    ];
  });
  return `<div class="columns"><div><h4>Weight Hessian of the mean loss</h4>${table(['', 'value', ''], weight, { numeric: [1] })}</div><div><h4>Input space: ${esc(inp.norm)} ball of radius ε = ${f(inp.eps)}, over the n examples</h4>${table(
    ['measure', 'mean', 'median', 'max'],
    input,
    { numeric: [1, 2, 3] },
  )}</div></div>`;
}

async function curvatureSection(sources: Source[]): Promise<Section | undefined> {
  const withCurvature = sources.filter((s) => s.curvature);
  if (withCurvature.length === 0) return undefined;
  const parts = withCurvature.map((s) => {
    const c = s.curvature!;
    const r = c.report;
    const total = r.seconds ? Object.values(r.seconds).reduce((a, b) => a + b, 0) : undefined;
    const meta = [
      r.model && `model ${esc(r.model)}`,
      r.dataset && `data ${esc(r.dataset)}`,
      `first ${esc(r.n)} test examples`,
      r.backend && `backend ${esc(r.backend)}`,
      r.seed !== undefined && `seed ${esc(r.seed)}`,
      total !== undefined && seconds(total),
    ].filter(Boolean);
    return `<h3>${esc(s.name)}</h3><p class="meta">${meta.join(' · ')} — <span class="mono">${esc(c.file)}</span></p>${curvatureTables(c)}`;
  });
  const curves: DensitySeries[] = withCurvature.flatMap((s) => {
    const d = s.curvature!.report.hessian.density;
    return d ? [{ name: s.name, ...densityCurve(d) }] : [];
  });
  const chart = await figure(densitySpec(curves), 'density');
  const domain = densityDomain(curves);
  if (chart && domain) {
    const sigmas = curves.map((c) => `σ = ${esc(formatNumber(c.sigma, 3))}${curves.length > 1 ? ` for ${esc(c.name)}` : ''}`).join(', ');
    parts.push(
      `<h3>Eigenvalue density of the weight Hessian</h3><div class="charts">${chart}</div><p class="muted">Stochastic Lanczos quadrature (Ghorbani et al. 2019, as PyHessian computes and plots it): the Ritz values of each Lanczos run, weighted by the squared first components of their vectors, each smoothed by a Gaussian of width σ (1% of the span of the Ritz values) and averaged over runs: ${sigmas}. The density axis is logarithmic, from ${esc(formatNumber(domain.floor, 1))} (${esc(formatNumber(DENSITY_FLOOR, 1))} of the highest density, rounded down to a power of ten): lower values, down to 0, are drawn on the bottom of the axis.</p>`,
    );
  }
  const intro =
    '<p class="muted">From <span class="mono">advlab curvature --json</span>. Weight space: the Hessian of the mean cross-entropy over the first n test examples with respect to the trainable weights (power iteration for the top eigenvalues, Hutchinson for the trace). Input space: per example, in the ball of radius ε around it, then mean / median / max over the examples: the top eigenvalue of the input Hessian ∇ₓ²ℓ, the linearity error γ (the largest gap between the loss and its first-order model in the ball), ELLE\'s error (the squared gap between the loss at a random convex combination of two points of the ball and the same combination of their losses) and CURE\'s ‖∇ₓℓ(x + h·s/‖s‖) − ∇ₓℓ(x)‖ with s = sign ∇ₓℓ(x).</p>';
  return { id: 'curvature', title: 'Curvature', html: intro + parts.join('') };
}

/** A measured number as cell HTML: 4 significant digits, '—' when missing (a NaN the reader dropped). */
const measured = (v: number | undefined) => esc(formatNumber(v));

/** The autoencoder of a generative run, e.g. "vae, latent 16, bernoulli". */
function autoencoderOf(run: TrainingRun): string {
  const g = run.summary?.generative;
  const model = g?.kind ?? run.config?.model;
  const parts = [model === undefined ? undefined : String(model), g && `latent ${g.latentDim}`, g?.likelihood];
  return parts.filter(Boolean).join(', ') || '—';
}

/** One row per generative run: what it trained, its last held-out line and the final model's test reconstruction. */
function generativeRunsTable(runs: Source[]): string {
  const rows = runs.map((s) => {
    const run = s.run!;
    const final = run.summary?.final;
    const last = run.generative.at(-1) ?? (final && isGenerativeRow(final) ? final : undefined);
    const planned = run.config?.epochs;
    const rec = run.summary?.reconstruction;
    return [
      `<strong>${esc(s.name)}</strong>`,
      esc(autoencoderOf(run)),
      esc(
        `${last?.method ?? run.config?.method ?? '—'}${typeof run.config?.spectralBound === 'number' && run.config.spectralBound > 0 ? `, encoder spectral norms ≤ ${run.config.spectralBound}` : ''}`,
      ),
      esc(last?.eps ?? run.config?.eps ?? '—'),
      esc(last === undefined && planned === undefined ? '—' : `${last?.epoch ?? 0}${planned !== undefined ? ` / ${planned}` : ''}`),
      measured(last?.neg_elbo),
      measured(last?.kl),
      measured(last?.mse),
      measured(last?.latent_shift),
      measured(rec?.neg_elbo),
      measured(rec?.kl),
      measured(rec?.mse),
    ];
  });
  return `<p class="muted">Held-out: the last line of metrics.jsonl (negative ELBO and KL in nats per image, MSE per pixel, the latent shift a 10-step PGD reaches within the run's ε). Test: the final model's reconstruction of the test set (summary.json).</p>${table(
    ['run', 'model', 'method', 'ε', 'epochs', 'held-out −ELBO', 'KL', 'MSE', 'latent shift', 'test −ELBO', 'test KL', 'test MSE'],
    rows,
    { numeric: [3, 4, 5, 6, 7, 8, 9, 10, 11] },
  )}`;
}

async function generativeTrainingCharts(runs: Source[]): Promise<string> {
  const series = runs.map((s) => ({ name: s.name, rows: s.run!.generative }));
  let charts = '';
  for (const chart of GENERATIVE_TRAINING_CHARTS) charts += await figure(generativeTrainingSpec(chart, series), chart.kind);
  return charts ? `<div class="charts">${charts}</div>` : '';
}

/** What each AUDDC row measures. */
const AUDDC_NOTES: Record<GenerativeCurveName, string> = {
  latent: 'latent attack (Lagrangian sweep toward the target’s encoding)',
  output: 'output attack (Lagrangian sweep toward the target’s reconstruction)',
  interpolation: 'interpolation baseline δ = t·(xₜ − x): an attack must go below it',
};

/** Whether an attack's AUDDC beats the baseline's (lower: the attack moves the output further for less distortion). */
function baselineBadge(attack: number, baseline: number): string {
  return attack < baseline
    ? '<span class="badge passed">below the baseline</span>'
    : '<span class="badge failed">not below the baseline: a weak attack</span>';
}

/** The numbers of one generative evaluation: AUDDC per attack, success rates at the budget, reconstruction, pairs. */
function generativeEvalTable(e: GenerativeEval): string {
  const r = e.report;
  const pairs = r.pairs.length;
  const rows: string[][] = GENERATIVE_CURVES.map((k) => [
    `AUDDC ${esc(k)}`,
    measured(r.auddc[k]),
    `${esc(AUDDC_NOTES[k])}${k === 'interpolation' ? '' : ` ${baselineBadge(r.auddc[k], r.auddc.interpolation)}`}`,
  ]);
  const budget = r.budget ? ` at ${esc(r.budget)}` : '';
  const rates = Object.entries(r.success_rate ?? {});
  if (rates.length === 0)
    rows.push(['success rate', '—', '<span class="muted">no classifier judged the reconstructions (--classifier DIR)</span>']);
  for (const [attack, rate] of rates)
    rows.push([
      `success rate: ${esc(attack)}`,
      pct(rate),
      `budgeted attack${budget}: pairs whose adversarial reconstruction the classifier puts in xₜ’s class`,
    ]);
  const rec = r.reconstruction;
  const images = rec?.images !== undefined ? ` on ${esc(rec.images)} test images` : '';
  rows.push(
    ['reconstruction −ELBO', measured(rec?.neg_elbo), `nats per image${images}`],
    ['reconstruction KL', measured(rec?.kl), 'nats per image (0 for an autoencoder)'],
    ['reconstruction MSE', measured(rec?.mse), 'per pixel'],
    ['pairs', esc(pairs), '(source, target) test images of different classes'],
  );
  return table(['measure', 'value', ''], rows, { numeric: [1] });
}

async function distortionChart(name: string, e: GenerativeEval): Promise<string> {
  const curves: Partial<Record<GenerativeCurveName, { x: number; y: number }[]>> = {};
  for (const k of GENERATIVE_CURVES) {
    const points = e.report.curves?.[k]?.points;
    const mean = points && meanDistortionCurve(points);
    if (mean) curves[k] = mean;
  }
  const chart = await figure(distortionSpec(name, e.report.pairs.length, curves), 'distortion');
  return chart
    ? `<div class="charts">${chart}</div><p class="muted">Each line is the mean over the pairs of a pair’s distortion–distance curve (the lowest output distance reached with a distortion up to x, sampled every 0.01): lower = more vulnerable, and the interpolation δ = t·(xₜ − x) is the baseline an attack must beat.</p>`
    : '';
}

async function generativeEvalPart(s: Source): Promise<string> {
  const e = s.generativeEvaluation!;
  const r = e.report;
  const meta = [
    r.model && `model ${esc(r.model)}`,
    r.dataset && `data ${esc(r.dataset)}`,
    r.budget && `budget ${esc(r.budget)}`,
    r.date && esc(r.date),
  ].filter(Boolean);
  return `<h3>${esc(s.name)}</h3><p class="meta">${meta.join(' · ')} — <span class="mono">${esc(e.file)}</span></p>${generativeEvalTable(e)}${await distortionChart(s.name, e)}`;
}

async function generativeSection(sources: Source[]): Promise<Section | undefined> {
  const runs = sources.filter((s) => s.run && isGenerativeRun(s.run));
  const evals = sources.filter((s) => s.generativeEvaluation);
  const figs = sources.flatMap((s) => s.generativeImages.map((img) => galleryFigure(s.name, img)));
  if (runs.length === 0 && evals.length === 0 && figs.length === 0) return undefined;
  const parts = [
    '<p class="muted">Autoencoders (<span class="mono">advlab train --model vae|ae</span>) and their robustness (<span class="mono">advlab eval --generative</span>): an attack moves a source image x by δ so that the reconstruction of x + δ approaches a target xₜ. AUDDC is the area under the distortion–distance curve, in [0, 1]: lower = more vulnerable. See docs/generative.md.</p>',
  ];
  if (runs.length) parts.push(`<h3>Training</h3>${generativeRunsTable(runs)}${await generativeTrainingCharts(runs)}`);
  for (const s of evals) parts.push(await generativeEvalPart(s));
  if (figs.length) parts.push(`<h3>Attacks on autoencoders</h3><div class="gallery">${figs.join('')}</div>`);
  return { id: 'generative', title: 'Generative models', html: parts.join('') };
}

function checksSection(sources: Source[]): Section | undefined {
  const parts: string[] = [];
  for (const s of sources) {
    const checks = s.evaluation?.report.checks;
    if (!checks?.length) continue;
    const failed = checks.filter((c) => !c.passed).length;
    const rows = checks.map((c) => {
      const status = c.skipped ? 'skipped' : c.passed ? 'passed' : 'failed';
      return [
        `<code>${esc(c.code)}</code>`,
        `<span class="badge ${status}">${status}</span>`,
        esc(c.detail ?? ''),
        `<span class="muted">${esc(CHECK_DOCS[c.code as CheckCode] ?? '')}</span>`,
      ];
    });
    parts.push(
      `<h3>${esc(s.name)} <span class="badge ${failed ? 'failed' : 'passed'}">${failed ? `${failed} failed` : 'all passed'}</span></h3>${table(['check', 'status', 'detail', 'what it checks'], rows)}`,
    );
  }
  return parts.length
    ? {
        id: 'checks',
        title: 'Sanity checks',
        html: `<p class="muted">A failed check does not stop an evaluation; it says its robust accuracy may not be trusted (gradient masking, a weak attack, a broken threat model).</p>${parts.join('')}`,
      }
    : undefined;
}

/** One gallery image of a source, captioned. */
function galleryFigure(source: string, img: GalleryImage): string {
  // Small images (e.g. 28×28 tiles) are shown enlarged by an integer factor, pixels kept sharp.
  const k = Math.max(1, Math.min(3, Math.floor(900 / img.width)));
  return `<figure><img src="${img.dataUri}" width="${img.width * k}" height="${img.height * k}" alt="${esc(`${source}: ${img.caption}`)}"><figcaption><strong>${esc(source)}</strong>: ${esc(img.caption)} <span class="mono">(${esc(img.file)}, ${img.width}×${img.height})</span></figcaption></figure>`;
}

function gallerySection(sources: Source[]): Section | undefined {
  const figs = sources.flatMap((s) => s.images.map((img) => galleryFigure(s.name, img)));
  return figs.length ? { id: 'gallery', title: 'Adversarial examples', html: `<div class="gallery">${figs.join('')}</div>` } : undefined;
}

/** Flattens nested objects into "a.b" keys for a key/value table. */
function flatten(o: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(o).flatMap(([k, v]): [string, string][] =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, Array.isArray(v) || typeof v === 'object' ? JSON.stringify(v) : String(v)]],
  );
}

const kv = (pairs: [string, string][]) =>
  `<div class="table-wrap"><table class="kv"><tbody>${pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td class="mono">${esc(v)}</td></tr>`).join('')}</tbody></table></div>`;

/** A generative evaluation's settings, and the file as read. */
function generativeEvalDetails(e: GenerativeEval): string {
  const r = e.report;
  const pairs: [string, string][] = (
    [
      ['model', r.model],
      ['dataset', r.dataset],
      ['date', r.date],
      ['budget', r.budget],
      ['pairs', r.pairs.map((p) => `${p.source}→${p.target}`).join(', ')],
    ] as [string, unknown][]
  )
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, String(v)]);
  if (r.sweep) pairs.push(...flatten(r.sweep, 'sweep.'));
  return `<h4>Generative evaluation</h4>${kv(pairs)}<details><summary>${esc(e.file)}</summary><pre>${esc(JSON.stringify(r, null, 2))}</pre></details>`;
}

function detailsSection(sources: Source[]): Section {
  const parts = sources.map((s) => {
    const blocks: string[] = [`<p class="meta">input: <span class="mono">${esc(s.input)}</span></p>`];
    const config = s.run?.config;
    if (config) {
      const { environment, ...rest } = config as Record<string, unknown> & { environment?: unknown };
      const key = [
        'model',
        'data',
        'method',
        'eps',
        'steps',
        'alpha',
        'lambda',
        'beta',
        'epochs',
        'batchSize',
        'optimizer',
        'lr',
        'schedule',
        'seed',
        'heldOut',
        'onCo',
        'latentDim',
        'likelihood',
      ];
      const cols = [`<div><h4>Configuration</h4>${kv(key.filter((k) => rest[k] !== undefined).map((k) => [k, String(rest[k])]))}</div>`];
      if (environment && typeof environment === 'object')
        cols.push(`<div><h4>Environment (versions, backend, machine)</h4>${kv(flatten(environment as Record<string, unknown>))}</div>`);
      blocks.push(`<div class="columns">${cols.join('')}</div>`);
      blocks.push(`<details><summary>config.json</summary><pre>${esc(JSON.stringify(config, null, 2))}</pre></details>`);
    }
    if (s.run?.summary)
      blocks.push(`<details><summary>summary.json</summary><pre>${esc(JSON.stringify(s.run.summary, null, 2))}</pre></details>`);
    if (s.evaluation) {
      const r = s.evaluation.report;
      const pairs: [string, string][] = (
        [
          ['model', r.model],
          ['dataset', r.dataset],
          ['n', r.n],
          ['norm', r.norm],
          ['ε', r.eps?.join(', ')],
          ['seed', r.seed],
          ['seconds', r.seconds],
          ['classes', r.class_names?.join(', ')],
        ] as [string, unknown][]
      )
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]);
      blocks.push(
        `<h4>Evaluation</h4>${kv(pairs)}<details><summary>${esc(s.evaluation.file)}</summary><pre>${esc(JSON.stringify(r, null, 2))}</pre></details>`,
      );
    }
    if (s.curvature) {
      const r = s.curvature.report;
      const pairs: [string, string][] = (
        [
          ['model', r.model],
          ['dataset', r.dataset],
          ['backend', r.backend],
          ['n', r.n],
          ['seed', r.seed],
          ...Object.entries(r.seconds ?? {}).map(([k, v]) => [`seconds: ${k}`, formatNumber(v, 3)]),
        ] as [string, unknown][]
      )
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]);
      blocks.push(
        `<h4>Curvature</h4>${kv(pairs)}<details><summary>${esc(s.curvature.file)}</summary><pre>${esc(JSON.stringify(r, null, 2))}</pre></details>`,
      );
    }
    if (s.generativeEvaluation) blocks.push(generativeEvalDetails(s.generativeEvaluation));
    return `<details class="source"><summary>${esc(s.name)}</summary>${blocks.join('')}</details>`;
  });
  const self: [string, string][] = [
    ['@advlab/report', VERSION],
    ['vega', vega.version],
    ['vega-lite', vl.version],
    ['node', process.version],
    ['machine', `${platform()} ${release()} ${arch()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`],
  ];
  parts.push(`<details class="source"><summary>this report</summary>${kv(self)}</details>`);
  return { id: 'details', title: 'Configuration and environment', html: parts.join('') };
}

/** Builds the HTML report for the given run directories / eval folders / eval JSON files. */
export async function buildReport(runDirs: string[], opts: ReportOptions = {}): Promise<string> {
  const sources = loadSources(runDirs);
  const title = opts.title ?? 'advlab report';
  const sections = [
    overviewSection(sources),
    ...(opts.sections ?? []).map(tableSection),
    await curvesSection(sources),
    await evaluationsSection(sources),
    await frontierSection(sources, opts.frontierEps),
    checksSection(sources),
    await curvatureSection(sources),
    await generativeSection(sources),
    gallerySection(sources),
    detailsSection(sources),
  ].filter((s): s is Section => s !== undefined);
  const generated = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  const runs = sources.filter((s) => s.run).length;
  const evals = sources.filter((s) => s.evaluation).length;
  const curvatures = sources.filter((s) => s.curvature).length;
  const generativeEvals = sources.filter((s) => s.generativeEvaluation).length;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@advlab/report ${esc(VERSION)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="top">
<h1>${esc(title)}</h1>
<p class="meta">${runs} training run${runs === 1 ? '' : 's'}, ${evals} evaluation${evals === 1 ? '' : 's'}${curvatures ? `, ${curvatures} curvature report${curvatures === 1 ? '' : 's'}` : ''}${generativeEvals ? `, ${generativeEvals} generative evaluation${generativeEvals === 1 ? '' : 's'}` : ''} · generated ${esc(generated)}</p>
<p class="meta">inputs: ${sources.map((s) => `<span class="mono">${esc(s.input)}</span>`).join(', ')}</p>
<nav class="toc">${sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('')}</nav>
</header>
${sections.map((s) => `<section id="${s.id}"><h2>${esc(s.title)}</h2>${s.html}</section>`).join('\n')}
<footer>Generated by @advlab/report ${esc(VERSION)} (vega ${esc(vega.version)}, vega-lite ${esc(vl.version)}). Self-contained: no script, no network.</footer>
</main>
</body>
</html>
`;
}

/** Builds the report and writes it atomically (temp file + rename). Returns the path written. */
export async function writeReport(runDirs: string[], outFile: string, opts: ReportOptions = {}): Promise<string> {
  const html = await buildReport(runDirs, opts);
  writeFileAtomic(outFile, html);
  return outFile;
}
