// Compares two reproduce suite folders figure for figure, wall times, dates and machine aside (the rule of
// test/e2e/figures.ts): results.json, and every run's metrics.jsonl and eval.json.
//   node --import tsx scripts/compare-suites.ts out/a out/b
// Prints what differs, if anything; exits 1 when something does.
import { isDeepStrictEqual } from 'node:util';
import { suiteFigures } from '../test/e2e/figures.ts';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node --import tsx scripts/compare-suites.ts SUITE_DIR SUITE_DIR');
  process.exit(2);
}
const [fa, fb] = [suiteFigures(a), suiteFigures(b)];
const differ = (x: Record<string, unknown>, y: Record<string, unknown>) =>
  [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => !isDeepStrictEqual(x[k], y[k]));
const results = differ(fa.results as Record<string, unknown>, fb.results as Record<string, unknown>);
const runs = differ(fa.runs as Record<string, unknown>, fb.runs as Record<string, unknown>);
const count = Object.keys(fa.runs as object).length;
console.log(
  results.length === 0 && runs.length === 0
    ? `equal: results.json and ${count} runs' metrics and evaluations (wall times aside)`
    : `differ: results.json keys [${results.join(', ')}]; runs [${runs.join(', ')}]`,
);
process.exitCode = results.length === 0 && runs.length === 0 ? 0 : 1;
