/**
 * The suite's results as tables: one table model, rendered to Markdown (results.md) and handed to the
 * HTML report as extra sections, so both show the same numbers.
 */
import type { SuiteResults } from './summarize.ts';
import { WORST_CASE_SUITE } from './suite.ts';

export interface Table {
  id: string;
  title: string;
  note?: string;
  headers: string[];
  rows: string[][];
}

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : (100 * v).toFixed(1));
const fix = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

export function tables(r: SuiteResults): Table[] {
  const names = r.classNames.length ? r.classNames : (r.fairness.perClass[0]?.clean.map((_, k) => String(k)) ?? []);
  const out: Table[] = [];
  out.push({
    id: 'tradeoff',
    title: `Trade-off at ε = ${r.frontier.eps} (L∞)`,
    note: `Accuracy in % on the first ${r.profile.evalN} test images; worst case = per example over FGSM, PGD-${r.profile.pgdSteps} and ${WORST_CASE_SUITE[r.profile.name] === 'autoattack' ? "AutoAttack's standard version (APGD-CE, APGD-T, FAB-T, Square with its settings)" : `APGD-CE and APGD-T (${r.profile.apgdSteps} steps, 9 target classes; not AutoAttack, which adds FAB-T and Square: advlab reproduce --full runs it)`} (the same for the per-class and minority tables). Time: seconds of the fastest training epoch (held-out measurements included; every epoch does the same work, so the fastest is the least disturbed by other load), the mean over epochs; × standard = training time per example relative to standard training (throughput with the held-out measurements left out, best epoch of each run); passes per example = forward+backward passes of one training step, the cost model (standard = 1). The seed's CIFAR-10 figures (clean / robust) for comparison.`,
    headers: [
      'run',
      'method',
      'clean',
      `PGD-${r.profile.pgdSteps}`,
      'worst case',
      's/epoch (fastest)',
      's/epoch (mean)',
      '× standard',
      'passes per example',
      'seed CIFAR-10',
    ],
    rows: r.tradeoff.map((t) => [
      t.run,
      t.method,
      pct(t.clean),
      pct(t.pgd20),
      pct(t.worstCase),
      fix(t.secondsPerEpoch),
      fix(t.meanSecondsPerEpoch),
      fix(t.relativeTime, 2),
      String(t.passes),
      `~${pct(t.seed[0])} / ~${pct(t.seed[1])}`,
    ]),
  });
  out.push({
    id: 'co',
    title: `Catastrophic overfitting at ε = ${r.co[0]?.eps ?? '–'}`,
    note: `Held-out (first test images) accuracy in % at the end of each epoch: clean / FGSM / PGD-10, and gradient alignment; * marks an epoch where the CO monitor fired. Final: the evaluation of the last model; its worst case adds APGD-CE and APGD-T at ${Math.round(r.profile.apgdSteps / 2)} steps and 3 target classes (lighter than the trade-off table's).`,
    headers: [
      'run',
      'method',
      'per epoch: clean / FGSM / PGD-10 / align',
      'first CO flag (rules)',
      'best PGD-10 (epoch)',
      'final clean',
      'final PGD-20',
      'final worst case',
      '× standard (time per example)',
      'passes per example',
    ],
    rows: r.co.map((c) => [
      c.run,
      c.method,
      c.epochs.map((e) => `${e.epoch}: ${pct(e.clean)}/${pct(e.fgsm)}/${pct(e.pgd10)}/${fix(e.align, 2)}${e.co ? '*' : ''}`).join('<br>'),
      c.coEpoch === undefined ? 'never' : `epoch ${c.coEpoch} (${c.coRules.join(', ')})`,
      `${pct(c.bestPgd10)} (${c.bestPgd10Epoch})`,
      pct(c.finalClean),
      pct(c.finalPgd20),
      pct(c.finalWorstCase),
      fix(c.relativeTime, 2),
      String(c.passes),
    ]),
  });
  out.push({
    id: 'fairness',
    title: `Per-class accuracy at ε = ${r.frontier.eps}: clean / worst-case robust (%)`,
    note: 'Worst class and spread (max − min) of the robust accuracy per class.',
    headers: ['class', ...r.fairness.perClass.map((p) => p.run)],
    rows: [
      ...names.map((n, k) => [`${k} ${n}`, ...r.fairness.perClass.map((p) => `${pct(p.clean[k])} / ${pct(p.robust[k])}`)]),
      ['worst class (robust)', ...r.fairness.perClass.map((p) => `${p.worstClass} ${names[p.worstClass] ?? ''}`)],
      ['spread (robust)', ...r.fairness.perClass.map((p) => pct(p.spread))],
    ],
  });
  out.push({
    id: 'minority',
    title: `Minority class: class ${r.fairness.minorityClass} (${names[r.fairness.minorityClass] ?? '?'}) kept at ${100 * r.fairness.fraction}% of its training examples`,
    note: 'Robust = worst case at the trade-off ε; "balanced" = the same recipe trained on the full set.',
    headers: ['run', 'minority clean', 'minority robust', 'other classes robust (mean)', 'same class robust, balanced training'],
    rows: r.fairness.minority.map((m) => [
      m.run,
      pct(m.minorityClean),
      pct(m.minorityRobust),
      pct(m.othersRobust),
      `${pct(m.balancedRobust)} (${m.balancedRun})`,
    ]),
  });
  out.push({
    id: 'frontier-table',
    title: `Clean–robust frontier (robust = PGD-${r.profile.pgdSteps} at ε = ${r.frontier.eps})`,
    note: 'ε sweep of PGD-7 AT and β sweep of TRADES, all evaluated at the same ε with the same attack; a point is on the Pareto frontier when no other point is at least as good on both axes. The worst case is shown where the run had that evaluation.',
    headers: ['run', 'method', 'clean', `PGD-${r.profile.pgdSteps}`, 'worst case', 'Pareto'],
    rows: r.frontier.points.map((p) => [
      p.run,
      p.label,
      pct(p.clean),
      pct(p.robust),
      pct(p.worstCase),
      p.onFrontier ? 'on the frontier' : 'dominated',
    ]),
  });
  if (r.danskin) {
    const d = r.danskin;
    out.push({
      id: 'danskin',
      title: "Danskin's theorem, checked numerically",
      note: 'Logistic model with an exact inner maximum: finite differences of φ(θ) against the gradient at the adversarial point; a tanh network under L2 PGD: the gradient through the unrolled attack against the gradient at the (constant) attack point.',
      headers: ['ε', 'rel. error FD vs ∇ at δ*', 'δ* exact', 'unrolled vs Danskin (rel. difference)'],
      rows: [
        [String(d.eps), d.relativeError.toExponential(2), d.deltaIsExact ? 'yes' : 'no', `${fix(100 * d.unrolledRelativeDifference)}%`],
      ],
    });
  }
  return out;
}

export function renderMarkdown(r: SuiteResults): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `# advlab reproduce --${r.profile.name}`,
    '',
    `${r.profile.model}, ${r.profile.epochs} epochs, ${r.profile.limit ? `first ${r.profile.limit}` : 'all'} training examples; ${r.environment.machine}; node ${r.environment.node}; ${r.environment.started} → ${r.environment.finished} (${(r.environment.seconds / 60).toFixed(1)} min of work in the invocations that built it).`,
    ...(r.missing.length ? ['', `**Missing** (not finished): ${r.missing.join(', ')}`] : []),
  ];
  for (const t of tables(r)) {
    lines.push(
      '',
      `## ${t.title}`,
      '',
      ...(t.note ? [t.note, ''] : []),
      `| ${t.headers.map(esc).join(' | ')} |`,
      `|${t.headers.map(() => '---').join('|')}|`,
    );
    for (const row of t.rows) lines.push(`| ${row.map(esc).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Tables for the HTML report (its renderer escapes every cell; line breaks become separate lines). */
export function reportSections(r: SuiteResults) {
  return tables(r).map((t) => ({ ...t, rows: t.rows.map((row) => row.map((c) => c.split('<br>'))) }));
}
