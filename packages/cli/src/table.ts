import { CHECK_DOCS, type EvaluationReport } from '@advlab/core';

const pct = (v: number) => (Number.isNaN(v) ? '  -  ' : `${(100 * v).toFixed(1).padStart(5)}%`);

/** The evaluation (or one shard of it) as a plain-text table: clean, each attack per ε, worst case, per-class worst, checks. */
export function formatReport(r: EvaluationReport, classNames: string[]): string {
  const lines: string[] = [];
  const s = r.shard;
  const which = s
    ? `shard ${s.index}/${s.count}: test examples ${s.start}…${s.end - 1} of the first ${s.total}`
    : `first ${r.n} test examples`;
  lines.push(`${r.model} on ${r.dataset}: ${which}, ${r.norm}, seed ${r.seed}`);
  const name = (k: number) => classNames[k] ?? String(k);
  const rows: [string, string, string, string][] = [['attack', 'eps', 'accuracy', 'worst class']];
  rows.push(['clean', '-', pct(r.clean_accuracy), `${name(r.clean_summary.worst_class)} ${pct(r.clean_summary.worst)}`]);
  for (const a of r.attacks)
    rows.push([a.name, String(a.eps), pct(a.robust_accuracy), `${name(a.summary.worst_class)} ${pct(a.summary.worst)}`]);
  for (const w of r.worst_case_by_eps)
    rows.push([
      `worst case (${w.attacks.join('+')})`,
      String(w.eps),
      pct(w.robust_accuracy),
      `${name(w.summary.worst_class)} ${pct(w.summary.worst)}`,
    ]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  rows.forEach((row, i) => {
    lines.push(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  for (const w of r.worst_case_by_eps) {
    if (!w.suite) continue;
    lines.push('');
    lines.push(`worst-case suite at ε=${w.eps}: ${w.suite}`);
    for (const s of w.sequence)
      lines.push(
        s.skipped
          ? `  ${s.attack.padEnd(8)} skipped: ${s.skipped}`
          : `  ${s.attack.padEnd(8)} run on ${s.run_on}, broke ${s.broke} (${s.seconds.toFixed(1)} s)`,
      );
  }
  lines.push('');
  lines.push('sanity checks (docs/checks.md):');
  for (const c of r.checks) lines.push(`  ${c.skipped ? 'skip' : c.passed ? 'ok  ' : 'FAIL'} ${c.code.padEnd(25)} ${c.detail}`);
  const failed = r.checks.filter((c) => !c.passed);
  if (failed.length)
    lines.push(
      `  ${failed.length} check(s) failed: the robust accuracy above may overestimate robustness (${failed.map((c) => CHECK_DOCS[c.code]).join('; ')})`,
    );
  return lines.join('\n');
}
