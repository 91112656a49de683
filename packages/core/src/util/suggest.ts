/**
 * "Did you mean ...?" for mistyped names (model names, attack names, flags).
 */

/**
 * Optimal-string-alignment edit distance (Levenshtein plus adjacent transpositions), so a swapped
 * pair of letters ("wnog") counts as one edit.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  // d[i][j] = distance between a[0, i) and b[0, j); three rolling rows are enough for OSA.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, prev2[j - 2]! + 1);
      }
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/**
 * The known name closest to `name` (case-insensitive), if it is within `maxDistance` edits and the
 * match is not mostly edits (a 2-letter input is not "close" to everything 2 edits away). Ties go
 * to the earlier entry of `known`. Returns undefined when nothing is close.
 */
export function suggest(name: string, known: readonly string[], maxDistance = 2): string | undefined {
  const q = name.trim().toLowerCase();
  if (q.length === 0) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(q, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  if (best === undefined || bestD > maxDistance || bestD >= q.length) return undefined;
  return best;
}
