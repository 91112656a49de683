// Compares two evaluation reports (advlab eval / advlab merge JSON) key by key, wall times (`seconds`) aside:
//   node scripts/compare-reports.mjs whole.json merged.json
// Prints whether they are equal and, if not, which top-level keys differ; exits 1 when they differ.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const load = (f) => JSON.parse(readFileSync(f, 'utf8'), (k, v) => (k === 'seconds' ? 0 : v));
const [a, b] = [load(process.argv[2]), load(process.argv[3])];
const differ = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !isDeepStrictEqual(a[k], b[k]));
console.log(differ.length === 0 ? 'equal (wall times aside)' : `differ: ${differ.join(', ')}`);
const summary = (r) =>
  `clean ${r.clean_accuracy}; ${r.attacks.map((x) => `${x.name}@${x.eps} ${x.robust_accuracy}`).join(', ')}; worst case ${r.worst_case.robust_accuracy} (${r.worst_case.attacks?.join(' + ')})`;
console.log(summary(a));
process.exitCode = differ.length === 0 ? 0 : 1;
