/**
 * The runs dashboard: the runs under the served folders (filter by name or regex and method; status, CO
 * flag), their held-out curves overlaid and updated live from the server's event stream, the configs of the
 * selected runs side by side, and their evaluations (per attack × ε, per class, frontier, gallery).
 */
import { h, pct, replace } from '../dom.ts';
import { listRuns, type MetricsEntry, type MetricsEvent, type RunInfo, runConfig, runEval, runMetrics } from '../api.ts';
import { CURVES, curveChart, frontierChart, type FrontierPoint, hasCurve, legend, perClassChart, type RunCurves } from './charts.ts';

/** What the dashboard reads of an eval.json (the server checked it with the report's reader). */
interface EvalView {
  clean_accuracy?: number;
  class_names?: string[];
  attacks?: { name: string; norm?: string; eps: number; robust_accuracy: number; per_class?: (number | null)[] }[];
  worst_case_by_eps?: { eps: number; robust_accuracy: number; per_class?: (number | null)[] }[];
  checks?: { code: string; passed: boolean; skipped: boolean; detail: string }[];
}

interface RunState {
  info: RunInfo;
  lines: MetricsEntry[];
  /** Bytes of metrics.jsonl read so far: an event continues from here or the metrics are read again. */
  offset: number;
  loaded: boolean;
  config?: Record<string, unknown> | null;
  evaluation?: EvalView | null;
}

const runs = new Map<string, RunState>();
const selected = new Set<string>();
let smoothing = 0.6;
let filterText = '';
let filterMethod = '';

const label = (r: RunInfo): string => (r.path === '.' ? r.name : r.path);

function matchesFilter(r: RunInfo): boolean {
  if (filterMethod && (r.method ?? '') !== filterMethod) return false;
  if (!filterText) return true;
  let re: RegExp | undefined;
  try {
    re = new RegExp(filterText, 'i');
  } catch {
    re = undefined; // not a valid pattern yet (while typing): match as plain text
  }
  const name = label(r);
  return re ? re.test(name) : name.toLowerCase().includes(filterText.toLowerCase());
}

async function loadMetrics(state: RunState): Promise<void> {
  const m = await runMetrics(state.info.id);
  state.lines = m.lines;
  state.offset = m.offset;
  state.loaded = true;
}

async function ensureDetails(state: RunState): Promise<void> {
  const jobs: Promise<void>[] = [];
  if (!state.loaded) jobs.push(loadMetrics(state));
  if (state.config === undefined)
    jobs.push(
      runConfig(state.info.id).then((c) => {
        state.config = c.config;
      }),
    );
  if (state.evaluation === undefined)
    jobs.push(
      state.info.eval
        ? runEval(state.info.id).then(
            (e) => {
              state.evaluation = e.eval as EvalView;
            },
            () => {
              state.evaluation = null;
            },
          )
        : Promise.resolve().then(() => {
            state.evaluation = null;
          }),
    );
  await Promise.all(jobs);
}

export async function mountDashboard(root: HTMLElement): Promise<void> {
  const status = h('p', { class: 'status', 'data-testid': 'dash-status' }, 'loading runs…');
  const filter = h('input', {
    type: 'search',
    placeholder: 'filter: name or regex',
    'data-testid': 'dash-filter',
    'aria-label': 'filter runs',
  });
  const method = h('select', { 'data-testid': 'dash-method', 'aria-label': 'method' }, h('option', { value: '' }, 'all methods'));
  const smooth = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: smoothing, 'data-testid': 'dash-smoothing' });
  const smoothValue = h('output', {}, smoothing.toFixed(2));
  const table = h('table', { class: 'runs', 'data-testid': 'dash-runs' });
  const charts = h('div', { class: 'charts', 'data-testid': 'dash-charts' });
  const configs = h('div', { class: 'configs' });
  const evals = h('div', { class: 'evals' });
  replace(
    root,
    h(
      'div',
      { class: 'toolbar' },
      filter,
      method,
      h('label', { class: 'smoothing' }, 'smoothing (debiased EMA) ', smooth, ' ', smoothValue),
    ),
    status,
    table,
    h('h2', {}, 'Curves'),
    charts,
    h('h2', {}, 'Configuration'),
    configs,
    h('h2', {}, 'Evaluations'),
    evals,
  );

  let pending = false;
  /** Redraws on the next frame, once however many updates arrive meanwhile. */
  const redraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderCharts();
    });
  };

  const width = () => Math.max(320, Math.min(560, Math.floor((charts.clientWidth || 1100) / 2) - 16));

  function renderCharts(): void {
    const chosen = [...selected].map((id) => runs.get(id)).filter((s): s is RunState => s?.loaded === true);
    if (chosen.length === 0) {
      replace(charts, h('p', { class: 'hint' }, 'Select runs in the table to draw their curves.'));
      return;
    }
    const curves: RunCurves[] = chosen.map((s) => ({ label: label(s.info), lines: s.lines }));
    const w = width();
    replace(charts, legend(curves), ...CURVES.filter((c) => hasCurve(curves, c.key)).map((c) => curveChart(c, curves, smoothing, w)));
  }

  function renderConfigs(): void {
    const chosen = [...selected].map((id) => runs.get(id)).filter((s): s is RunState => s !== undefined);
    const keys = [...new Set(chosen.flatMap((s) => Object.keys(s.config ?? {})))].sort();
    if (chosen.length === 0 || keys.length === 0) {
      replace(configs, h('p', { class: 'hint' }, 'No config.json in the selected runs.'));
      return;
    }
    const show = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    const rows = keys.map((k) => {
      const values = chosen.map((s) => show(s.config?.[k]));
      const differs = new Set(values).size > 1;
      return h('tr', { class: differs ? 'differs' : '' }, h('th', {}, k), ...values.map((v) => h('td', {}, v)));
    });
    replace(
      configs,
      h(
        'table',
        { class: 'config', 'data-testid': 'dash-config' },
        h('thead', {}, h('tr', {}, h('th', {}, 'key'), ...chosen.map((s) => h('th', {}, label(s.info))))),
        h('tbody', {}, ...rows),
      ),
      h('p', { class: 'hint' }, 'Rows that differ between the selected runs are highlighted.'),
    );
  }

  function renderEvals(): void {
    const chosen = [...selected].map((id) => runs.get(id)).filter((s): s is RunState => s !== undefined);
    const points: FrontierPoint[] = [];
    const blocks: HTMLElement[] = [];
    const w = Math.max(320, Math.min(1100, evals.clientWidth || 900));
    for (const s of chosen) {
      const name = label(s.info);
      const last = [...s.lines].reverse().find((l) => typeof (l as { pgd_acc?: unknown }).pgd_acc === 'number') as
        | { clean_acc: number; pgd_acc: number }
        | undefined;
      if (last) points.push({ label: name, kind: 'training, held-out PGD', clean: last.clean_acc, robust: last.pgd_acc });
      const e = s.evaluation;
      const gallery = s.info.images.map((f) =>
        h('img', { src: `${s.info.files}${encodeURIComponent(f)}`, alt: `${name}: ${f}`, class: 'gallery' }),
      );
      if (!e) {
        if (gallery.length) blocks.push(h('section', { class: 'eval' }, h('h3', {}, name), ...gallery));
        continue;
      }
      for (const wc of e.worst_case_by_eps ?? [])
        if (typeof e.clean_accuracy === 'number')
          points.push({
            label: `${name} ε=${wc.eps}`,
            kind: 'evaluation, worst case',
            clean: e.clean_accuracy,
            robust: wc.robust_accuracy,
          });
      const eps = [...new Set((e.attacks ?? []).map((a) => a.eps))].sort((a, b) => a - b);
      const names = [...new Set((e.attacks ?? []).map((a) => a.name))];
      const cell = (n: string, x: number) => pct(e.attacks?.find((a) => a.name === n && a.eps === x)?.robust_accuracy);
      const attackTable = h(
        'table',
        { class: 'numbers' },
        h('thead', {}, h('tr', {}, h('th', {}, 'attack'), ...eps.map((x) => h('th', {}, `ε = ${x}`)))),
        h(
          'tbody',
          {},
          h('tr', {}, h('th', {}, 'clean'), ...eps.map(() => h('td', {}, pct(e.clean_accuracy)))),
          ...names.map((n) => h('tr', {}, h('th', {}, n), ...eps.map((x) => h('td', {}, cell(n, x))))),
          h(
            'tr',
            { class: 'worst' },
            h('th', {}, 'worst case'),
            ...eps.map((x) => h('td', {}, pct(e.worst_case_by_eps?.find((c) => c.eps === x)?.robust_accuracy))),
          ),
        ),
      );
      const worst = e.worst_case_by_eps?.[0];
      const perClass =
        worst?.per_class && e.class_names
          ? h(
              'div',
              {},
              h('h4', {}, `per class, worst case at ε = ${worst.eps}`),
              perClassChart(e.class_names, worst.per_class, Math.min(w, 560)),
            )
          : null;
      const failed = (e.checks ?? []).filter((c) => !c.passed && !c.skipped);
      blocks.push(
        h(
          'section',
          { class: 'eval', 'data-testid': 'dash-eval' },
          h('h3', {}, name),
          attackTable,
          failed.length
            ? h('p', { class: 'warn' }, `sanity checks failed: ${failed.map((c) => `${c.code} (${c.detail})`).join('; ')}`)
            : null,
          perClass,
          ...gallery,
        ),
      );
    }
    replace(
      evals,
      points.length ? frontierChart(points, Math.min(w, 900)) : null,
      ...(blocks.length ? blocks : [h('p', { class: 'hint' }, 'No eval.json in the selected runs (advlab eval --json RUN/eval.json).')]),
    );
  }

  async function select(id: string, on: boolean): Promise<void> {
    if (on) selected.add(id);
    else selected.delete(id);
    const state = runs.get(id);
    if (on && state) await ensureDetails(state);
    renderCharts();
    renderConfigs();
    renderEvals();
  }

  function renderTable(): void {
    const list = [...runs.values()].map((s) => s.info);
    const methods = [...new Set(list.map((r) => r.method).filter((m): m is string => m !== null))].sort();
    if (method.options.length - 1 !== methods.length || methods.some((m, i) => method.options[i + 1]?.value !== m)) {
      replace(method, h('option', { value: '' }, 'all methods'), ...methods.map((m) => h('option', { value: m }, m)));
      method.value = filterMethod;
    }
    const shown = list.filter(matchesFilter);
    const rows = shown.map((r) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `select ${label(r)}`, checked: selected.has(r.id) });
      box.addEventListener('change', () => void select(r.id, box.checked));
      return h(
        'tr',
        { 'data-run': r.id, class: r.co ? 'co' : '' },
        h('td', {}, box),
        h('td', { class: 'name' }, label(r)),
        h('td', {}, r.method ?? '—'),
        h('td', {}, h('span', { class: `badge ${r.status}` }, r.status), r.lockHost ? ` on ${r.lockHost}` : ''),
        h('td', {}, r.co ? h('span', { class: 'badge co' }, 'CO flagged') : ''),
        h('td', { class: 'num' }, r.epoch ?? '—'),
        h('td', { class: 'num' }, r.lines),
        h(
          'td',
          {},
          h('a', { href: `/runs/${encodeURIComponent(r.id)}/report.html`, target: '_blank', rel: 'noopener' }, 'report'),
          ' · ',
          h('a', { href: r.files, target: '_blank', rel: 'noopener' }, 'files'),
        ),
      );
    });
    replace(
      table,
      h('thead', {}, h('tr', {}, ...['', 'run', 'method', 'status', 'CO', 'epoch', 'lines', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...rows),
    );
    replace(status, `${list.length} run${list.length === 1 ? '' : 's'}${shown.length !== list.length ? `, ${shown.length} shown` : ''}`);
  }

  /** Returns the runs that are new, or newly running, since the last list. */
  function setRuns(list: RunInfo[]): RunInfo[] {
    const ids = new Set(list.map((r) => r.id));
    const added: RunInfo[] = [];
    for (const id of [...runs.keys()]) if (!ids.has(id)) runs.delete(id);
    for (const info of list) {
      const s = runs.get(info.id);
      if (!s) {
        runs.set(info.id, { info, lines: [], offset: 0, loaded: false });
        added.push(info);
      } else {
        // A new eval.json (or a removed one) is read again when next shown.
        if (s.info.eval !== info.eval) s.evaluation = undefined;
        if (info.status === 'running' && s.info.status !== 'running') added.push(info);
        s.info = info;
      }
    }
    for (const id of [...selected]) if (!runs.has(id)) selected.delete(id);
    renderTable();
    return added;
  }

  filter.addEventListener('input', () => {
    filterText = filter.value.trim();
    renderTable();
  });
  method.addEventListener('change', () => {
    filterMethod = method.value;
    renderTable();
  });
  smooth.addEventListener('input', () => {
    smoothing = Number(smooth.value);
    smoothValue.value = smoothing.toFixed(2);
    redraw();
  });

  setRuns(await listRuns());
  // The running runs first, then the rest, up to four: what a person opening the page most likely watches.
  const initial = [...runs.values()]
    .map((s) => s.info)
    .filter((r) => r.lines > 0)
    .sort((a, b) => Number(b.status === 'running') - Number(a.status === 'running'))
    .slice(0, 4);
  for (const r of initial) selected.add(r.id);
  await Promise.all(initial.map((r) => ensureDetails(runs.get(r.id)!)));
  renderTable();
  renderCharts();
  renderConfigs();
  renderEvals();

  // Live: the server pushes appended metrics lines and run-list changes; the browser never polls.
  const connection = document.getElementById('connection');
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    if (connection) connection.textContent = '● live';
    connection?.classList.add('live');
  });
  events.addEventListener('error', () => {
    if (connection) connection.textContent = '○ reconnecting';
    connection?.classList.remove('live');
  });
  events.addEventListener('runs', (ev) => {
    // A run started while the page is open is what its owner came to watch: select it.
    const started = setRuns(JSON.parse((ev as MessageEvent<string>).data) as RunInfo[]).filter((r) => r.status === 'running');
    for (const r of started) if (!selected.has(r.id)) void select(r.id, true).then(renderTable);
  });
  events.addEventListener('metrics', (ev) => {
    const e = JSON.parse((ev as MessageEvent<string>).data) as MetricsEvent;
    const state = runs.get(e.run);
    if (!state?.loaded) return; // read whole when first shown
    if (!e.reset && e.from === state.offset) {
      state.lines.push(...e.lines);
      state.offset = e.to;
      if (selected.has(e.run)) redraw();
    } else {
      // A gap (an event missed while reconnecting) or a rewritten file: read it again.
      void loadMetrics(state).then(() => selected.has(e.run) && redraw());
    }
  });
}
