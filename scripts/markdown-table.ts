/** Prints rows (the first is the header) as a Markdown table with padded columns: for the tables in docs/. */
export function printMarkdownTable(rows: string[][]): void {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((c, j) => c.padEnd(w[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
  }
}
