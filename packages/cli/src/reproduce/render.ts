/**
 * The suite's results as tables: one table model, rendered to Markdown (results.md) and handed to the
 * HTML report as extra sections, so both show the same numbers.
 */
import type {
  CurvatureCo,
  CurvatureMethods,
  GenerativeComparison,
  MeanSd,
  SeededSize,
  SophiaComparison,
  Spread,
  SuiteResults,
} from './summarize.ts';
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
const pctSd = (m: MeanSd) => (m.sd === undefined ? pct(m.mean) : `${pct(m.mean)} ± ${pct(m.sd)}`);
const sizeNote = ({ size, seeds }: SeededSize) =>
  `Runs of ${size.limit === undefined ? 'all' : `the first ${size.limit}`} training examples × ${size.epochs} epochs, seed${seeds.length === 1 ? '' : 's'} ${seeds.join(', ')}.`;
const MEAN_SD = 'Mean ± sample standard deviation over the seeds (no ± with one seed).';

export function tables(r: SuiteResults): Table[] {
  const names = r.classNames.length ? r.classNames : (r.fairness.perClass[0]?.clean.map((_, k) => String(k)) ?? []);
  const finalAccuracy = `Accuracy in % of the final model on the first ${r.profile.evalN} test images at the training ε: clean, PGD-${r.profile.pgdSteps}, and worst case = per example over FGSM, PGD-${r.profile.pgdSteps}, APGD-CE and APGD-T (${Math.max(1, Math.round(r.profile.apgdSteps / 2))} steps, the 3 most likely wrong classes); per seed: clean / PGD-${r.profile.pgdSteps} / worst case.`;
  // A table without rows is left out: its finding was not selected (--only) or its runs are not finished (see Missing).
  const out: Table[] = [];
  if (r.tradeoff.length)
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
  if (r.co.length)
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
  if (r.fairness.perClass.length)
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
  if (r.fairness.minority.length)
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
  if (r.frontier.points.length)
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
  if (r.curvatureCo) out.push(curvatureCoTable(r.curvatureCo));
  if (r.curvatureMethods) out.push(curvatureMethodsTable(r.curvatureMethods, `PGD-${r.profile.pgdSteps}`, finalAccuracy));
  if (r.sophia) out.push(sophiaTable(r.sophia, `PGD-${r.profile.pgdSteps}`, finalAccuracy));
  if (r.generative) out.push(generativeTable(r.generative));
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

const SIGNAL_NAMES: Record<string, string> = {
  linearity_error: 'linearity error γ',
  input_top_eigenvalue: 'input top eigenvalue',
  elle: 'ELLE error',
  cure: 'CURE',
};

function curvatureCoTable(c: CurvatureCo): Table {
  const [gap, align] = [c.rules[0]!, c.rules[1]!];
  const leadOf = (run: CurvatureCo['runs'][number], signal: string, rule: string) =>
    run.leads.find((l) => l.signal === signal && l.rule === rule)?.leadBatches;
  const sign = (v: number | undefined) => (v === undefined ? '–' : v > 0 ? `+${v}` : String(v));
  const footer = (label: string) => [label, '', '', '', ''];
  return {
    id: 'curvature-co',
    title: `Curvature signals ahead of catastrophic overfitting at ε = ${c.eps}`,
    note: `${sizeNote(c)} Held-out lines every ${c.evalEvery === 1 ? 'batch' : `${c.evalEvery} batches`} and at each epoch's end; steps are training batches. First ${gap} / ${align}: the first step at which that CO rule fires, replayed over the run's held-out lines with its thresholds ("never": it did not). Per signal (the held-out input-curvature measures): its onset, the first step at which it exceeds its threshold, then the lead in batches over ${gap} / ${align} (rule step − onset: + the signal came first). A signal's threshold is measured, not chosen: the largest value it reached on any run of this group that did not overfit (${c.healthyRuns.length ? c.healthyRuns.join(', ') : 'none'}: the curvature methods, GradAlign and PGD-7 AT with no CO flag on any line), so it would have fired on none of them; "–": no threshold (no such run) or no lead (one of the two never fired). The last rows count the CO runs per signal and rule: led / tied / lagged / signal only (the rule never fired) / rule only (the signal never fired) / neither.`,
    headers: [
      'run',
      'method',
      'seed',
      `first ${gap}`,
      `first ${align}`,
      ...c.ceilings.map((f) => `${SIGNAL_NAMES[f.signal] ?? f.signal}: onset; lead vs ${gap} / ${align}`),
    ],
    rows: [
      ...c.runs.map((run) => [
        run.run,
        run.method,
        String(run.seed),
        String(run.ruleSteps[gap] ?? 'never'),
        String(run.ruleSteps[align] ?? 'never'),
        ...c.ceilings.map((f) => {
          if (f.ceiling === undefined) return '–';
          const onset = run.leads.find((l) => l.signal === f.signal)?.signalStep;
          return `${onset ?? 'never'}; ${sign(leadOf(run, f.signal, gap))} / ${sign(leadOf(run, f.signal, align))}`;
        }),
      ]),
      [...footer('threshold (healthy ceiling)'), ...c.ceilings.map((f) => (f.ceiling === undefined ? '–' : f.ceiling.toPrecision(3)))],
      ...c.rules.map((rule) => [
        ...footer(`vs ${rule}: led / tied / lagged / signal only / rule only / neither`),
        ...c.ceilings.map((f) => {
          const t = c.tally.find((x) => x.signal === f.signal && x.rule === rule);
          return t ? `${t.led} / ${t.tied} / ${t.lagged} / ${t.signalOnly} / ${t.ruleOnly} / ${t.neither}` : '–';
        }),
      ]),
    ],
  };
}

/** A seed's run flagged by the CO monitor, or still at chance at its end. */
const seedMarks = (s: { co: boolean; atChance: boolean }) => `${s.co ? ' (CO)' : ''}${s.atChance ? ' (at chance)' : ''}`;

function curvatureMethodsTable(c: CurvatureMethods, pgd: string, finalAccuracy: string): Table {
  return {
    id: 'curvature-methods',
    title: `Curvature-regularised training at ε = ${c.rows[0]?.eps ?? '–'}: ELLE, ELLE-A, CURE, LLR against GradAlign and PGD-7 AT`,
    note: `${sizeNote(c)} ${finalAccuracy} ${MEAN_SD} s/epoch: the fastest training epoch of any seed (held-out measurements included); passes per example: forward+backward passes of one training step (standard = 1). CO: seeds whose held-out lines carry a CO flag; "at chance": the run's last epoch ended with clean accuracy and loss at chance (it never learned).`,
    headers: [
      'run group',
      'method',
      'clean',
      pgd,
      'worst case',
      `per seed: clean / ${pgd} / worst case`,
      's/epoch (fastest)',
      'passes per example',
      'CO (seeds)',
    ],
    rows: c.rows.map((m) => [
      m.group,
      m.method,
      pctSd(m.clean),
      pctSd(m.pgd20),
      pctSd(m.worstCase),
      m.perSeed.map((s) => `s${s.seed}: ${pct(s.clean)} / ${pct(s.pgd20)} / ${pct(s.worstCase)}${seedMarks(s)}`).join('<br>'),
      fix(m.secondsPerEpoch),
      String(m.passes),
      `${m.coSeeds} of ${m.perSeed.length}`,
    ]),
  };
}

function sophiaTable(c: SophiaComparison, pgd: string, finalAccuracy: string): Table {
  const spread = (u: Spread | undefined) => (u ? `${fix(u.min, 2)} / ${fix(u.median, 2)} / ${fix(u.max, 2)}` : '–');
  return {
    id: 'sophia',
    title: 'Sophia against Adam (same learning rate)',
    note: `${sizeNote(c)} ${finalAccuracy} ${MEAN_SD} Target: ${100 * c.targetShare}% of Adam's mean (over seeds) best held-out PGD-10 accuracy on the task; steps to target: per seed, the first training step whose held-out PGD-10 accuracy reaches it ("never": it did not). CO: seeds whose held-out lines carry a CO flag. s/epoch: the fastest training epoch of any seed. Unclipped: Sophia's share of coordinates its step did not clip, min / median / max over its held-out lines (its tuning guide: 0.1–0.5).`,
    headers: [
      'task',
      'optimizer',
      'clean',
      pgd,
      'worst case',
      `per seed: clean / ${pgd} / worst case`,
      'target (PGD-10)',
      'steps to target',
      'CO (seeds)',
      's/epoch (fastest)',
      'unclipped min / median / max',
    ],
    rows: c.tasks.flatMap((t) =>
      t.rows.map((o) => [
        t.task,
        o.optimizer,
        pctSd(o.clean),
        pctSd(o.pgd20),
        pctSd(o.worstCase),
        o.perSeed.map((s) => `s${s.seed}: ${pct(s.clean)} / ${pct(s.pgd20)} / ${pct(s.worstCase)}${seedMarks(s)}`).join('<br>'),
        pct(t.target),
        o.perSeed.map((s) => `s${s.seed}: ${t.target === undefined ? '–' : (s.stepsToTarget ?? 'never')}`).join('<br>'),
        `${o.coSeeds} of ${o.perSeed.length}`,
        fix(o.secondsPerEpoch),
        spread(o.unclipped),
      ]),
    ),
  };
}

function generativeTable(g: GenerativeComparison): Table {
  const sd = (m: MeanSd, d = 3) => (m.sd === undefined ? fix(m.mean, d) : `${fix(m.mean, d)} ± ${fix(m.sd, d)}`);
  const attacks = [...new Set(g.rows.flatMap((r) => Object.keys(r.successRate)))];
  return {
    id: 'generative',
    title: 'What does robustness mean for a generative model? VAE: standard, adversarially trained, Lipschitz encoder',
    note: `${sizeNote(g)} VAE (latent 16, Bernoulli decoder). ${MEAN_SD} AUDDC: area under the distortion–distance curve of the Lagrangian sweep (50 C over 2^−20…2^20 in --full), mean over ${g.pairs} seeded (source, target) test pairs of different classes; lower = more vulnerable; "interpolation" is δ = t·(x_t − x), the baseline an attack must beat (docs/generative.md). Judged success: the share of pairs whose adversarial reconstruction the ${g.judge} classifier puts in the target's class, budgeted attacks at ${g.budget}. −ELBO (nats per image) and MSE per pixel on the 10 000 test images.`,
    headers: [
      'VAE',
      'AUDDC latent',
      'AUDDC output',
      'AUDDC interpolation',
      ...attacks.map((a) => `judged success: ${a}`),
      '−ELBO',
      'MSE',
      'per seed: latent / output AUDDC',
      's/epoch (fastest)',
    ],
    rows: g.rows.map((r) => [
      r.method,
      sd(r.auddc.latent),
      sd(r.auddc.output),
      sd(r.auddc.interpolation),
      ...attacks.map((a) => (r.successRate[a] ? pctSd(r.successRate[a]!) : '–')),
      sd(r.negElbo, 2),
      sd(r.mse, 4),
      r.perSeed.map((s) => `s${s.seed}: ${fix(s.auddc.latent, 3)} / ${fix(s.auddc.output, 3)}`).join('<br>'),
      fix(Math.min(...r.perSeed.map((s) => s.secondsPerEpoch))),
    ]),
  };
}

export function renderMarkdown(r: SuiteResults): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `# advlab reproduce --${r.profile.name}`,
    '',
    `${r.profile.model}, ${r.profile.epochs} epochs, ${r.profile.limit ? `first ${r.profile.limit}` : 'all'} training examples${r.curvatureCo || r.sophia ? ' (the curvature and Sophia groups at their own size, given with their tables)' : ''}; ${r.environment.machine}; node ${r.environment.node}; ${r.environment.started} → ${r.environment.finished} (${(r.environment.seconds / 60).toFixed(1)} min of work in the invocations that built it).`,
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
